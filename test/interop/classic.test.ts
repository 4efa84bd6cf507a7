// Interoperability of the PeerChat terminal peer (dist/cli.js --json) with classic classroom peers,
// played by test/interop/refpeer.py, and with a second terminal peer.
// Wire format and quirks: /work/shared/guides/classic-protocol.md.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  CLI_PATH,
  cleanupAll,
  cliAvailable,
  cliPeers,
  type Cli,
  type Event,
  getFreePort,
  rawSend,
  refSend,
  startCli,
  startRefPeer,
  waitForPeers,
} from './helpers';

const T = { timeout: 30_000 };

const isMsg = (e: Event) => e.type === 'message';
const msgFrom = (from: string, text?: string) => (e: Event) => isMsg(e) && e.from === from && (text === undefined || e.text === text);
const refMsg = (from: string, kind: string, text?: string) => (e: Event) => msgFrom(from, text)(e) && e.kind === kind;

type PeerRow = { address: string; name?: string; state: string };
function peerEntry(peers: PeerRow[], address: string) {
  return peers.find((p) => p.address === address);
}

/** Exactly 3000 UTF-8 bytes of 1-, 2- and 3-byte characters, no newline, no edge spaces. */
function longMultibyteText(): string {
  const unit = 'é日本éé日本 ab '; // 22 bytes
  let s = '';
  let i = 0;
  while (Buffer.byteLength(s + unit + i) <= 3000 - 4) s += unit + i++;
  while (Buffer.byteLength(s) < 3000) s += 'x';
  return s;
}

describe('PeerChat terminal peer ↔ classic peers', () => {
  before(() => {
    assert.ok(cliAvailable(), `${CLI_PATH} not found: build it first (npm run build, or node esbuild.js)`);
  });
  afterEach(cleanupAll);
  after(cleanupAll);

  it('starts and reports its advertised listening address', T, async () => {
    const cli = await startCli('cliA');
    assert.equal(cli.address, `127.0.0.1:${cli.port}`, 'listening event address');
  });

  it('(a) a classic chat message arrives with from/name/text, and the sender becomes known', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('alice');
    const sent = await refSend(rp, cli.address, 'hello from alice, with spaces');
    assert.equal(sent.ok, true, `refpeer could not send: ${JSON.stringify(sent)}`);

    const m = await cli.proc.waitFor(msgFrom(rp.address), `message from ${rp.address}`);
    assert.equal(m.name, 'alice');
    assert.equal(m.text, 'hello from alice, with spaces');

    const peers = await waitForPeers(cli, (ps) => !!peerEntry(ps, rp.address), `peer ${rp.address} listed`);
    const entry = peerEntry(peers, rp.address)!;
    assert.equal(entry.state, 'known', `state of ${rp.address} in ${JSON.stringify(peers)}`);
    assert.equal(entry.name, 'alice');
  });

  it("(b) /send reaches a classic peer with the CLI's name and advertised IP:PORT in the header", T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('bob');
    const since = cli.proc.mark();
    cli.proc.send(`/send ${rp.address} hi bob, how are you?`);

    const m = await rp.proc.waitFor((e) => isMsg(e) && e.kind === 'chat', 'chat message from the CLI');
    assert.equal(m.from, cli.address, 'header IP:PORT');
    assert.equal(m.name, 'cliA', 'header name');
    assert.equal(m.text, 'hi bob, how are you?', 'text exactly, no trailing newline');
    assert.ok(m.bytes <= 1023, `wire size ${m.bytes}`);

    const s = await cli.proc.waitFor((e) => e.type === 'sent' && e.to === rp.address, 'sent event', { since });
    assert.equal(s.ok, true, JSON.stringify(s));

    // The classroom program now knows the CLI under its header address.
    const rpSince = rp.proc.mark();
    rp.proc.send('peers');
    const listing = await rp.proc.waitFor((e) => e.type === 'peers', 'refpeer peers', { since: rpSince });
    assert.deepEqual(
      listing.peers.map((p: { address: string }) => p.address),
      [cli.address],
    );
  });

  it('(c) a 3000-byte multibyte text arrives as several ≤1023-byte valid UTF-8 messages that concatenate to it', T, async () => {
    const text = longMultibyteText();
    assert.equal(Buffer.byteLength(text), 3000);
    const cli = await startCli('cliA');
    const rp = await startRefPeer('carol', ['--hold-ms', '50']); // a slow handler: parts must not overlap
    const cliSince = cli.proc.mark();
    const rpSince = rp.proc.mark();
    cli.proc.send(`/send ${rp.address} ${text}`);

    let total = 0;
    await rp.proc.waitFor(
      (e) => {
        if (e.type === 'decode_error' || e.type === 'malformed') return true; // fail fast below
        if (isMsg(e) && e.from === cli.address) total += Buffer.byteLength(String(e.text));
        return total >= 3000;
      },
      'all 3000 bytes of the long message',
      { since: rpSince, timeoutMs: 10_000 },
    );
    const bad = rp.proc.filter((e) => e.type === 'decode_error' || e.type === 'malformed', rpSince);
    assert.deepEqual(bad, [], 'every part must be valid UTF-8 with an IP:PORT NAME header');

    const parts = rp.proc.filter(msgFrom(cli.address), rpSince).sort((x, y) => x.seq - y.seq);
    assert.ok(parts.length >= 3, `expected at least 3 parts, got ${parts.length}`);
    for (const p of parts) {
      assert.ok(p.bytes <= 1023, `a part is ${p.bytes} bytes on the wire (max 1023): ${JSON.stringify(p).slice(0, 200)}`);
      assert.equal(p.kind, 'chat');
      assert.equal(p.name, 'cliA');
      assert.equal(p.concurrent, 1, `parts must be sent one connection at a time (seq ${p.seq} overlapped)`);
    }
    const joined = parts.map((p) => p.text).join('');
    assert.equal(joined.length, text.length, `joined length (parts: ${parts.map((p) => p.bytes).join(', ')} bytes)`);
    assert.ok(joined === text, 'the parts, in order, concatenate to the original text');

    const failed = cli.proc.filter((e) => e.type === 'sent' && e.ok === false, cliSince);
    assert.deepEqual(failed, []);
  });

  it('(d) /broadcast reaches two known classic peers', T, async () => {
    const cli = await startCli('cliA');
    const rp1 = await startRefPeer('dave');
    const rp2 = await startRefPeer('erin');
    for (const rp of [rp1, rp2]) {
      assert.equal((await refSend(rp, cli.address, `hi from ${rp.name}`)).ok, true);
      await cli.proc.waitFor(msgFrom(rp.address), `message from ${rp.name}`);
    }
    await waitForPeers(cli, (ps) => !!peerEntry(ps, rp1.address) && !!peerEntry(ps, rp2.address), 'both refpeers listed');

    cli.proc.send('/broadcast hello everyone');
    for (const rp of [rp1, rp2]) {
      const m = await rp.proc.waitFor(refMsg(cli.address, 'chat', 'hello everyone'), `broadcast at ${rp.name}`);
      assert.equal(m.name, 'cliA');
    }
  });

  it('(e) a classic exit marks the peer gone and prints a system event', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('frank');
    // Each side learns the other the classic way: by receiving from it.
    assert.equal((await refSend(rp, cli.address, 'hello')).ok, true);
    await cli.proc.waitFor(msgFrom(rp.address), 'hello from frank');
    cli.proc.send(`/send ${rp.address} hello frank`);
    await rp.proc.waitFor(refMsg(cli.address, 'chat'), 'message from the CLI');

    const since = cli.proc.mark();
    rp.proc.send('exit'); // sends "IP:PORT frank exit" to every known peer, then quits
    const s = await rp.proc.waitFor((e) => e.type === 'sent' && e.text === 'exit', 'exit sent');
    assert.equal(s.ok, true);
    assert.equal(s.to, cli.address);

    const sys = await cli.proc.waitFor(
      (e) => e.type === 'system' && (JSON.stringify(e).includes(rp.address) || JSON.stringify(e).includes('frank')),
      'system event about frank leaving',
      { since },
    );
    assert.ok(sys);
    await waitForPeers(cli, (ps) => peerEntry(ps, rp.address)?.state === 'gone', `${rp.address} gone`);
    assert.deepEqual(cli.proc.filter((e) => isMsg(e) && /^exit$/i.test(String(e.text))), [], 'exit is not shown as a message');
    await rp.proc.waitExit();
  });

  it('(e2) a relayed exit (leaver address in the header, relayer name) marks the leaver gone, not the relayer', T, async () => {
    const cli = await startCli('cliA');
    const leaver = await startRefPeer('mona');
    const relayer = await startRefPeer('ned');
    for (const rp of [leaver, relayer]) {
      assert.equal((await refSend(rp, cli.address, `hi from ${rp.name}`)).ok, true);
      await cli.proc.waitFor(msgFrom(rp.address), `message from ${rp.name}`);
    }
    // What Hashflow does: forward the exit it received, keeping the leaver's address, own name.
    await rawSend(cli.port, `${leaver.address} ned exit`);
    const peers = await waitForPeers(cli, (ps) => peerEntry(ps, leaver.address)?.state === 'gone', `${leaver.address} gone`);
    assert.notEqual(peerEntry(peers, relayer.address)?.state, 'gone', `relayer must stay: ${JSON.stringify(peers)}`);
  });

  it('(f) a classic PING is never shown as a message', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('gina');
    const since = rp.proc.mark();
    rp.proc.send(`ping ${cli.address}`);
    const s = await rp.proc.waitFor((e) => e.type === 'sent' && e.text === 'PING', 'PING sent', { since });
    assert.equal(s.ok, true);
    // A following message proves the PING was processed before we look.
    assert.equal((await refSend(rp, cli.address, 'after the ping')).ok, true);
    await cli.proc.waitFor(msgFrom(rp.address, 'after the ping'), 'message after the PING');
    assert.deepEqual(cli.proc.filter((e) => isMsg(e) && String(e.text).includes('PING')), [], 'PING shown as a message');
  });

  it('(f2) a PING that carries our own address in its header does not list ourselves as a peer', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('hashpa');
    await rawSend(cli.port, `${cli.address} hashpa PING`);
    assert.equal((await refSend(rp, cli.address, 'and now a real one')).ok, true);
    await cli.proc.waitFor(msgFrom(rp.address, 'and now a real one'), 'real message');
    const peers = await cliPeers(cli);
    assert.equal(peerEntry(peers, cli.address), undefined, `own address listed: ${JSON.stringify(peers)}`);
    assert.deepEqual(cli.proc.filter((e) => isMsg(e) && String(e.text).includes('PING')), []);
  });

  it('(g) /connect greets the classic peer and marks it connected', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('hank');
    cli.proc.send(`/connect ${rp.address}`);
    const g = await rp.proc.waitFor(refMsg(cli.address, 'greeting'), 'greeting from the CLI');
    assert.equal(g.name, 'cliA');
    assert.ok(['Connected', 'Hello, I am connecting!'].includes(g.text), `greeting text ${JSON.stringify(g.text)}`);
    await waitForPeers(cli, (ps) => peerEntry(ps, rp.address)?.state === 'connected', `${rp.address} connected`);
  });

  it('(h) /quit sends exit to connected peers and exits 0', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('ivy');
    cli.proc.send(`/connect ${rp.address}`);
    await rp.proc.waitFor(refMsg(cli.address, 'greeting'), 'greeting');
    await waitForPeers(cli, (ps) => peerEntry(ps, rp.address)?.state === 'connected', 'connected');

    cli.proc.send('/quit');
    const x = await rp.proc.waitFor(refMsg(cli.address, 'exit'), 'exit from the CLI');
    assert.equal(x.text, 'exit', 'lowercase exit, nothing appended');
    assert.equal(x.name, 'cliA');
    const { code, signal } = await cli.proc.waitExit(5000);
    assert.equal(signal, null);
    assert.equal(code, 0);
  });

  it('(h2) closing stdin also sends exit to connected peers and exits 0', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('jack');
    cli.proc.send(`/connect ${rp.address}`);
    await waitForPeers(cli, (ps) => peerEntry(ps, rp.address)?.state === 'connected', 'connected');
    cli.proc.closeStdin();
    await rp.proc.waitFor(refMsg(cli.address, 'exit'), 'exit from the CLI');
    const { code } = await cli.proc.waitExit(5000);
    assert.equal(code, 0);
  });

  it('(i) two terminal peers chat both ways', T, async () => {
    const a = await startCli('cliA');
    const b = await startCli('cliB');
    a.proc.send(`/send ${b.address} hello B, from A`);
    const atB = await b.proc.waitFor(msgFrom(a.address), 'message from A at B');
    assert.equal(atB.name, 'cliA');
    assert.equal(atB.text, 'hello B, from A');

    b.proc.send(`/send ${a.address} hello A, from B é日本`);
    const atA = await a.proc.waitFor(msgFrom(b.address), 'message from B at A');
    assert.equal(atA.name, 'cliB');
    assert.equal(atA.text, 'hello A, from B é日本');

    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as Array<[Cli, Cli]>) {
      const peers = await waitForPeers(me, (ps) => !!peerEntry(ps, other.address), `${other.name} listed at ${me.name}`);
      assert.equal(peerEntry(peers, me.address), undefined, 'never lists itself');
    }
  });

  it('(j) malformed input is not shown as a message and the CLI keeps working', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('kate');
    await rawSend(cli.port, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(' junk')]));
    await rawSend(cli.port, '127.0.0.1:99999 name bad port');
    await rawSend(cli.port, Buffer.from('127.0.0.1:5000 name \u0000\u0001\u0002 binary'));
    assert.equal((await refSend(rp, cli.address, 'still there?')).ok, true);
    await cli.proc.waitFor(msgFrom(rp.address, 'still there?'), 'good message after the malformed ones');
    // The only message of this test is the good one.
    const shown = cli.proc.filter((e) => isMsg(e) && !(e.from === rp.address && e.text === 'still there?'));
    assert.deepEqual(shown, [], 'malformed input shown as a message');
    assert.ok(cli.proc.filter((e) => e.type === 'log' && /dropped message/.test(String(e.text))).length >= 3, 'each drop is logged');
    assert.equal(cli.proc.exited, false);
  });

  it('(j2) bare text with no header is shown as coming from the socket address, and makes no peer', T, async () => {
    const cli = await startCli('cliA');
    await rawSend(cli.port, 'notanaddress name hi');
    const m = await cli.proc.waitFor((e) => isMsg(e) && e.text === 'notanaddress name hi', 'the bare text');
    // No listening address is known for it: it is shown under its connection's address.
    assert.match(String(m.from), /^127\.0\.0\.1:\d+$/);
    assert.notEqual(m.from, cli.address);
    assert.equal(m.name, '127.0.0.1');
    assert.deepEqual(await cliPeers(cli), []);
  });

  it('(k) ten quick /send to one classic peer all arrive, in order, one connection at a time', T, async () => {
    const cli = await startCli('cliA');
    const rp = await startRefPeer('liam', ['--hold-ms', '100']); // a slow handler: sends must wait
    const since = cli.proc.mark();
    for (let i = 1; i <= 10; i++) cli.proc.send(`/send ${rp.address} burst ${i}`);
    let n = 0;
    await rp.proc.waitFor((e) => refMsg(cli.address, 'chat')(e) && ++n === 10, 'ten messages', { timeoutMs: 15_000 });
    const got = rp.proc.filter(refMsg(cli.address, 'chat')).sort((x, y) => x.seq - y.seq);
    assert.deepEqual(
      got.map((e) => e.text),
      Array.from({ length: 10 }, (_, i) => `burst ${i + 1}`),
    );
    assert.deepEqual(
      got.map((e) => e.concurrent),
      Array(10).fill(1),
      'connections to one classic peer overlapped',
    );
    assert.deepEqual(cli.proc.filter((e) => e.type === 'sent' && e.ok === false, since), []);
  });

  it('(l) /send to a port nobody listens on reports ok:false in bounded time', T, async () => {
    const cli = await startCli('cliA');
    const deadPort = await getFreePort();
    const since = cli.proc.mark();
    cli.proc.send(`/send 127.0.0.1:${deadPort} anyone?`);
    const s = await cli.proc.waitFor((e) => e.type === 'sent' && e.to === `127.0.0.1:${deadPort}`, 'sent event', { since, timeoutMs: 15_000 });
    assert.equal(s.ok, false);
    assert.equal(typeof s.error, 'string');
    assert.equal(cli.proc.exited, false);
  });
});
