// Every classmate's program family against the REAL terminal peer (dist/cli.js --json), both ways.
//
// The reference peers in test/interop/families/ (one per family, written from
// /work/shared/guides/classic-protocol.md, "Other implementations of the same assignment") play the
// classmates' programs. For each family this file checks, against the product:
//   1. the family's messages arrive at the CLI as `message` events with the right sender address
//      (socket IP + listening port when the form tells it), name and text, and keywords,
//      acknowledgements and probes make no message;
//   2. PeerChat's messages are displayed by the reference peer in its own form: learned (no
//      /dialect) for the families that speak first, with `/dialect` for a peer that never wrote;
//   3. the peer gets the reply it waits for (`Message received`, `[ACK] ...`, `... connected`,
//      a dial-back `connect_ack`, CONNECTED, Connection Acknowledged, DISCONNECT_ACK) in time;
//   4. a `/send` reports `acked:true` exactly when the peer answered on the socket.
//
// Loopback only (127.0.0.1), ports from the OS, every wait bounded, every process killed after
// each test. A check that fails because of the product is kept, marked `todo: 'product bug: …'`.
//
//   node esbuild.js && node --import tsx --test test/interop/families-cli.test.ts
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI_PATH, cleanupAll, cliAvailable, cliPeers, type Cli, type Event, getFreePort, HOST, isSettleEvent, JsonProc, PYTHON, rawSend, settle, SETTLE_FROM, startCli, until } from './helpers';

const T = { timeout: 20_000 };
const FAMILIES = path.join(__dirname, 'families');

// ------------------------------------------------------------------------------------- helpers

// Product bugs this file found, now fixed; kept as names so a regression is easy to mark again.
const HEADERLESS_TODO: string | undefined = undefined;
const KEPT_BACK_TO_BACK_TODO: string | undefined = undefined;

interface Fam {
  proc: JsonProc;
  port: number;
  /** Its listening address, as the CLI should key it: socket IP + listening port. */
  address: string;
  name: string;
}

/** Starts a family's reference peer on 127.0.0.1 (any free port) and waits for `listening`. */
async function startFamily(file: string, name: string, args: string[] = []): Promise<Fam> {
  const full = path.join(FAMILIES, file);
  const [cmd, pre] = file.endsWith('.mjs') ? [process.execPath, [full]] : [PYTHON, ['-u', full]];
  const proc = new JsonProc(`${file} ${name}`, cmd, [...pre, '--host', HOST, '--port', '0', '--name', name, ...args]);
  const ev = await proc.waitFor((e) => e.type === 'listening', 'listening event', { timeoutMs: 8000 });
  return { proc, port: Number(ev.port), address: `${HOST}:${ev.port}`, name };
}

/** Writes one command to a reference peer and waits for the event that reports it. */
async function famDo(f: Fam, line: string, pred: (e: Event) => boolean, what: string, timeoutMs = 8000): Promise<Event> {
  const since = f.proc.mark();
  f.proc.send(line);
  return f.proc.waitFor(pred, what, { since, timeoutMs });
}

/** The reference peer sends `text` to the CLI; resolves with its `sent` report. */
function famSend(f: Fam, cli: Cli, text: string): Promise<Event> {
  return famDo(f, `send ${cli.address} ${text}`, (e) => e.type === 'sent' && e.to === cli.address, `${f.name}'s sent report for ${JSON.stringify(text)}`);
}

/** `/send HOST:PORT text` on the CLI; resolves with its `sent` event for that peer. */
async function cliSend(cli: Cli, to: string, text: string, timeoutMs = 10_000): Promise<Event> {
  const since = cli.proc.mark();
  cli.proc.send(`/send ${to} ${text}`);
  return cli.proc.waitFor((e) => (e.type === 'sent' && e.to === to) || e.type === 'error', `sent event for /send ${to} ${JSON.stringify(text)}`, { since, timeoutMs });
}

/** `/dialect HOST:PORT NAME`; resolves with the `dialect` event. */
async function cliDialect(cli: Cli, to: string, dialect: string): Promise<Event> {
  const since = cli.proc.mark();
  cli.proc.send(`/dialect ${to} ${dialect}`);
  const ev = await cli.proc.waitFor((e) => e.type === 'dialect' || e.type === 'error', `dialect event for ${to}`, { since });
  assert.equal(ev.type, 'dialect', `/dialect ${to} ${dialect}: ${JSON.stringify(ev)}`);
  assert.equal(ev.dialect, dialect);
  return ev;
}

const isMessage = (e: Event) => e.type === 'message';
const cliMessage = (text: string) => (e: Event) => isMessage(e) && e.text === text;
const famMessage = (text: string) => (e: Event) => e.type === 'message' && e.text === text;

function cliMessages(cli: Cli, since = 0): Event[] {
  return cli.proc.filter(isMessage, since);
}

/**
 * Proves the CLI handled everything sent to it so far (settle: a later marker message arrived),
 * then checks that it printed no message other than `texts`, and no error or warning (keywords,
 * acknowledgements and probes are neither messages nor problems).
 */
async function assertOnlyMessages(cli: Cli, texts: string[], since = 0, allowLog?: RegExp): Promise<void> {
  await settle(cli);
  const got = cliMessages(cli, since)
    .filter((e) => !isSettleEvent(e))
    .map((e) => e.text);
  const junk = got.filter((t) => !texts.includes(t));
  assert.deepEqual(junk, [], `the CLI showed messages it should not have (keywords, acks, probes or framing debris):\n${cli.proc.describe()}`);
  const problems = cli.proc.filter((e) => e.type === 'error' || (e.type === 'log' && (e.level === 'warn' || e.level === 'error') && !(allowLog && allowLog.test(String(e.text)))), since);
  assert.deepEqual(problems, [], `the CLI reported problems:\n${cli.proc.describe()}`);
}

/** The CLI's /peers entry for an address (undefined if not listed). */
async function cliPeer(cli: Cli, address: string): Promise<Record<string, unknown> | undefined> {
  return (await cliPeers(cli)).find((p) => p.address === address) as Record<string, unknown> | undefined;
}

/** Ask /peers until the entry for `address` satisfies pred (bounded). */
async function waitPeer(cli: Cli, address: string, pred: (p: Record<string, unknown>) => boolean, what: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  let last: unknown;
  return until(
    what,
    async () => {
      const peers = await cliPeers(cli);
      last = peers;
      const p = peers.find((x) => x.address === address) as Record<string, unknown> | undefined;
      return p && pred(p) ? p : undefined;
    },
    timeoutMs,
    () => {
      const others = cli.proc.events.filter((e) => e.type !== 'peers').slice(-20).map((e) => '    ' + JSON.stringify(e));
      return `last /peers: ${JSON.stringify(last)}\n  CLI events other than peers:\n${others.join('\n')}\n  stderr: ${cli.proc.stderr.trim() || '(empty)'}`;
    },
    250,
  );
}

/** PeerChat never lists itself as a peer. */
async function assertNotSelfListed(cli: Cli): Promise<void> {
  const peers = await cliPeers(cli);
  const self = peers.filter((p) => p.address === cli.address || p.address.endsWith(`:${cli.port}`));
  assert.deepEqual(self, [], `the CLI lists itself as a peer: ${JSON.stringify(peers)}`);
}

/** The reference peer refused nothing (it displays PeerChat's writes in its own form). */
function assertNotRejected(f: Fam, since = 0): void {
  const bad = f.proc.filter((e) => e.type === 'rejected' || e.type === 'handler_error', since);
  assert.deepEqual(bad, [], `${f.name} refused what PeerChat wrote:\n${f.proc.describe()}`);
}

// --------------------------------------------------------------------------------------- tests

describe('every classmate family ↔ the real terminal peer (dist/cli.js)', () => {
  before(() => {
    assert.ok(cliAvailable(), `${CLI_PATH} not found: build it first (node esbuild.js)`);
  });
  afterEach(cleanupAll);
  after(cleanupAll);

  // ------------------------------------------------------------------ ack-waiting sender
  describe('ack-waiting sender (ackwait.py)', () => {
    it('its message is shown at once with its address and name, and it reads [ACK] before it gives up', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('ackwait.py', 'ackw');
      const sent = await famSend(f, cli, 'hello from ackwait');
      assert.equal(sent.ok, true, JSON.stringify(sent));
      assert.equal(sent.acked, true, `no reply on the socket within 5 s: ${JSON.stringify(sent)}`);
      assert.equal(sent.reply, `[ACK] Message received from ${cli.port}`);
      assert.ok(sent.waited_ms < 2000, `the CLI answered only after ${sent.waited_ms} ms: it must handle the message as soon as it arrived`);
      const m = await cli.proc.waitFor(cliMessage('hello from ackwait'), 'the message');
      assert.deepEqual([m.from, m.name, m.conversation], [f.address, 'ackw', f.address]);
      // PING: a probe, not a message (and it is not left hanging either)
      const ping = await famDo(f, `ping ${cli.address}`, (e) => e.type === 'sent' && e.text === 'PING', 'its PING sent');
      assert.equal(ping.ok, true);
      assert.ok(ping.waited_ms < 2000, `PING held ${ping.waited_ms} ms`);
      await assertOnlyMessages(cli, ['hello from ackwait']);
      const p = await cliPeer(cli, f.address);
      assert.deepEqual([p?.name, p?.dialect], ['ackw', 'standard'], JSON.stringify(p));
    });

    it('PeerChat → it: shown in the standard form, and /send reports acked:true from its [ACK]', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('ackwait.py', 'ackw');
      await famSend(f, cli, 'first');
      await cli.proc.waitFor(cliMessage('first'), 'its first message');
      const s = await cliSend(cli, f.address, 'hi ackwait, from PeerChat');
      assert.deepEqual([s.type, s.ok, s.acked], ['sent', true, true], JSON.stringify(s));
      const m = await f.proc.waitFor(famMessage('hi ackwait, from PeerChat'), 'our message');
      assert.deepEqual([m.from, m.name, m.kind], [cli.address, 'pc', 'chat']);
      await f.proc.waitFor((e) => e.type === 'answered' && /^\[ACK\] Message received from \d+$/.test(e.text), 'its [ACK]');
    });
  });

  // ------------------------------------------------------------------ line mode
  describe('line mode, persistent (linemode.py)', () => {
    for (const opening of ['two-lines', 'one-line'] as const) {
      it(`its lines (opening ${opening}) are each answered "Message received" and shown; the opening lines are no messages`, T, async () => {
        const cli = await startCli('pc');
        const f = await startFamily('linemode.py', 'lm', ['--opening', opening, '--ack-timeout', '4']);
        const s1 = await famSend(f, cli, 'line one');
        const s2 = await famSend(f, cli, 'line two');
        const opened = f.proc.find((e) => e.type === 'opened');
        assert.equal(opened?.ok, true, `opening not acknowledged: ${JSON.stringify(opened)}`);
        for (const s of [s1, s2]) {
          assert.equal(s.hung, false, `it blocked waiting for "Message received": ${JSON.stringify(s)}`);
          assert.equal(s.acked, true, JSON.stringify(s));
          assert.equal(s.reply, 'Message received\n');
        }
        for (const text of ['line one', 'line two']) {
          const m = await cli.proc.waitFor(cliMessage(text), text);
          assert.deepEqual([m.from, m.name, m.conversation], [f.address, 'lm', f.address]);
        }
        await assertOnlyMessages(cli, ['line one', 'line two']);
        const p = await cliPeer(cli, f.address);
        assert.equal(p?.dialect, 'lineMode', JSON.stringify(p));
      });
    }

    it('a line it cannot read is answered "Message received" all the same (the sender would block for ever)', T, async () => {
      const cli = await startCli('pc');
      const port = await getFreePort(); // a listening port it claims (never the CLI's own)
      const acks = await new Promise<string[]>((resolve, reject) => {
        const got: string[] = [];
        let buf = '';
        const lines = [`${port}\n`, 'CONNECT\n', 'no header on this line\n', `${HOST}:${port} raw fine line\n`];
        const s = net.connect(cli.port, HOST, () => s.write(lines.shift()!));
        const timer = setTimeout(() => {
          s.destroy();
          resolve(got);
        }, 6000);
        s.on('data', (d) => {
          buf += d.toString('utf8');
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            got.push(buf.slice(0, i));
            buf = buf.slice(i + 1);
            const next = lines.shift();
            if (next) s.write(next);
            else {
              clearTimeout(timer);
              s.end();
              resolve(got);
            }
          }
        });
        s.on('error', reject);
      });
      assert.deepEqual(acks, ['Message received', 'Message received', 'Message received', 'Message received'], `answers to the four lines:\n${cli.proc.describe()}`);
      const m = await cli.proc.waitFor(cliMessage('fine line'), 'the readable line');
      assert.deepEqual([m.from, m.name], [`${HOST}:${port}`, 'raw']);
      await assertOnlyMessages(cli, ['fine line'], 0, /dropped message from 127\.0\.0\.1:\d+: line mode/);
    });

    it('PeerChat → it, learned (no /dialect): opening and line each acknowledged, shown, acked:true', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('linemode.py', 'lm', ['--ack-timeout', '4']);
      await famSend(f, cli, 'hello');
      await cli.proc.waitFor(cliMessage('hello'), 'its line');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'hi line mode');
      const m = await f.proc.waitFor(famMessage('hi line mode'), 'our line', { since });
      assert.deepEqual([m.from, m.name, m.listen_port], [cli.address, 'pc', cli.port]);
      assertNotRejected(f, since);
      assert.deepEqual([s.type, s.ok, s.acked], ['sent', true, true], JSON.stringify(s));
      // a second message works the same (new connection, opened again)
      const s2 = await cliSend(cli, f.address, 'and again');
      await f.proc.waitFor(famMessage('and again'), 'our second line', { since });
      assert.deepEqual([s2.ok, s2.acked], [true, true], JSON.stringify(s2));
      // a long text: several ≤1023-byte lines on one connection, each acknowledged, none lost
      const long = Array.from({ length: 200 }, (_, i) => `lïne${i}`).join(' ');
      const sinceLong = f.proc.mark();
      const s3 = await cliSend(cli, f.address, long);
      let got = '';
      await f.proc.waitFor(
        (e) => {
          if (e.type === 'message' && e.from === cli.address) got += e.text;
          return got.length >= long.length;
        },
        'every line of the long text',
        { since: sinceLong },
      );
      const lines = f.proc.filter((e) => e.type === 'message', sinceLong);
      assert.ok(lines.length >= 2, `${lines.length} lines`);
      assert.equal(lines.map((l) => l.text).join(''), long);
      assert.deepEqual([s3.ok, s3.acked], [true, true], JSON.stringify(s3));
      assertNotRejected(f, since);
    });
  });

  // ------------------------------------------------------------------ Node, chunk = message
  describe('Node, chunk = message (nodechunk.mjs)', () => {
    it('its message is shown; its PING is not', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('nodechunk.mjs', 'nd');
      assert.equal((await famSend(f, cli, 'hello from node')).ok, true);
      const m = await cli.proc.waitFor(cliMessage('hello from node'), 'its message');
      assert.deepEqual([m.from, m.name], [f.address, 'nd']);
      await famDo(f, `ping ${cli.address}`, (e) => e.type === 'sent' && e.text === 'PING', 'PING sent');
      await assertOnlyMessages(cli, ['hello from node']);
    });

    it('PeerChat → it: one write per message (one chunk each, ≤1023 bytes), lowercase exit on /disconnect; acked:false', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('nodechunk.mjs', 'nd');
      await famSend(f, cli, 'hi');
      await cli.proc.waitFor(cliMessage('hi'), 'its message');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'two words');
      assert.deepEqual([s.ok, s.acked], [true, false], `it never answers: ${JSON.stringify(s)}`);
      const m = await f.proc.waitFor(famMessage('two words'), 'our message', { since });
      assert.deepEqual([m.from, m.name, m.chunk], [cli.address, 'pc', 1]);
      // a long text: several writes, each its own connection and chunk
      const long = Array.from({ length: 150 }, (_, i) => `wörd${i}`).join(' ');
      const sinceLong = f.proc.mark();
      await cliSend(cli, f.address, long);
      let got = '';
      await f.proc.waitFor(
        (e) => {
          if (e.type === 'message' && e.from === cli.address) got += e.text;
          return got.length >= long.length;
        },
        'every piece of the long text',
        { since: sinceLong },
      );
      const pieces = f.proc.filter((e) => e.type === 'message', sinceLong);
      assert.ok(pieces.length >= 2, `expected several pieces, got ${pieces.length}`);
      for (const p of pieces) {
        assert.equal(p.chunk, 1, 'one write per connection');
        assert.ok(Buffer.byteLength(`${p.from} ${p.name} ${p.text}`) <= 1023, `a write of ${Buffer.byteLength(`${p.from} ${p.name} ${p.text}`)} bytes`);
      }
      assert.equal(pieces.map((p) => p.text).join(''), long);
      // exit, lowercase (it matches case-sensitively)
      const sinceExit = f.proc.mark();
      cli.proc.send(`/disconnect ${f.address}`);
      const exit = await f.proc.waitFor((e) => e.type === 'message' && e.kind === 'exit', 'our exit', { since: sinceExit });
      assert.deepEqual([exit.text, exit.from], ['exit', cli.address]);
    });
  });

  // ------------------------------------------------------------------ connect keeps the socket
  describe('`connect` keeps the socket (connectkeep.py)', () => {
    it('its connect gets "IP:PORT NAME connected" on the same socket; later writes on it are split by the gaps', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('connectkeep.py', 'ck');
      const c = await famDo(f, `connect ${cli.address}`, (e) => e.type === 'connect_result', 'connect result');
      assert.equal(c.ok, true, `no "connected" within 5 s: ${JSON.stringify(c)}`);
      assert.equal(c.reply, `${cli.address} pc connected`);
      await waitPeer(cli, f.address, (p) => p.state === 'connected', 'the connect makes it connected');
      await famSend(f, cli, 'kept one');
      // the CLI shows it once the quiet gap after it has passed: the next write is a gap later
      await cli.proc.waitFor(cliMessage('kept one'), 'kept one');
      await famSend(f, cli, 'kept two');
      assert.equal(f.proc.filter((e) => e.type === 'sent' && e.via === 'kept').length, 2);
      for (const text of ['kept one', 'kept two']) {
        const m = await cli.proc.waitFor(cliMessage(text), text);
        assert.deepEqual([m.from, m.name], [f.address, 'ck']);
      }
      await assertOnlyMessages(cli, ['kept one', 'kept two']);
      // answered on the socket: no dial-back connect_ack (nor anything else) on top. A later
      // message from the CLI arriving proves a dial-back would have arrived before it.
      await cliSend(cli, f.address, 'marker after connect');
      await f.proc.waitFor(famMessage('marker after connect'), 'the marker from the CLI');
      assert.deepEqual(
        f.proc.filter((e) => e.type === 'message').map((e) => e.text),
        ['marker after connect'],
        'answered on the socket: no dial-back connect_ack (nor anything else) on top',
      );
    });

    it('two writes on the kept socket back to back (faster than the quiet gap) are still two messages', { ...T, ...(KEPT_BACK_TO_BACK_TODO ? { todo: KEPT_BACK_TO_BACK_TODO } : {}) }, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('connectkeep.py', 'ck');
      const c = await famDo(f, `connect ${cli.address}`, (e) => e.type === 'connect_result', 'connect result');
      assert.equal(c.ok, true, JSON.stringify(c));
      const since = f.proc.mark();
      f.proc.send(`send ${cli.address} fast one`);
      f.proc.send(`send ${cli.address} fast two`);
      await f.proc.waitFor((e) => e.type === 'sent' && e.text === 'fast two', 'both written', { since });
      await cli.proc.waitFor((e) => isMessage(e) && String(e.text).includes('fast two'), 'the second write');
      await assertOnlyMessages(cli, ['fast one', 'fast two']);
    });

    it('PeerChat → it: shown in the standard form (acked:false, it never answers chat)', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('connectkeep.py', 'ck');
      await famDo(f, `connect ${cli.address}`, (e) => e.type === 'connect_result', 'connect result');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'hi keeper');
      const m = await f.proc.waitFor(famMessage('hi keeper'), 'our message', { since });
      assert.deepEqual([m.from, m.name, m.kind], [cli.address, 'pc', 'chat']);
      assert.deepEqual([s.ok, s.acked], [true, false], JSON.stringify(s));
      // a `connect` typed by the user is answered `connected` on the socket: acked
      const sc = await cliSend(cli, f.address, 'connect');
      await f.proc.waitFor((e) => e.type === 'answered' && / connected$/.test(e.text), 'its connected answer', { since });
      assert.deepEqual([sc.ok, sc.acked], [true, true], JSON.stringify(sc));
    });
  });

  // ------------------------------------------------------------------ connect dials back
  describe('`connect` dials back (connectdial.py)', () => {
    it('its one-shot connect gets a dial-back connect_ack to its header address; no message is shown', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('connectdial.py', 'cd');
      await famDo(f, `connect ${cli.address}`, (e) => e.type === 'sent' && e.text === 'connect', 'connect sent');
      const active = await f.proc.waitFor((e) => e.type === 'active', 'active (our dial-back connect_ack)', { timeoutMs: 6000 });
      assert.deepEqual([active.address, active.name], [cli.address, 'pc']);
      await waitPeer(cli, f.address, (p) => p.state === 'connected', 'its connect makes it connected');
      await famSend(f, cli, 'hello after connect');
      const m = await cli.proc.waitFor(cliMessage('hello after connect'), 'its chat');
      assert.deepEqual([m.from, m.name], [f.address, 'cd']);
      await assertOnlyMessages(cli, ['hello after connect']);
    });

    it('PeerChat → it: chat shown; its own dial-back connect_ack (to a "connect" we send) is no message', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('connectdial.py', 'cd');
      await famSend(f, cli, 'hi');
      await cli.proc.waitFor(cliMessage('hi'), 'its message');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'hi dialer');
      assert.equal(s.ok, true, JSON.stringify(s));
      const m = await f.proc.waitFor(famMessage('hi dialer'), 'our message', { since });
      assert.deepEqual([m.from, m.name], [cli.address, 'pc']);
      const cliSince = cli.proc.mark();
      await cliSend(cli, f.address, 'connect');
      const back = await f.proc.waitFor((e) => e.type === 'dialed_back', 'its dial-back', { since });
      assert.deepEqual([back.to, back.ok], [cli.address, true], JSON.stringify(back));
      await assertOnlyMessages(cli, [], cliSince);
    });
  });

  // ------------------------------------------------------------------ bracket forms
  for (const [form, dialect] of [
    ['at', 'bracketAt'],
    ['dated', 'bracketDated'],
    ['plain', 'bracket'],
  ] as const) {
    describe(`bracket form "${form}" (bracket.py --form ${form})`, () => {
      it('its message is shown with the socket IP and its port, its name and the bare text; its PING is not', T, async () => {
        const cli = await startCli('pc');
        const f = await startFamily('bracket.py', 'br', ['--form', form]);
        const text = `hello ${form} form`;
        assert.equal((await famSend(f, cli, text)).ok, true);
        const m = await cli.proc.waitFor(cliMessage(text), 'its message');
        assert.deepEqual([m.from, m.name, m.conversation], [f.address, 'br', f.address]);
        await famDo(f, `ping ${cli.address}`, (e) => e.type === 'sent' && e.text === 'PING', 'its PING');
        await assertOnlyMessages(cli, [text]);
        const p = await cliPeer(cli, f.address);
        assert.equal(p?.dialect, dialect, JSON.stringify(p));
      });

      it('PeerChat → it, learned (no /dialect): shown in its own form (acked:false)', T, async () => {
        const cli = await startCli('pc');
        const f = await startFamily('bracket.py', 'br', ['--form', form]);
        await famSend(f, cli, 'hi');
        await cli.proc.waitFor(cliMessage('hi'), 'its message');
        const since = f.proc.mark();
        const s = await cliSend(cli, f.address, `answer in ${form}`);
        const m = await f.proc.waitFor((e) => e.type === 'message' || e.type === 'rejected', 'our message or its refusal', { since });
        assertNotRejected(f, since);
        assert.deepEqual([m.text, m.from, m.name], [`answer in ${form}`, cli.address, 'pc']);
        if (form === 'dated') assert.match(String(m.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'YYYY-mm-dd HH:MM:SS');
        assert.deepEqual([s.ok, s.acked], [true, false], JSON.stringify(s));
      });

      it('with the RECIPIENT address in its brackets: shown (name, text), never attributed to PeerChat itself', T, async () => {
        const cli = await startCli('pc');
        const f = await startFamily('bracket.py', 'rb', ['--form', form, '--recipient-header']);
        const text = `to you, ${form}`;
        await famSend(f, cli, text);
        const m = await cli.proc.waitFor(cliMessage(text), 'its message');
        assert.equal(m.name, 'rb');
        assert.notEqual(m.from, cli.address, 'its header names us: not the sender');
        // Its listening port is unknown: it is shown under its connection's address (socket IP and
        // the connection's own port), or under its listening address once it told it.
        const fromConnection = typeof m.from === 'string' && /^127\.0\.0\.1:\d+$/.test(m.from) && !(m.from as string).endsWith(`:${cli.port}`);
        assert.ok(m.from === f.address || fromConnection, `from ${m.from}: the socket IP and a port it did not tell cannot be anything else`);
        await famDo(f, `ping ${cli.address}`, (e) => e.type === 'sent' && e.text === 'PING', 'its PING (to our own address)');
        await assertOnlyMessages(cli, [text]);
        await assertNotSelfListed(cli);
      });
    });
  }

  // ------------------------------------------------------------------ pipe
  describe('pipe form (pipe.py)', () => {
    it('its message is shown with the socket IP and LISTENING_PORT, its TEAM_NAME and the text (pipes kept)', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('pipe.py', 'pp');
      await famSend(f, cli, 'hello | pipe');
      const m = await cli.proc.waitFor(cliMessage('hello | pipe'), 'its message');
      assert.deepEqual([m.from, m.name], [f.address, 'pp']);
      await assertOnlyMessages(cli, ['hello | pipe']);
      assert.equal((await cliPeer(cli, f.address))?.dialect, 'pipe');
    });

    it('PeerChat → it, learned: shown in the pipe form with our port and name', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('pipe.py', 'pp');
      await famSend(f, cli, 'hi');
      await cli.proc.waitFor(cliMessage('hi'), 'its message');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'back | in pipe');
      const m = await f.proc.waitFor((e) => e.type === 'message' || e.type === 'rejected', 'our message', { since });
      assertNotRejected(f, since);
      assert.deepEqual([m.text, m.listening_port, m.name], ['back | in pipe', cli.port, 'pc']);
      assert.deepEqual([s.ok, s.acked], [true, false], JSON.stringify(s));
    });
  });

  // ------------------------------------------------------------------ JSON
  describe('JSON (jsonpeer.py)', () => {
    it('its message (our address in content, port in sender_port) is shown as from it; we are never listed', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('jsonpeer.py', 'js');
      await famSend(f, cli, 'hola jsón');
      const m = await cli.proc.waitFor(cliMessage('hola jsón'), 'its message');
      assert.deepEqual([m.from, m.name], [f.address, 'js']);
      await assertOnlyMessages(cli, ['hola jsón']);
      assert.equal((await cliPeer(cli, f.address))?.dialect, 'json');
      await assertNotSelfListed(cli);
    });

    it('PeerChat → it, learned: shown (JSON, our name and port)', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('jsonpeer.py', 'js');
      await famSend(f, cli, 'hi');
      await cli.proc.waitFor(cliMessage('hi'), 'its message');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'réponse "quoted"');
      const m = await f.proc.waitFor((e) => e.type === 'message' || e.type === 'rejected', 'our message', { since });
      assertNotRejected(f, since);
      assert.deepEqual([m.text, m.name, m.sender_port], ['réponse "quoted"', 'pc', cli.port]);
      assert.deepEqual([s.ok, s.acked], [true, false], JSON.stringify(s));
    });
  });

  // ------------------------------------------------------------------ headerless
  describe('headerless (headerless.py)', () => {
    it('CONNECT:PORT is no message and makes it known at socket IP:PORT, dialect headerless', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('headerless.py', 'hl', ['--announce']);
      await famSend(f, cli, 'first words');
      const an = f.proc.find((e) => e.type === 'announced');
      assert.equal(an?.ok, true);
      const p = await waitPeer(cli, f.address, () => true, 'the peer its CONNECT:PORT announced');
      assert.equal(p.dialect, 'headerless', JSON.stringify(p));
      await cli.proc.waitFor(cliMessage('first words'), 'its message');
      await assertOnlyMessages(cli, ['first words']);
    });

    it('"Team : msg" on a kept socket: each write shown (text, team name), nothing written back on the socket', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('headerless.py', 'hl', ['--announce', '--keep']);
      await famSend(f, cli, 'hello headerless');
      await cli.proc.waitFor(cliMessage('hello headerless'), 'hello headerless'); // shown a quiet gap after it: the next write is apart
      await famSend(f, cli, 'again');
      assert.equal(f.proc.filter((e) => e.type === 'sent' && e.via === 'kept').length, 2);
      for (const text of ['hello headerless', 'again']) {
        const m = await cli.proc.waitFor(cliMessage(text), text);
        assert.equal(m.name, 'hl', JSON.stringify(m));
        assert.notEqual(m.from, cli.address);
      }
      await assertOnlyMessages(cli, ['hello headerless', 'again']);
      assert.deepEqual(f.proc.filter((e) => e.type === 'kept_data'), [], 'it shows whatever comes back on its kept socket');
    });

    for (const keep of [false, true]) {
      it(`"Team : msg" after CONNECT:PORT${keep ? ', on a kept socket' : ', one-shot'}: shown as from socket IP:PORT, in its conversation`, { ...T, ...(HEADERLESS_TODO ? { todo: HEADERLESS_TODO } : {}) }, async () => {
        const cli = await startCli('pc');
        const f = await startFamily('headerless.py', 'hl', ['--announce', ...(keep ? ['--keep'] : [])]);
        await famSend(f, cli, 'hello headerless');
        await cli.proc.waitFor(cliMessage('hello headerless'), 'hello headerless'); // on a kept socket: the next write a quiet gap later
        await famSend(f, cli, 'again');
        for (const text of ['hello headerless', 'again']) {
          const m = await cli.proc.waitFor(cliMessage(text), text);
          assert.equal(m.from, f.address, `its CONNECT:PORT told its listening port: ${JSON.stringify(m)}`);
          assert.equal(m.conversation, f.address, `it belongs in its conversation: ${JSON.stringify(m)}`);
        }
        const p = await cliPeer(cli, f.address);
        assert.equal(p?.name, 'hl', `the peer keeps its team name: ${JSON.stringify(p)}`);
      });
    }

    it('bare text, one-shot, no port ever told: shown with its text', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('headerless.py', 'hb', ['--form', 'bare']);
      await famSend(f, cli, 'just some words');
      const m = await cli.proc.waitFor(cliMessage('just some words'), 'its message');
      assert.notEqual(m.from, cli.address);
      await assertOnlyMessages(cli, ['just some words'], 0, /no listening port/);
    });

    it('PeerChat → it, learned from CONNECT:PORT (no /dialect): shown as "NAME : text"', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('headerless.py', 'hl', ['--announce']);
      await famSend(f, cli, 'hi');
      await cli.proc.waitFor(cliMessage('hi'), 'its message');
      const since = f.proc.mark();
      const s = await cliSend(cli, f.address, 'hello team');
      const m = await f.proc.waitFor((e) => e.type === 'message', 'our message', { since });
      assert.deepEqual([m.text, m.name], ['hello team', 'pc'], JSON.stringify(m));
      assert.deepEqual([s.ok, s.acked], [true, false], JSON.stringify(s));
    });
  });

  // ------------------------------------------------------------------ /dialect for peers that never wrote
  describe('/dialect: a peer that never wrote displays PeerChat in its own form', () => {
    const cases: Array<{ file: string; args: string[]; dialect: string; check: (m: Event, cli: Cli) => void; acked: boolean }> = [
      { file: 'bracket.py', args: ['--form', 'at'], dialect: 'bracketAt', check: (m, cli) => assert.deepEqual([m.from, m.name], [cli.address, 'pc']), acked: false },
      { file: 'bracket.py', args: ['--form', 'dated'], dialect: 'bracketDated', check: (m, cli) => assert.deepEqual([m.from, m.name], [cli.address, 'pc']), acked: false },
      { file: 'bracket.py', args: ['--form', 'plain'], dialect: 'bracket', check: (m, cli) => assert.deepEqual([m.from, m.name], [cli.address, 'pc']), acked: false },
      { file: 'pipe.py', args: [], dialect: 'pipe', check: (m, cli) => assert.deepEqual([m.listening_port, m.name], [cli.port, 'pc']), acked: false },
      { file: 'jsonpeer.py', args: [], dialect: 'json', check: (m, cli) => assert.deepEqual([m.sender_port, m.name], [cli.port, 'pc']), acked: false },
      { file: 'headerless.py', args: [], dialect: 'headerless', check: (m) => assert.equal(m.name, 'pc'), acked: false },
      { file: 'linemode.py', args: ['--ack-timeout', '4'], dialect: 'lineMode', check: (m, cli) => assert.deepEqual([m.from, m.name, m.listen_port], [cli.address, 'pc', cli.port]), acked: true },
    ];
    for (const c of cases) {
      it(`${c.dialect} (${c.file} ${c.args.join(' ')})`, T, async () => {
        const cli = await startCli('pc');
        const f = await startFamily(c.file, 'quiet', c.args);
        await cliDialect(cli, f.address, c.dialect);
        const text = `hello ${c.dialect} — ünï`;
        const s = await cliSend(cli, f.address, text);
        const m = await f.proc.waitFor((e) => e.type === 'message' || e.type === 'rejected', 'our message');
        assertNotRejected(f);
        assert.equal(m.text, text);
        c.check(m, cli);
        assert.deepEqual([s.type, s.ok, s.acked], ['sent', true, c.acked], JSON.stringify(s));
        const p = await cliPeer(cli, f.address);
        assert.equal(p?.dialect, c.dialect, JSON.stringify(p));
      });
    }
  });

  // ------------------------------------------------------------------ keywords in every form
  describe('keywords in each family\'s own form: greeting connects, PING is silent, exit leaves; none is a message', () => {
    const cases: Array<{ label: string; file: string; args: string[]; todo?: string }> = [
      { label: 'standard, ack-waiting', file: 'ackwait.py', args: [] },
      { label: 'line mode', file: 'linemode.py', args: ['--ack-timeout', '4'] },
      { label: 'Node chunk', file: 'nodechunk.mjs', args: [] },
      { label: 'bracket @/end', file: 'bracket.py', args: ['--form', 'at'] },
      { label: 'bracket dated', file: 'bracket.py', args: ['--form', 'dated'] },
      { label: 'bracket plain', file: 'bracket.py', args: ['--form', 'plain'] },
      { label: 'pipe', file: 'pipe.py', args: [] },
      { label: 'JSON', file: 'jsonpeer.py', args: [] },
      { label: 'headerless after CONNECT:PORT', file: 'headerless.py', args: ['--announce'], todo: HEADERLESS_TODO },
    ];
    for (const c of cases) {
      it(c.label, { ...T, ...(c.todo ? { todo: c.todo } : {}) }, async () => {
        const cli = await startCli('pc');
        const f = await startFamily(c.file, 'kw', c.args);
        await famSend(f, cli, 'Hello, I am connecting!');
        await waitPeer(cli, f.address, (p) => p.state === 'connected', 'its greeting makes it connected');
        await famSend(f, cli, 'PING');
        await settle(cli); // the PING is handled (it shows nothing) before the exit is sent
        await famSend(f, cli, 'exit');
        await waitPeer(cli, f.address, (p) => p.state === 'gone', 'its exit makes it gone');
        assert.ok(cli.proc.find((e) => e.type === 'system' && /left/.test(String(e.text))), `no "left" line:\n${cli.proc.describe()}`);
        await assertOnlyMessages(cli, [], 0, /no listening port/);
      });
    }
  });

  // ------------------------------------------------------------------ broadcast to every form at once
  describe('/broadcast to one peer of each family', () => {
    it('each shows it in its own form; acked:true only from those that answered on the socket', { timeout: 30_000 }, async () => {
      const cli = await startCli('pc');
      const specs: Array<[string, string[], boolean]> = [
        ['ackwait.py', [], true],
        ['linemode.py', ['--ack-timeout', '4'], true],
        ['nodechunk.mjs', [], false],
        ['connectkeep.py', [], false],
        ['connectdial.py', [], false],
        ['bracket.py', ['--form', 'at'], false],
        ['bracket.py', ['--form', 'dated'], false],
        ['bracket.py', ['--form', 'plain'], false],
        ['pipe.py', [], false],
        ['jsonpeer.py', [], false],
        ['headerless.py', ['--announce'], false],
        ['handshake.py', [], false],
      ];
      const fams = await Promise.all(specs.map(([file, args], i) => startFamily(file, `p${i}`, args)));
      for (const f of fams) {
        await famSend(f, cli, `hi from ${f.name}`);
        await cli.proc.waitFor(cliMessage(`hi from ${f.name}`), `${f.name}'s message`);
      }
      const since = cli.proc.mark();
      const marks = fams.map((f) => f.proc.mark());
      cli.proc.send('/broadcast to every family');
      await cli.proc.waitFor(() => cli.proc.filter((e) => e.type === 'sent', since).length >= fams.length, 'a sent event per peer', { since, timeoutMs: 15_000 });
      const sent = cli.proc.filter((e) => e.type === 'sent', since);
      for (const [i, f] of fams.entries()) {
        const m = await f.proc.waitFor((e) => e.type === 'message' || e.type === 'rejected', `${specs[i][0]} ${specs[i][1].join(' ')} shows the broadcast`, { since: marks[i] });
        assertNotRejected(f, marks[i]);
        assert.equal(m.text, 'to every family', `${specs[i][0]}: ${JSON.stringify(m)}`);
        const r = sent.find((e) => e.to === f.address);
        assert.deepEqual([r?.ok, r?.acked], [true, specs[i][2]], `${specs[i][0]} ${specs[i][1].join(' ')}: ${JSON.stringify(r)}`);
      }
      // /prune: every one gets PING in its own form, answers the connection, and stays
      const marks2 = fams.map((f) => f.proc.mark());
      const pruneSince = cli.proc.mark();
      cli.proc.send('/prune');
      const pruned = await cli.proc.waitFor((e) => e.type === 'pruned', 'pruned', { since: pruneSince, timeoutMs: 15_000 });
      assert.deepEqual(pruned.removed, [], JSON.stringify(pruned));
      for (const [i, f] of fams.entries()) {
        await f.proc.waitFor((e) => e.type === 'message' && e.kind === 'ping', `${specs[i][0]} ${specs[i][1].join(' ')} reads our PING`, { since: marks2[i] });
        assertNotRejected(f, marks2[i]);
      }
    });
  });

  // ------------------------------------------------------------------ /quit
  describe('/quit says exit to each connected peer in its own form', () => {
    it('line mode, Node chunk, bracket @/end, dated, plain, pipe, JSON: each reads a lowercase exit, nothing refused', { timeout: 25_000 }, async () => {
      const cli = await startCli('pc');
      const specs: Array<[string, string[]]> = [
        ['linemode.py', ['--ack-timeout', '4']],
        ['nodechunk.mjs', []],
        ['bracket.py', ['--form', 'at']],
        ['bracket.py', ['--form', 'dated']],
        ['bracket.py', ['--form', 'plain']],
        ['pipe.py', []],
        ['jsonpeer.py', []],
      ];
      const fams = await Promise.all(specs.map(([file, args], i) => startFamily(file, `q${i}`, args)));
      for (const f of fams) {
        await famSend(f, cli, 'Hello, I am connecting!');
        await waitPeer(cli, f.address, (p) => p.state === 'connected', `${f.name} connected by its greeting`);
      }
      const marks = fams.map((f) => f.proc.mark());
      cli.proc.send('/quit');
      await cli.proc.waitFor((e) => e.type === 'bye', 'bye', { timeoutMs: 10_000 });
      await cli.proc.waitExit(5000);
      for (const [i, f] of fams.entries()) {
        const m = await f.proc.waitFor((e) => e.type === 'message' || e.type === 'rejected', `${specs[i][0]} ${specs[i][1].join(' ')} reads our exit`, { since: marks[i] });
        assertNotRejected(f, marks[i]);
        assert.deepEqual([m.kind, m.text], ['exit', 'exit'], `${specs[i][0]} ${specs[i][1].join(' ')}: ${JSON.stringify(m)}`);
      }
    });
  });

  // ------------------------------------------------------------------ handshakes
  describe('request/answer handshakes (handshake.py)', () => {
    it('CONNECT_REQUEST → CONNECTED, Connection Request → Connection Acknowledged, DISCONNECT → DISCONNECT_ACK; none is a message', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('handshake.py', 'hs', ['--timeout', '3']);
      for (const [cmd, expected] of [
        ['request', 'CONNECTED'],
        ['connection', 'Connection Acknowledged'],
        ['disconnect', 'DISCONNECT_ACK'],
      ]) {
        const h = await famDo(f, `${cmd} ${cli.address}`, (e) => e.type === 'handshake', `${cmd} handshake`);
        assert.equal(h.reply, expected, JSON.stringify(h));
        assert.equal(h.ok, true);
        if (cmd === 'request') await waitPeer(cli, f.address, (p) => p.state === 'connected', 'its CONNECT_REQUEST makes it connected');
      }
      await famSend(f, cli, 'chat after handshakes');
      const m = await cli.proc.waitFor(cliMessage('chat after handshakes'), 'its chat');
      assert.deepEqual([m.from, m.name], [f.address, 'hs']);
      await assertOnlyMessages(cli, ['chat after handshakes']);
    });

    it('PeerChat → it: chat shown; with /dialect handshake our CONNECT_REQUEST, Connection Request and DISCONNECT are answered (acked:true)', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('handshake.py', 'hs');
      await famSend(f, cli, 'hi');
      await cli.proc.waitFor(cliMessage('hi'), 'its message');
      const s = await cliSend(cli, f.address, 'plain chat');
      const m = await f.proc.waitFor(famMessage('plain chat'), 'our chat');
      assert.deepEqual([m.from, m.name], [cli.address, 'pc']);
      assert.deepEqual([s.ok, s.acked], [true, false], JSON.stringify(s));
      await cliDialect(cli, f.address, 'handshake');
      for (const [text, kind, answer] of [
        ['CONNECT_REQUEST', 'connect_request', 'CONNECTED'],
        ['Connection Request', 'connection_request', 'Connection Acknowledged'],
        ['DISCONNECT', 'disconnect', 'DISCONNECT_ACK'],
      ]) {
        const since = f.proc.mark();
        const r = await cliSend(cli, f.address, text);
        const got = await f.proc.waitFor((e) => e.type === 'message' && e.kind === kind, `our ${text}`, { since });
        if (kind === 'connect_request') assert.equal(got.from, cli.address);
        await f.proc.waitFor((e) => e.type === 'answered' && e.text === answer, `its ${answer}`, { since });
        assert.deepEqual([r.ok, r.acked], [true, true], `${text}: ${JSON.stringify(r)}`);
      }
    });
  });

  // ------------------------------------------------------------------ answers arriving on their own
  describe('answers that arrive on a connection of their own are no messages', () => {
    it('CONNECTED, Connection Acknowledged, DISCONNECT_ACK, Message received, [ACK] …, connected, connect_ack', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('handshake.py', 'hs'); // only for a real listening port in the headers
      const answers = [
        'CONNECTED',
        'Connection Acknowledged',
        'DISCONNECT_ACK',
        'Message received\n',
        `[ACK] Message received from ${f.port}`,
        `${f.address} hs connected`,
        `${f.address} hs connect_ack`,
      ];
      for (const a of answers) {
        const back = await rawSend(cli.port, a, 2000);
        assert.equal(back.toString('utf8'), '', `the CLI answered an answer (${JSON.stringify(a)}): ${JSON.stringify(back.toString('utf8'))}`);
      }
      await assertOnlyMessages(cli, []);
    });
  });

  // ------------------------------------------------------------------ liveness by bare connect
  describe('liveness by bare connect', () => {
    it('connect-and-close without a byte (handshake.py probe, a raw socket): no message, no error, no peer', T, async () => {
      const cli = await startCli('pc');
      const f = await startFamily('handshake.py', 'hs');
      const before = await cliPeers(cli);
      for (let i = 0; i < 3; i++) {
        const pr = await famDo(f, `probe ${cli.address}`, (e) => e.type === 'probed', 'probe');
        assert.equal(pr.ok, true);
      }
      await new Promise<void>((resolve, reject) => {
        const s = net.connect(cli.port, HOST, () => s.end());
        s.on('error', reject);
        s.on('close', () => resolve());
      });
      await assertOnlyMessages(cli, []);
      assert.deepEqual(cli.proc.filter((e) => e.type === 'system' && !isSettleEvent(e)), [], 'a probe says nothing');
      assert.deepEqual((await cliPeers(cli)).filter((p) => p.address !== SETTLE_FROM), before);
    });

    it('a prober that holds the connection a moment before closing without a byte: no message, no error', T, async () => {
      const cli = await startCli('pc');
      const since = cli.proc.mark();
      let received = '';
      await new Promise<void>((resolve, reject) => {
        // the stimulus: a prober that holds the connection 300 ms before closing it
        const s = net.connect(cli.port, HOST, () => setTimeout(() => s.end(), 300));
        s.on('data', (d) => (received += d.toString('latin1')));
        s.on('error', reject);
        s.on('close', () => resolve());
      });
      await assertOnlyMessages(cli, [], since);
      assert.deepEqual(cli.proc.filter((e) => e.type === 'system' && !isSettleEvent(e), since), [], 'a probe says nothing');
      if (received) console.log(`# note: the slow prober was sent ${JSON.stringify(received)} (the native banner to a silent client)`);
    });
  });
});
