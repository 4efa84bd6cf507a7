import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import { nodeIdOf } from '../../src/core/identity/ids';
import { NodeOptions, PeerNode, PeerResult } from '../../src/core/node';
import { backoffDelay } from '../../src/core/native/backoff';
import { ChatFrame, checkFrame, encodeFrame, FrameDecoder, PROTOCOL_VERSION } from '../../src/core/native/frames';
import { Outbox } from '../../src/core/native/outbox';
import { SeenCache } from '../../src/core/native/seenCache';
import { FileStore, MemoryStore } from '../../src/core/store';
import { classicReceiver } from '../support/classicReceiver';
import { FakeNativePeer, fakeNativePeer } from '../support/fakeNativePeer';
import { rawSend } from '../support/rawSend';
import { removeTmpDirs, tmpDir as makeTmpDir } from '../support/tmpDir';
import { until } from '../support/until';

const HOST = '127.0.0.1';
const live: PeerNode[] = [];
const fakes: FakeNativePeer[] = [];
after(async () => {
  for (const f of fakes) f.socket.destroy();
  await Promise.all(live.map((n) => n.stop()));
  removeTmpDirs();
});

const tmpDir = () => makeTmpDir('peerchat-native-');

/** A hand-driven native client (test/support) that must get the banner; destroyed after the file. */
async function fake(port: number): Promise<FakeNativePeer> {
  const f = await fakeNativePeer(port);
  assert.ok(f, 'the node sent no banner');
  fakes.push(f);
  return f;
}

async function node(name: string, o: Partial<NodeOptions> = {}): Promise<PeerNode> {
  const n = new PeerNode({ host: HOST, port: 0, name, advertisedIp: HOST, ...o, limits: { probeWaitMs: 300, reconnectBaseMs: 50, reconnectMaxMs: 300, ...o.limits } });
  live.push(n);
  await n.start();
  return n;
}

const addr = (n: PeerNode) => `127.0.0.1:${n.listeningPort}`;
const texts = (n: PeerNode, f: (m: ChatMessage) => boolean) => n.getHistory().filter(f).map((m) => m.text);

describe('native frames', () => {
  it('decodes frames split across chunks and merged in one chunk', () => {
    const a = encodeFrame({ type: 'ack', id: 'x1' });
    const b = encodeFrame({ type: 'sync', since: 5 });
    const d = new FrameDecoder(1024);
    const all = Buffer.concat([a, b]);
    assert.deepEqual(d.push(all.subarray(0, 3)), []);
    assert.deepEqual(d.push(all.subarray(3, a.length + 2)), [{ type: 'ack', id: 'x1' }]);
    assert.deepEqual(d.push(all.subarray(a.length + 2)), [{ type: 'sync', since: 5 }]);
    assert.equal(d.buffered, 0);
    assert.deepEqual(new FrameDecoder(1024).push(all), [{ type: 'ack', id: 'x1' }, { type: 'sync', since: 5 }]);
  });

  it('refuses an oversize frame before buffering it, and garbage', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32BE(10_000_000);
    assert.throws(() => new FrameDecoder(1024).push(big), /over the 1024-byte limit/);
    const junk = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]);
    assert.throws(() => new FrameDecoder(1024).push(junk), SyntaxError);
  });

  it('checks frame shapes: unknown types are ignored, malformed ones refused', () => {
    assert.equal(checkFrame({ type: 'future-thing', x: 1 }), 'unknown');
    assert.equal(checkFrame({ type: 'chat', id: 1 }), undefined);
    assert.equal(checkFrame([1, 2]), undefined);
    assert.equal(checkFrame({ nope: true }), undefined);
    assert.deepEqual(checkFrame({ type: 'ack', id: 'a' }), { type: 'ack', id: 'a' });
  });
});

describe('native helpers', () => {
  it('backs off exponentially with jitter, capped', () => {
    const o = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    assert.equal(backoffDelay(0, { ...o, random: () => 0.5 }), 100);
    assert.equal(backoffDelay(3, { ...o, random: () => 0.5 }), 800);
    assert.equal(backoffDelay(10, { ...o, random: () => 0.5 }), 1000);
    assert.equal(backoffDelay(0, { ...o, random: () => 0 }), 50);
    assert.equal(backoffDelay(0, { ...o, random: () => 1 }), 150);
  });

  it('remembers a bounded number of seen ids', () => {
    const c = new SeenCache(3);
    assert.ok(c.add('a'));
    assert.equal(c.add('a'), false);
    c.add('b');
    c.add('c');
    c.add('d');
    assert.equal(c.size, 3);
    assert.equal(c.has('a'), false);
  });

  it('keeps the outbox on disk and refuses past the per-peer cap', async () => {
    const dir = tmpDir();
    const store = new FileStore(dir, 100);
    const caps = { perPeer: 2, messages: 100, bytes: 1 << 20 };
    const o = new Outbox(store, caps);
    const msg = (id: string): ChatMessage => ({ id, conversation: 'node:b', direction: 'out', name: 'a', text: id, ts: 1, state: 'queued' });
    await Promise.all([o.add('b', msg('1')), o.add('b', msg('2'))]);
    assert.deepEqual(o.refusal('b', msg('3')), { kind: 'peer', limit: 2 });
    const again = new Outbox(new FileStore(dir, 100), caps);
    assert.deepEqual(again.pending('b').map((m) => m.id), ['1', '2']);
    assert.equal(again.remove('1'), 'b');
    assert.equal(again.remove('1'), undefined);
  });

  it('keeps the node id across restarts', () => {
    const store = new MemoryStore();
    const a = new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store });
    const b = new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store });
    assert.match(a.nodeId, /^[0-9a-f]{64}$/);
    assert.equal(a.nodeId, nodeIdOf(a.identity.publicKeyDer), 'the id is the hash of the public key');
    assert.equal(a.nodeId, b.nodeId);
  });
});

describe('native sessions between nodes', () => {
  it('connects natively, delivers with a receipt, and reports read', async () => {
    const a = await node('ana');
    const b = await node('ben');
    const r = await a.connect(addr(b));
    assert.ok(r.ok, r.error);
    const pb = await until('ben native in ana', () => a.peers.get(addr(b))?.protocol === 'native' && a.peers.get(addr(b)));
    assert.equal(pb.nodeId, b.nodeId);
    assert.equal(pb.state, 'connected');
    assert.ok(texts(a, (m) => m.direction === 'system').some((t) => /ben .* connected over PeerChat's native protocol/.test(t)), 'the dialer shows a system line too');
    await until('ana known to ben', () => b.peers.byNodeId(a.nodeId)?.state === 'connected');
    const { message, result } = await a.send(addr(b), 'hello natively');
    assert.ok(result.ok);
    assert.equal(message.conversation, `node:${b.nodeId}`);
    await until('delivered', () => a.getHistory().find((m) => m.id === message.id)?.state === 'delivered');
    const got = b.getHistory().find((m) => m.id === message.id);
    assert.ok(got);
    assert.equal(got.origin, a.nodeId);
    assert.equal(got.conversation, `node:${a.nodeId}`);
    b.markRead(`node:${a.nodeId}`);
    await until('read', () => a.getHistory().find((m) => m.id === message.id)?.state === 'read');
  });

  it('a classic receiver never sees a native byte, and a classic sender never gets the banner', async () => {
    const a = await node('ana');
    const rx = await classicReceiver(HOST);
    try {
      const { result } = await a.send(rx.addr, 'just text');
      assert.ok(result.ok);
      assert.equal(await rx.next(), `127.0.0.1:${a.listeningPort} ana just text`);
      assert.deepEqual(rx.got, [`127.0.0.1:${a.listeningPort} ana just text`], 'one connection, the text alone');
      assert.equal(a.peers.get(rx.addr)?.protocol, 'classic');
    } finally {
      await rx.close();
    }
    // A classic client writes at once: it never gets the banner. One that closes at once gets
    // nothing back; one that keeps the socket open (an ack-waiting sender) gets only a plain
    // acknowledgement line, which is what that family waits for.
    assert.equal((await rawSend(a.listeningPort, '127.0.0.1:45111 old hi there')).toString(), '');
    const ack = `[ACK] Message received from ${a.listeningPort}`;
    const waiter = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = net.connect(a.listeningPort, HOST, () => s.write('127.0.0.1:45112 old hi again'));
      // It holds the socket until its acknowledgement is in (which comes after the quiet gap, so
      // after the banner delay too: a banner would have been written before it).
      s.on('data', (d) => {
        got += d.toString();
        if (got.length >= ack.length) s.end();
      });
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.equal(waiter, ack);
    await until('both classic messages', () => a.getHistory().find((m) => m.text === 'hi there') && a.getHistory().find((m) => m.text === 'hi again'));
  });

  it('keeps queued messages across restarts of both sides; all 100 arrive once, in order', async () => {
    const dirA = tmpDir();
    const dirB = tmpDir();
    let a = await node('ana', { store: new FileStore(dirA, 1000) });
    let b = await node('ben', { store: new FileStore(dirB, 1000) });
    const portA = a.listeningPort;
    const portB = b.listeningPort;
    assert.ok((await a.connect(addr(b))).ok);
    await until('session', () => b.activeResources().sessions === 1);
    await b.shutdown();
    await until('ben gone from ana', () => a.activeResources().sessions === 0);
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { message, result } = await a.send(`127.0.0.1:${portB}`, `m${i}`);
      assert.ok(result.ok && result.queued, `message ${i} queued`);
      ids.push(message.id);
    }
    assert.equal(a.outboxEntries().length, 100);
    await a.shutdown();
    a = await node('ana', { store: new FileStore(dirA, 1000), port: portA });
    assert.equal(a.outboxEntries().length, 100, 'outbox restored from disk');
    assert.ok(a.getHistory().filter((m) => ids.includes(m.id)).every((m) => m.state === 'queued'));
    b = await node('ben', { store: new FileStore(dirB, 1000), port: portB });
    await until('all 100 delivered', () => a.getHistory().filter((m) => ids.includes(m.id) && m.state === 'delivered').length === 100, 10_000);
    const inB = b.getHistory().filter((m) => m.direction === 'in' && m.origin === a.nodeId);
    assert.deepEqual(inB.map((m) => m.text), ids.map((_, i) => `m${i}`));
    assert.equal(a.outboxEntries().length, 0);
  });

  it('learns peers through a neighbour and shows how', async () => {
    const a = await node('ana');
    const b = await node('ben');
    const c = await node('cho');
    assert.ok((await b.connect(addr(c))).ok);
    assert.ok((await a.connect(addr(b))).ok);
    const learned = await until('ana learns cho', () => a.peers.byNodeId(c.nodeId));
    assert.equal(learned.learnedVia, 'ben');
    assert.equal(learned.address, addr(c));
    assert.equal(a.peerViews().find((p) => p.nodeId === c.nodeId)?.learnedFrom, 'via ben');
  });

  it('floods an Everyone message along a line of five nodes, exactly once each', async () => {
    const line: PeerNode[] = [];
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) line.push(await node(n, { limits: { maxAutoConnect: 0 } }));
    for (let i = 0; i < 4; i++) assert.ok((await line[i].connect(addr(line[i + 1]))).ok);
    for (let i = 1; i < 5; i++) await until(`n${i + 1} sessions`, () => line[i].activeResources().sessions === (i === 4 ? 1 : 2));
    const { message } = await line[0].broadcast('hello line');
    for (const n of line.slice(1)) await until(`${n.name} got it`, () => n.getHistory().some((m) => m.id === message.id));
    await until('delivered', () => line[0].getHistory().find((m) => m.id === message.id)?.state === 'delivered');
    // A copy flooded back or forward would travel ahead of a later message on the same session:
    // markers from both ends cross every link in both directions after it.
    const fromStart = (await line[0].broadcast('marker from n1')).message;
    const fromEnd = (await line[4].broadcast('marker from n5')).message;
    for (const [mk, from] of [[fromStart, line[0]], [fromEnd, line[4]]] as const) {
      for (const n of line) if (n !== from) await until(`${n.name} got "${mk.text}"`, () => n.getHistory().some((m) => m.id === mk.id));
    }
    for (const n of line) assert.equal(n.getHistory().filter((m) => m.id === message.id).length, 1, `${n.name} has it once`);
    for (const n of line) for (const mk of [fromStart, fromEnd]) assert.equal(n.getHistory().filter((m) => m.id === mk.id).length, 1, `${n.name} has "${mk.text}" once`);
  });

  /** Two nodes that dial each other at once; the dial results, once both dials are over. */
  async function race(): Promise<{ a: PeerNode; b: PeerNode; ra: PeerResult; rb: PeerResult; settled: (n: PeerNode) => boolean }> {
    const a = await node('ana');
    const b = await node('ben');
    const [ra, rb] = await Promise.all([a.connect(addr(b)), b.connect(addr(a))]);
    // Both dials resolved: nothing under way can open another session.
    const settled = (n: PeerNode) => {
      const r = n.activeResources();
      return r.sessions === 1 && r.handshaking === 0 && r.dialing === 0;
    };
    await until('one session each, no handshake or dial left', () => settled(a) && settled(b), 5000, () => JSON.stringify([a.activeResources(), b.activeResources()]));
    return { a, b, ra, rb, settled };
  }

  it('resolves simultaneous dials to one connection', async () => {
    const { a, b, ra, rb, settled } = await race();
    // Both keep the connection the smaller node id dialed: that dial succeeded.
    const [small, large, rSmall] = a.nodeId < b.nodeId ? [a, b, ra] : [b, a, rb];
    assert.ok(rSmall.ok, `${small.name}'s dial (the one kept): ${rSmall.error}`);
    const p = small.peers.byNodeId(large.nodeId);
    assert.equal(p?.state, 'connected', `${small.name} sees ${large.name} connected`);
    assert.equal(p?.protocol, 'native');
    for (const [x, y] of [[a, b], [b, a]]) {
      assert.equal(x.peers.byNodeId(y.nodeId)?.address, addr(y), `${x.name} lists ${y.name} at its listening address`);
      assert.equal(x.peerViews().filter((v) => v.nodeId === y.nodeId).length, 1, `${x.name} lists ${y.name} once`);
    }
    // A message each way over the surviving session, each shown once.
    const ab = (await a.send(`node:${b.nodeId}`, 'after the race, a to b')).message;
    const ba = (await b.send(`node:${a.nodeId}`, 'after the race, b to a')).message;
    await until('both delivered', () => a.getHistory().find((m) => m.id === ab.id)?.state === 'delivered' && b.getHistory().find((m) => m.id === ba.id)?.state === 'delivered');
    assert.equal(texts(b, (m) => m.id === ab.id).length, 1);
    assert.equal(texts(a, (m) => m.id === ba.id).length, 1);
    assert.ok(settled(a) && settled(b), `still one session each: ${JSON.stringify([a.activeResources(), b.activeResources()])} (${JSON.stringify([ra, rb])})`);
  });

  it(
    'a simultaneous dial succeeds on both sides, and both list the other as connected',
    async () => {
      const { a, b, ra, rb } = await race();
      assert.ok(ra.ok, `ana's dial: ${ra.error}`);
      assert.ok(rb.ok, `ben's dial: ${rb.error}`);
      for (const [x, y] of [[a, b], [b, a]]) assert.equal(x.peers.byNodeId(y.nodeId)?.state, 'connected', `${x.name} sees ${y.name} connected`);
    },
  );

  it('catches up on Everyone messages missed while away', async () => {
    const dirC = tmpDir();
    const a = await node('ana');
    const b = await node('ben');
    let c = await node('cho', { store: new FileStore(dirC, 1000), limits: { maxAutoConnect: 0 } });
    const portC = c.listeningPort;
    assert.ok((await a.connect(addr(b))).ok);
    assert.ok((await c.connect(addr(b))).ok);
    const first = await a.broadcast('before');
    await until('cho got before', () => c.getHistory().some((m) => m.id === first.message.id));
    await c.shutdown();
    for (const t of ['missed 1', 'missed 2', 'missed 3']) await a.broadcast(t);
    await until('ben has them', () => texts(b, (m) => m.conversation === 'everyone' && m.text.startsWith('missed')).length === 3);
    c = await node('cho', { store: new FileStore(dirC, 1000), port: portC, limits: { maxAutoConnect: 0 } });
    await until('cho caught up', () => texts(c, (m) => m.conversation === 'everyone' && m.text.startsWith('missed')).length === 3, 8000);
    assert.equal(texts(c, (m) => m.text === 'before').length, 1, 'no duplicate of what it had');
  });

  it('refuses an incompatible protocol version with a clear error', async () => {
    const a = await node('ana');
    const f = await fake(a.listeningPort);
    f.send({ type: 'hello', v: PROTOCOL_VERSION + 1, nodeId: f.nodeId, name: 'future', listen: '127.0.0.1:1' });
    assert.ok(await f.waitClose(5000), 'the node kept the session with an incompatible peer');
    const reply = f.data().toString();
    assert.match(reply, /ERR_VERSION/);
    assert.match(reply, new RegExp(`incompatible PeerChat protocol version ${PROTOCOL_VERSION + 1}`));
  });

  it('a peer that stops reading holds a bounded amount of memory and does not stall the others', async () => {
    const a = await node('ana', { limits: { highWaterBytes: 64 * 1024, maxOutboxPerPeer: 100_000 } });
    const b = await node('ben');
    assert.ok((await a.connect(addr(b))).ok);
    // A fake native peer that completes the handshake and then never reads again.
    const slow = await fake(a.listeningPort);
    slow.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: slow.nodeId, name: 'slowpoke', listen: '127.0.0.1:9' });
    await until('slow peer connected', () => a.peers.byNodeId(slow.nodeId)?.state === 'connected');
    await slow.waitFrame((f: { type?: string }) => f.type === 'hello', "the node's hello");
    slow.socket.pause();
    const text = 'x'.repeat(4000);
    for (let i = 0; i < 3000; i++) await a.send(`node:${slow.nodeId}`, text);
    const count = () => {
      const states = a.getHistory().filter((m) => m.conversation === `node:${slow.nodeId}` && m.direction === 'out');
      return { written: states.filter((m) => m.state === 'sent').length, waiting: states.filter((m) => m.state === 'queued').length };
    };
    const bounded = (when: string) => {
      const { written, waiting } = count();
      assert.equal(written + waiting, 3000, `${when}: nothing lost: every message is either written or waiting`);
      assert.ok(waiting > 0, `${when}: messages past the high-water mark wait in the outbox (written ${written}, waiting ${waiting})`);
      assert.ok(written < 3000 / 2, `${when}: most wait while the peer reads nothing (written ${written})`);
      // Unsent bytes in the session stay near the high-water mark; the kernel buffers the rest.
      const bytesWritten = written * (text.length + 200);
      assert.ok(bytesWritten < 64 * 1024 + 8 * 1024 * 1024, `${when}: wrote ${bytesWritten} bytes towards a peer that reads nothing`);
    };
    await until('every message written or waiting', () => count().written + count().waiting === 3000, 5000, () => JSON.stringify(count()));
    bounded('after the sends');
    // Another peer is not held up.
    const { message } = await a.send(addr(b), 'still flowing');
    await until('delivered to ben', () => a.getHistory().find((m) => m.id === message.id)?.state === 'delivered');
    // Still bounded after that round trip: the slow peer's share did not grow meanwhile.
    bounded('after a delivery to another peer');
    slow.socket.destroy();
  });

  it('notices a dead connection within the heartbeat bound', async () => {
    const limits = { heartbeatMs: 100, deadAfterMs: 400 };
    const a = await node('ana', { limits });
    // A fake native peer: handshakes, then never says anything again.
    const mute = await fake(a.listeningPort);
    mute.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: mute.nodeId, name: 'mute', listen: '127.0.0.1:1' });
    await until('connected', () => a.peers.byNodeId(mute.nodeId)?.state === 'connected');
    s_pause(mute.socket);
    await until('presumed dead', () => a.peers.byNodeId(mute.nodeId)?.state === 'inactive', 3000);
    assert.match(a.peers.byNodeId(mute.nodeId)?.lastError ?? '', /presumed dead/);
    mute.socket.destroy();
  });
});

/** Stops reading so that the node's pings go unanswered. */
function s_pause(s: net.Socket): void {
  s.removeAllListeners('data');
  s.pause();
}

describe('native text cap', () => {
  const direct = (origin: string, text: string, id = randomUUID()): ChatFrame => ({ type: 'chat', id, origin, originName: 'big', ts: Date.now(), conv: 'direct', text, hops: 0 });

  // Capped like classic text (limits.maxIncomingBytes, UTF-8 bytes): a longer one is acknowledged
  // (so it is not resent forever) and not shown.
  it('a direct text over 64 KiB is acked and not shown; one under it is shown', async () => {
    const n = await node('ana');
    const logs: string[] = [];
    n.on('log', (_level, text) => logs.push(text));
    const f = await fake(n.listeningPort);
    f.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: f.nodeId, name: 'big', listen: '127.0.0.1:9' });
    await until('the session', () => n.peers.byNodeId(f.nodeId)?.state === 'connected');

    const tooLong = direct(f.nodeId, 'a'.repeat(70_000));
    const tooManyBytes = direct(f.nodeId, '€'.repeat(30_000)); // 30,000 characters, 90,000 bytes
    const fits = direct(f.nodeId, 'b'.repeat(60_000));
    for (const c of [tooLong, tooManyBytes, fits]) f.send(c);
    for (const c of [tooLong, tooManyBytes, fits]) await f.waitFrame((x: { type?: string; id?: string }) => x.type === 'ack' && x.id === c.id, `the ack of ${c.id.slice(0, 8)}`);
    await until('the 60,000-character text shown', () => n.getHistory().find((m) => m.id === fits.id));
    assert.equal(n.getHistory().find((m) => m.id === fits.id)?.text.length, 60_000);
    assert.equal(n.getHistory().find((m) => m.id === tooLong.id), undefined, 'the 70,000-character text is not shown');
    assert.equal(n.getHistory().find((m) => m.id === tooManyBytes.id), undefined, 'the 90,000-byte text is not shown');
    assert.ok(
      logs.some((l) => l.includes(tooLong.id.slice(0, 8)) && /over 65536 bytes/.test(l)),
      `a drop line: ${logs.slice(-5).join(' | ')}`,
    );
    assert.equal(f.closed(), false, 'the session stays up');
  });
});
