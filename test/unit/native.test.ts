import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import { NodeOptions, PeerNode } from '../../src/core/node';
import { backoffDelay } from '../../src/core/native/backoff';
import { BANNER, checkFrame, encodeFrame, FrameDecoder } from '../../src/core/native/frames';
import { Outbox } from '../../src/core/native/outbox';
import { SeenCache } from '../../src/core/native/seenCache';
import { FileStore, MemoryStore } from '../../src/core/store';

const HOST = '127.0.0.1';
const live: PeerNode[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(live.map((n) => n.stop()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-native-'));
  dirs.push(d);
  return d;
}

async function node(name: string, o: Partial<NodeOptions> = {}): Promise<PeerNode> {
  const n = new PeerNode({ host: HOST, port: 0, name, advertisedIp: HOST, ...o, limits: { probeWaitMs: 300, reconnectBaseMs: 50, reconnectMaxMs: 300, ...o.limits } });
  live.push(n);
  await n.start();
  return n;
}

async function until<T>(what: string, f: () => T | undefined | false | null, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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

  it('keeps the outbox on disk and refuses past the per-peer cap', () => {
    const dir = tmpDir();
    const store = new FileStore(dir, 100);
    const o = new Outbox(store, 2);
    const msg = (id: string): ChatMessage => ({ id, conversation: 'node:b', direction: 'out', name: 'a', text: id, ts: 1, state: 'queued' });
    assert.ok(o.add('b', msg('1')));
    assert.ok(o.add('b', msg('2')));
    assert.equal(o.add('b', msg('3')), false);
    o.flush();
    const again = new Outbox(new FileStore(dir, 100), 2);
    assert.deepEqual(again.pending('b').map((m) => m.id), ['1', '2']);
    assert.equal(again.remove('1'), 'b');
    assert.equal(again.remove('1'), undefined);
  });

  it('keeps the node id across restarts', () => {
    const store = new MemoryStore();
    const a = new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store });
    const b = new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store });
    assert.match(a.nodeId, /^[0-9a-f]{16}$/);
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
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      s.on('end', () => {
        got.push(Buffer.concat(chunks));
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const { result } = await a.send(`127.0.0.1:${port}`, 'just text');
      assert.ok(result.ok);
      assert.equal(got.length, 1);
      assert.equal(got[0].toString(), `127.0.0.1:${a.listeningPort} ana just text`);
      assert.equal(a.peers.get(`127.0.0.1:${port}`)?.protocol, 'classic');
    } finally {
      server.close();
    }
    // A classic client writes at once: it never gets the banner. One that closes at once gets
    // nothing back; one that keeps the socket open (an ack-waiting sender) gets only a plain
    // acknowledgement line, which is what that family waits for.
    const talk = (holdMs: number) =>
      new Promise<string>((resolve) => {
        let got = '';
        const s = net.connect(a.listeningPort, HOST, () => {
          s.write('127.0.0.1:45111 old hi there');
          if (holdMs === 0) s.end();
          else setTimeout(() => s.end(), holdMs); // longer than the banner delay
        });
        s.on('data', (d) => (got += d.toString()));
        s.on('close', () => resolve(got));
      });
    assert.equal(await talk(0), '');
    assert.equal(await talk(400), `[ACK] Message received from ${a.listeningPort}`);
    await until('classic message', () => a.getHistory().find((m) => m.text === 'hi there'));
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
    await new Promise((r) => setTimeout(r, 200));
    for (const n of line.slice(1)) assert.equal(n.getHistory().filter((m) => m.id === message.id).length, 1, `${n.name} has it once`);
    await until('delivered', () => line[0].getHistory().find((m) => m.id === message.id)?.state === 'delivered');
  });

  it('resolves simultaneous dials to one connection', async () => {
    const a = await node('ana');
    const b = await node('ben');
    const [ra, rb] = await Promise.all([a.connect(addr(b)), b.connect(addr(a))]);
    assert.ok(ra.ok || rb.ok);
    await until('one session each', () => a.activeResources().sessions === 1 && b.activeResources().sessions === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.activeResources().sessions, 1);
    const { message } = await b.send(`node:${a.nodeId}`, 'after the race');
    await until('delivered', () => b.getHistory().find((m) => m.id === message.id)?.state === 'delivered');
    assert.equal(texts(a, (m) => m.id === message.id).length, 1);
  });

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
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(a.listeningPort, HOST);
      let buf = Buffer.alloc(0);
      let sent = false;
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (!sent && buf.toString().startsWith(BANNER)) {
          sent = true;
          s.write(BANNER);
          s.write(encodeFrame({ type: 'hello', v: 2, nodeId: 'ffffffffffffffff', name: 'future', listen: '127.0.0.1:1' }));
        }
      });
      s.on('close', () => resolve(buf.toString()));
      s.on('error', () => undefined);
    });
    assert.match(reply, /ERR_VERSION/);
    assert.match(reply, /incompatible PeerChat protocol version 2/);
  });

  it('a peer that stops reading holds a bounded amount of memory and does not stall the others', async () => {
    const a = await node('ana', { limits: { highWaterBytes: 64 * 1024, maxOutboxPerPeer: 100_000 } });
    const b = await node('ben');
    assert.ok((await a.connect(addr(b))).ok);
    // A fake native peer that completes the handshake and then never reads again.
    const slow = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(a.listeningPort, HOST);
      let sent = false;
      s.on('data', (d) => {
        if (!sent && d.toString().startsWith(BANNER)) {
          sent = true;
          s.write(BANNER);
          s.write(encodeFrame({ type: 'hello', v: 1, nodeId: '5105105105105105', name: 'slowpoke', listen: '127.0.0.1:9' }));
          setTimeout(() => {
            s.pause();
            resolve(s);
          }, 100);
        }
      });
      s.on('error', () => undefined);
    });
    await until('slow peer connected', () => a.peers.byNodeId('5105105105105105')?.state === 'connected');
    const text = 'x'.repeat(4000);
    for (let i = 0; i < 3000; i++) await a.send('node:5105105105105105', text);
    await new Promise((r) => setTimeout(r, 300));
    const states = a.getHistory().filter((m) => m.conversation === 'node:5105105105105105' && m.direction === 'out');
    const written = states.filter((m) => m.state === 'sent').length;
    const waiting = states.filter((m) => m.state === 'queued').length;
    assert.equal(written + waiting, 3000, 'nothing lost: every message is either written or waiting');
    assert.ok(waiting > 0, `messages past the high-water mark wait in the outbox (written ${written}, waiting ${waiting})`);
    assert.ok(written < 3000 / 2, `most wait while the peer reads nothing (written ${written})`);
    // Unsent bytes in the session stay near the high-water mark; the kernel buffers the rest.
    const bytesWritten = written * (text.length + 200);
    assert.ok(bytesWritten < 64 * 1024 + 8 * 1024 * 1024, `wrote ${bytesWritten} bytes towards a peer that reads nothing`);
    // Another peer is not held up.
    const { message } = await a.send(addr(b), 'still flowing');
    await until('delivered to ben', () => a.getHistory().find((m) => m.id === message.id)?.state === 'delivered');
    slow.destroy();
  });

  it('notices a dead connection within the heartbeat bound', async () => {
    const limits = { heartbeatMs: 100, deadAfterMs: 400 };
    const a = await node('ana', { limits });
    // A fake native peer: handshakes, then never says anything again.
    const sock = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(a.listeningPort, HOST);
      let sent = false;
      s.on('data', (d) => {
        if (!sent && d.toString().startsWith(BANNER)) {
          sent = true;
          s.write(BANNER);
          s.write(encodeFrame({ type: 'hello', v: 1, nodeId: 'abcdefabcdefabcd', name: 'mute', listen: '127.0.0.1:1' }));
          resolve(s);
        }
      });
      s.on('error', () => undefined);
    });
    await until('connected', () => a.peers.byNodeId('abcdefabcdefabcd')?.state === 'connected');
    s_pause(sock);
    await until('presumed dead', () => a.peers.byNodeId('abcdefabcdefabcd')?.state === 'inactive', 3000);
    assert.match(a.peers.byNodeId('abcdefabcdefabcd')?.lastError ?? '', /presumed dead/);
    sock.destroy();
  });
});

/** Stops reading so that the node's pings go unanswered. */
function s_pause(s: net.Socket): void {
  s.removeAllListeners('data');
  s.pause();
}
