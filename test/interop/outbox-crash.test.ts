// Nothing queued is lost in a crash (issue 12): the real terminal peer (dist/cli.js --json) sends
// a burst of direct messages to a PeerChat peer that is known but offline, and is killed with
// SIGKILL at a random point of the burst. It is restarted with the same data folder and port,
// the receiver comes back, and then: every message the sender ever reported as queued (its
// `queued` events before the kill, or `queued` in its history after the restart) reaches the
// receiver exactly once, nothing the receiver shows is a duplicate or unknown to the sender, and
// nothing stays queued: the outbox empties and every message ends delivered (or failed, with a
// reason). Over TRIALS kill points, with one sender and one receiver (whose history dedupes
// across its own restarts too). OUTBOX_CRASH_SEED changes the kill points.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Rng } from '../support/rng';
import { CLI_PATH, cleanupAll, cliAvailable, type Cli, type Event, HOST, JsonProc, startCli, until } from './helpers';

const SEED = Number(process.env.OUTBOX_CRASH_SEED ?? Date.now()) >>> 0;
const TRIALS = 10;
/** Messages in each burst; the kill lands after 5–95 % of them were reported queued. */
const BURST = 300;

/** The terminal peer again, on the same port and data folder: the same node. */
async function restart(cli: Cli): Promise<Cli> {
  const args = [CLI_PATH, '--port', String(cli.port), '--host', HOST, '--advertise', HOST, '--name', cli.name, '--data', cli.dataDir, '--json'];
  const proc = new JsonProc(`cli ${cli.name} :${cli.port} (restarted)`, process.execPath, args);
  const ev = await proc.waitFor((e) => e.type === 'listening', 'listening event after the restart', { timeoutMs: 10_000 });
  return { ...cli, proc, address: String(ev.address) };
}

/** Asks a command and returns the events that answer it, up to the one `last` matches. */
async function ask(cli: Cli, command: string, last: (e: Event) => boolean, what: string): Promise<Event[]> {
  const since = cli.proc.mark();
  cli.proc.send(command);
  await cli.proc.waitFor(last, what, { since, timeoutMs: 10_000 });
  return cli.proc.events.slice(since);
}

/** The sender's history (messages of one trial), asked for through /history then a marker /outbox. */
async function historyOf(cli: Cli, prefix: string): Promise<{ id: string; text: string; state?: string; error?: string }[]> {
  const events = await ask(cli, '/history 1000', () => true, 'history');
  // /history prints one event per message; the /outbox after it proves they all arrived.
  const more = await ask(cli, '/outbox', (e) => e.type === 'outbox', 'outbox after history');
  return [...events, ...more]
    .filter((e) => e.type === 'history' && e.message?.direction === 'out' && String(e.message.text).startsWith(prefix))
    .map((e) => e.message as { id: string; text: string; state?: string; error?: string });
}

async function outboxOf(cli: Cli): Promise<Event[]> {
  const events = await ask(cli, '/outbox', (e) => e.type === 'outbox', 'outbox');
  return events.find((e) => e.type === 'outbox')!.messages as Event[];
}

describe('interop: kill -9 while sending to an absent native peer', { skip: !cliAvailable() && `${CLI_PATH} not built (node esbuild.js)` }, () => {
  after(cleanupAll);

  it(`every message reported queued is delivered exactly once, over ${TRIALS} random kill points (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const rng = new Rng(SEED);
    let sender = await startCli('snd');
    let receiver = await startCli('rcv');
    const target = `${HOST}:${receiver.port}`;
    const connected = await ask(sender, `/connect ${target}`, (e) => e.type === 'sent', 'connect result');
    assert.ok(connected.find((e) => e.type === 'sent')?.ok, `the sender connects to the receiver\n${sender.proc.describe()}`);
    const receiverNode = receiver.proc.find((e) => e.type === 'listening')!.nodeId as string;
    const summary: string[] = [];

    for (let trial = 0; trial < TRIALS; trial++) {
      // The receiver goes away: the sender knows it (its node id) but cannot reach it.
      receiver.proc.send('/quit');
      await receiver.proc.waitExit(10_000);

      const prefix = `t${trial}-`;
      const killAfter = rng.int(Math.ceil(BURST * 0.05), Math.floor(BURST * 0.95));
      const since = sender.proc.mark();
      const lines = Array.from({ length: BURST }, (_, i) => `/send ${target} ${prefix}${i}`);
      sender.proc.child.stdin!.write(lines.join('\n') + '\n');
      const isQueued = (e: Event) => e.type === 'queued' || (e.type === 'sent' && e.queued === true);
      await until(`${killAfter} queued reports`, () => new Set(sender.proc.filter(isQueued, since).map((e) => e.id)).size >= killAfter, 30_000, () => sender.proc.describe());
      sender.proc.child.kill('SIGKILL');
      await sender.proc.waitExit(10_000);
      assert.equal(sender.proc.exitSignal, 'SIGKILL');
      // Everything it printed before it died counts, not only what we had read at the kill.
      const reported = new Set<string>(sender.proc.filter(isQueued, since).map((e) => String(e.id)));
      const failedBefore = sender.proc.filter((e) => e.type === 'sent' && e.ok === false, since);
      assert.deepEqual(failedBefore, [], 'no send was refused before the kill');

      sender = await restart(sender);
      const afterRestart = await historyOf(sender, prefix);
      for (const m of afterRestart) if (m.state === 'queued') reported.add(m.id);
      const shownAfterRestart = afterRestart.length;

      receiver = await restart(receiver);
      const rSince = receiver.proc.mark();
      await ask(sender, `/connect ${target}`, (e) => e.type === 'sent', 'reconnect result');

      const got = () => receiver.proc.filter((e) => e.type === 'message' && String(e.text).startsWith(prefix), rSince);
      await until(
        `trial ${trial}: all ${reported.size} reported-queued messages at the receiver, and the sender's outbox empty`,
        async () => {
          const ids = new Set(got().map((e) => String(e.id)));
          return [...reported].every((id) => ids.has(id)) && (await outboxOf(sender)).length === 0;
        },
        20_000,
        () => `missing: ${[...reported].filter((id) => !got().some((e) => e.id === id)).length} of ${reported.size}\n${sender.proc.describe()}\n${receiver.proc.describe()}`,
        100,
      );
      // The sender's history settles once the receipts for everything are in.
      const final = await until(
        `trial ${trial}: every message of the burst delivered or failed in the sender's history`,
        async () => {
          const h = await historyOf(sender, prefix);
          return h.every((m) => m.state === 'delivered' || m.state === 'read' || m.state === 'failed') && h;
        },
        10_000,
        () => sender.proc.describe(),
        100,
      );

      const arrived = got();
      const ids = arrived.map((e) => String(e.id));
      const texts = arrived.map((e) => String(e.text));
      assert.equal(new Set(ids).size, ids.length, `trial ${trial}: no message arrived twice (by id)`);
      assert.equal(new Set(texts).size, texts.length, `trial ${trial}: no text arrived twice`);
      for (const id of reported) assert.ok(ids.includes(id), `trial ${trial}: reported-queued ${id} arrived`);
      const known = new Map(final.map((m) => [m.id, m]));
      for (const e of arrived) {
        assert.ok(known.has(String(e.id)), `trial ${trial}: ${e.id} is a message the sender has`);
        assert.equal(known.get(String(e.id))!.text, e.text, 'with its text');
        assert.equal(e.origin, sender.proc.find((x) => x.type === 'listening')!.nodeId, 'from the sender');
      }
      for (const m of final) if (m.state === 'failed') assert.ok(m.error, `trial ${trial}: failed ${m.id} says why`);
      for (const m of final) if (m.state !== 'failed') assert.ok(ids.includes(m.id), `trial ${trial}: ${m.state} ${m.id} arrived`);
      assert.equal(receiver.proc.find((e) => e.type === 'listening')!.nodeId, receiverNode, 'the receiver came back as the same node');
      summary.push(`trial ${trial}: kill after ${killAfter} queued reports; ${reported.size} reported queued, ${shownAfterRestart} in history after restart, ${arrived.length} delivered once, ${final.filter((m) => m.state === 'failed').length} failed`);
    }
    process.stdout.write(`# seed ${SEED}\n${summary.map((l) => `# ${l}`).join('\n')}\n`);
  });
});
