// Block Peer (issue 12): the block list's parsing and matching, and a running node that enforces
// it on real sockets on 127.0.0.x: a blocked IP is closed at accept (classic and native), a
// blocked node id right after TLS, a blocked address is never shown nor dialed (send, connect,
// a dial-back, peer exchange, reconnects), and the list survives a restart.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Identity } from '../../src/core/identity/identity';
import { ChatFrame, PROTOCOL_VERSION } from '../../src/core/native/frames';
import { signChat } from '../../src/core/native/signing';
import { NodeOptions, PeerNode } from '../../src/core/node';
import { BlockList, canonicalIp, parseBlockTarget } from '../../src/core/peers/blocklist';
import { FileStore, MemoryStore } from '../../src/core/store';
import { FakeNativePeer, fakeNativePeer } from '../support/fakeNativePeer';
import { rawSend } from '../support/rawSend';
import { removeTmpDirs, tmpDir } from '../support/tmpDir';
import { until } from '../support/until';
import { silentClient } from '../support/silentClient';

const HOST = '127.0.0.1';
const OTHER = '127.0.0.2'; // Linux loopback answers the whole 127/8: a second source address
const live: PeerNode[] = [];
const fakes: FakeNativePeer[] = [];
const servers: net.Server[] = [];
after(async () => {
  for (const f of fakes) f.raw.destroy();
  await Promise.all(live.map((n) => n.stop()));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  removeTmpDirs();
});

async function node(name: string, o: Partial<NodeOptions> = {}): Promise<{ n: PeerNode; logs: string[] }> {
  const n = new PeerNode({ host: HOST, port: 0, name, advertisedIp: HOST, ...o, limits: { probeWaitMs: 200, reconnectBaseMs: 50, reconnectMaxMs: 200, ...o.limits } });
  const logs: string[] = [];
  n.on('log', (_level, text) => logs.push(text));
  live.push(n);
  await n.start();
  return { n, logs };
}

/** A TCP server that counts the connections made to it (a classic receiver that never answers). */
async function counter(): Promise<{ port: number; addr: string; connections: () => number }> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.on('error', () => undefined);
    s.destroy();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, addr: `${HOST}:${port}`, connections: () => count };
}

function hello(f: FakeNativePeer, listen: string, name = 'fake') {
  return { type: 'hello', v: PROTOCOL_VERSION, nodeId: f.nodeId, name, listen };
}

const texts = (n: PeerNode) => n.getHistory().map((m) => m.text);

describe('block list: parsing and matching', () => {
  const id = 'ab'.repeat(32);
  const cases: [string, string, string][] = [
    ['127.0.0.2', 'ip', '127.0.0.2'],
    [' 10.0.0.5 ', 'ip', '10.0.0.5'],
    ['::ffff:10.0.0.5', 'ip', '10.0.0.5'],
    ['0:0:0:0:0:0:0:1', 'ip', '::1'],
    ['[FE80:0:0::1]', 'ip', 'fe80::1'],
    ['2001:DB8::0:1', 'ip', '2001:db8::1'],
    ['10.0.0.5:5000', 'address', '10.0.0.5:5000'],
    ['[::FFFF:10.0.0.5]:5000', 'address', '10.0.0.5:5000'],
    ['[2001:db8:0::1]:80', 'address', '[2001:db8::1]:80'],
    ['Lab-PC.local:47100', 'address', 'lab-pc.local:47100'],
    [id.toUpperCase(), 'node', id],
    [`node:${id}`, 'node', id],
  ];
  for (const [input, kind, value] of cases) {
    it(`reads ${JSON.stringify(input)} as ${kind} ${value}`, () => assert.deepEqual(parseBlockTarget(input), { kind, value }));
  }

  for (const bad of ['', 'hello', '10.0.0.5:0', '10.0.0.5:70000', '999.1.1.1', 'node:abc', 'ab'.repeat(31), '1.2.3']) {
    it(`refuses ${JSON.stringify(bad)} with what it expects`, () => assert.throws(() => parseBlockTarget(bad), (e: Error & { code?: string }) => e.code === 'ERR_BAD_INPUT' && /expected/.test(e.message)));
  }

  it('matches an IP against connections and every address on it; an address only itself; a node id by id', () => {
    const l = new BlockList(10);
    l.add(parseBlockTarget('10.0.0.5'), 1);
    l.add(parseBlockTarget('10.0.0.9:5000'), 1);
    l.add(parseBlockTarget(id), 1);
    assert.equal(l.match({ ip: '::ffff:10.0.0.5' })?.kind, 'ip');
    assert.equal(l.match({ address: '10.0.0.5:1234' })?.kind, 'ip', 'a blocked IP covers all its ports');
    assert.equal(l.match({ address: '10.0.0.9:5000' })?.kind, 'address');
    assert.equal(l.match({ address: '[::ffff:10.0.0.9]:5000' })?.kind, 'address');
    assert.equal(l.match({ address: '10.0.0.9:5001' }), undefined);
    assert.equal(l.match({ ip: '10.0.0.9' }), undefined, 'an address entry does not block its whole IP');
    assert.equal(l.match({ nodeId: id.toUpperCase() })?.kind, 'node');
    assert.equal(l.match({ nodeId: 'cd'.repeat(32), ip: '10.0.0.1', address: '10.0.0.1:1' }), undefined);
    assert.ok(BlockList.covers(parseBlockTarget('10.0.0.5'), { address: '10.0.0.5:7', host: '10.0.0.5' }));
    assert.ok(BlockList.covers(parseBlockTarget(id), { address: '1.2.3.4:5', host: '1.2.3.4', nodeId: id }));
    assert.equal(canonicalIp('not an ip'), undefined);
  });

  it('is bounded: past its cap it refuses with a clear error; the same entry twice is one', () => {
    const l = new BlockList(2);
    l.add(parseBlockTarget('10.0.0.1'), 1);
    l.add(parseBlockTarget('10.0.0.1'), 2);
    l.add(parseBlockTarget('10.0.0.2'), 1);
    assert.equal(l.size, 2);
    assert.throws(() => l.add(parseBlockTarget('10.0.0.3'), 1), /at most 2 entries/);
  });

  it('restores only well-formed entries from storage', () => {
    const l = new BlockList(10);
    l.restore([{ kind: 'ip', value: '10.0.0.1', added: 5 }, { kind: 'ip', value: 'nonsense' }, { kind: 'node', value: 'xyz' }, null, { kind: 'weird', value: '1.1.1.1' }, { kind: 'address', value: '10.0.0.1' }]);
    assert.deepEqual(l.list().map((e) => `${e.kind} ${e.value} ${e.added}`), ['ip 10.0.0.1 5']);
  });
});

describe('block list: a running node', () => {
  it('a blocked IP is closed at accept, classic and native; 127.0.0.1 still gets through', async () => {
    const { n, logs } = await node('ana');
    const r = n.block(OTHER);
    assert.equal(r.target, OTHER);
    const port = n.listeningPort;
    // Classic: a silent client from the blocked IP gets no banner (100 ms) and is closed (not
    // after the 10 s idle limit); its message is never shown.
    const silent = await silentClient(HOST, port, OTHER, 3000);
    assert.deepEqual(silent, { closed: true, bytes: 0 }, 'closed at accept, nothing written');
    await rawSend(port, `${HOST}:5001 mallory from the blocked ip`, { localAddress: OTHER });
    const native = await fakeNativePeer(port, { localAddress: OTHER, bannerTimeoutMs: 1000 });
    if (native) fakes.push(native);
    assert.equal(native, undefined, 'a native client from the blocked IP gets no banner');
    // The same from 127.0.0.1 works, after the blocked ones: they were handled by then.
    await rawSend(port, `${HOST}:5002 carol still welcome`);
    await until('the message from 127.0.0.1', () => texts(n).includes('still welcome'));
    const ok = await fakeNativePeer(port, { localAddress: HOST });
    assert.ok(ok, 'a native client from 127.0.0.1 gets the banner and TLS');
    fakes.push(ok);
    assert.ok(!texts(n).includes('from the blocked ip'), 'nothing from the blocked IP is shown');
    assert.deepEqual(n.peerViews().map((p) => p.address), [`${HOST}:5002`]);
    assert.equal(logs.filter((l) => /refused a connection from 127\.0\.0\.2: 127\.0\.0\.2 is blocked/.test(l)).length, 1, `logged once per window: ${JSON.stringify(logs)}`);
  });

  it('blocking an IP closes its open connections and its native session, and takes its peers out of the view', async () => {
    const { n } = await node('ana');
    const f = await fakeNativePeer(n.listeningPort, { localAddress: OTHER });
    assert.ok(f);
    fakes.push(f);
    f.send(hello(f, `${OTHER}:5003`, 'mallory'));
    await until('mallory listed', () => n.peerViews().some((p) => p.name === 'mallory'));
    const r = n.block(OTHER);
    assert.deepEqual(r.removed, [`${OTHER}:5003`]);
    assert.ok(await f.waitClose(3000), 'its session is closed');
    assert.ok(!n.peerViews().some((p) => p.name === 'mallory'));
    assert.equal(n.activeResources().sessions, 0);
  });

  it('a blocked node id is refused right after TLS, whatever address it comes from', async () => {
    // A long handshake allowance: a close within 3 s is the refusal, not a handshake timeout.
    const { n, logs } = await node('ana', { limits: { handshakeMs: 30_000 } });
    const identity = Identity.create();
    n.block(identity.nodeId);
    const f = await fakeNativePeer(n.listeningPort, { identity });
    assert.ok(f, 'the TCP connection and TLS are accepted: the key is proven first');
    fakes.push(f);
    assert.ok(await f.waitClose(3000), 'then the node closes it, before any hello');
    assert.ok(!f.frames().some((x) => (x as { type?: string }).type === 'hello'), 'without saying hello');
    // Another key from the same address gets a session: only that key is blocked.
    const g = await fakeNativePeer(n.listeningPort);
    assert.ok(g);
    fakes.push(g);
    g.send(hello(g, `${HOST}:5005`, 'gus'));
    await g.waitFrame((x: { type?: string }) => x.type === 'hello', 'the hello of the node to an unblocked key');
    await until('gus listed', () => n.peerViews().some((p) => p.name === 'gus'));
    assert.ok(!n.peerViews().some((p) => p.name === 'eve'));
    assert.ok(!n.getHistory().some((m) => /eve/.test(m.text)), 'no system line about it');
    assert.ok(logs.some((l) => l.includes(`node:${identity.nodeId} is blocked`)), JSON.stringify(logs));
  });

  it('a native node whose hello names a blocked address is refused', async () => {
    const { n } = await node('ana');
    n.block(`${HOST}:5006`);
    const f = await fakeNativePeer(n.listeningPort);
    assert.ok(f);
    fakes.push(f);
    f.send(hello(f, `${HOST}:5006`, 'addr'));
    assert.ok(await f.waitClose(3000));
    assert.equal(n.peerViews().length, 0);
  });

  it('a blocked HOST:PORT is never shown nor dialed: send, connect, a dial-back, peer exchange', async () => {
    const blocked = await counter();
    const control = await counter();
    const { n, logs } = await node('ana');
    n.block(blocked.addr);
    await assert.rejects(n.send(blocked.addr, 'hi'), (e: Error & { code?: string }) => e.code === 'ERR_BLOCKED' && e.message.includes(`${blocked.addr} is blocked`) && /unblock/i.test(e.message));
    await assert.rejects(n.connect(blocked.addr), (e: Error & { code?: string }) => e.code === 'ERR_BLOCKED');
    // A classic message claiming the blocked address in its header: dropped, and its `connect`
    // (which asks for a dial-back) dials nothing.
    await rawSend(n.listeningPort, `${blocked.addr} mallory connect`);
    await rawSend(n.listeningPort, `${blocked.addr} mallory claimed text`);
    await rawSend(n.listeningPort, `${HOST}:5007 carol marker`);
    await until('the marker', () => texts(n).includes('marker'));
    assert.ok(!texts(n).some((t) => /claimed text|mallory/.test(t)), JSON.stringify(texts(n)));
    // Peer exchange names the blocked address (first) and another one: only the other is learned and dialed.
    const f = await fakeNativePeer(n.listeningPort);
    assert.ok(f);
    fakes.push(f);
    f.send(hello(f, `${HOST}:5008`, 'friend'));
    await f.waitFrame((x: { type?: string }) => x.type === 'hello', 'hello');
    const ids = [Identity.create().nodeId, Identity.create().nodeId];
    f.send({ type: 'peers', peers: [{ nodeId: ids[0], address: blocked.addr, name: 'blocked-one' }, { nodeId: ids[1], address: control.addr, name: 'control-one' }] });
    await until('the other learned peer dialed', () => control.connections() > 0 && n.activeResources().dialing === 0, 3000);
    assert.equal(blocked.connections(), 0, 'the blocked address got no connection');
    assert.ok(n.peerViews().some((p) => p.name === 'control-one'));
    assert.equal(n.peers.get(blocked.addr), undefined, 'not learned');
    assert.ok(logs.some((l) => l.includes(`${blocked.addr} is blocked`)), JSON.stringify(logs));
  });

  it('blocking a wanted native peer closes its session, stops redials, refuses its dials; unblock brings it back', async () => {
    const a = await node('ana');
    const b = await node('ben');
    const bAddr = `${HOST}:${b.n.listeningPort}`;
    assert.ok((await a.n.connect(bAddr)).ok);
    await until('session', () => b.n.activeResources().sessions === 1);
    const r = a.n.block(`node:${b.n.nodeId}`);
    assert.deepEqual(r.removed, [bAddr]);
    await until('both sessions closed', () => a.n.activeResources().sessions === 0 && b.n.activeResources().sessions === 0);
    assert.equal(a.n.peerViews().length, 0);
    assert.deepEqual(a.n.blocked().map((x) => x.target), [`node:${b.n.nodeId}`]);
    assert.equal(a.n.blocked()[0].label, 'ben');
    // Ben dials ana: TCP and TLS are accepted, then refused: no session, not listed.
    const back = await b.n.connect(`${HOST}:${a.n.listeningPort}`);
    assert.equal(back.ok, false);
    assert.equal(a.n.activeResources().sessions, 0);
    assert.equal(a.n.activeResources().dialing, 0);
    assert.equal(a.n.peerViews().length, 0);
    const restored = a.n.unblock(b.n.nodeId);
    assert.deepEqual(restored?.restored, [bAddr]);
    assert.equal(a.n.peerViews()[0]?.name, 'ben');
    assert.equal(a.n.blocked().length, 0);
    assert.equal(a.n.unblock(b.n.nodeId), undefined, 'a second unblock finds nothing');
    assert.ok((await a.n.connect(bAddr)).ok, 'after unblock it connects again');
  });

  it('an Everyone message of a blocked origin, relayed by a neighbour, is not shown (nor its origin listed)', async () => {
    const { n } = await node('ana');
    const eve = Identity.create();
    const zoe = Identity.create();
    n.block(eve.nodeId);
    const relay = await fakeNativePeer(n.listeningPort);
    assert.ok(relay);
    fakes.push(relay);
    relay.send(hello(relay, `${HOST}:5009`, 'relay'));
    await relay.waitFrame((x: { type?: string }) => x.type === 'hello', 'hello');
    const chat = (who: Identity, name: string, id: string, text: string, port: number): ChatFrame => {
      const f: ChatFrame = { type: 'chat', id, origin: who.nodeId, originName: name, originAddress: `${HOST}:${port}`, ts: Date.now(), conv: 'everyone', text, hops: 3 };
      return { ...f, ...signChat(f, who) };
    };
    relay.send(chat(eve, 'eve', 'blocked-1', 'from the blocked origin', 5010));
    relay.send(chat(zoe, 'zoe', 'allowed-1', 'from an allowed origin', 5011));
    await until('the allowed broadcast', () => texts(n).includes('from an allowed origin'));
    assert.ok(!texts(n).includes('from the blocked origin'));
    assert.equal(n.peers.byNodeId(eve.nodeId), undefined, 'its origin is not learned');
  });

  it('messages queued for a blocked node stay in the outbox until the user cancels them', async () => {
    const a = await node('ana');
    const b = await node('ben');
    assert.ok((await a.n.connect(`${HOST}:${b.n.listeningPort}`)).ok);
    await until('session', () => a.n.activeResources().sessions === 1);
    await b.n.shutdown();
    await until('ben away', () => a.n.activeResources().sessions === 0);
    const { message, result } = await a.n.send(`node:${b.n.nodeId}`, 'waits for ben');
    assert.ok(result.queued);
    const r = a.n.block(`node:${b.n.nodeId}`);
    assert.equal(r.queued, 1);
    assert.deepEqual(a.n.outboxEntries().map((e) => e.message.id), [message.id], 'still queued');
    assert.ok(a.n.cancel(message.id), 'and the user can cancel it');
  });

  it('refuses to block itself', async () => {
    const { n } = await node('ana');
    assert.throws(() => n.block(n.nodeId), /this node itself/);
    assert.throws(() => n.block(`${HOST}:${n.listeningPort}`), /this node itself/);
  });

  it('the list is stored (blocked.json, 0600) and comes back after a restart', async () => {
    const dir = tmpDir('peerchat-block-');
    const id = Identity.create().nodeId;
    const first = await node('ana', { store: new FileStore(dir, 100) });
    first.n.block(OTHER);
    first.n.block(`node:${id}`);
    first.n.block('[2001:db8::1]:80');
    await first.n.shutdown();
    const file = path.join(dir, 'blocked.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = await node('ana', { store: new FileStore(dir, 100) });
    assert.deepEqual(second.n.blocked().map((b) => b.target), [OTHER, `node:${id}`, '[2001:db8::1]:80']);
    assert.deepEqual(await silentClient(HOST, second.n.listeningPort, OTHER, 3000), { closed: true, bytes: 0 }, 'enforced after the restart');
    second.n.unblock(OTHER);
    await second.n.shutdown();
    const third = new PeerNode({ host: HOST, port: 0, name: 'ana', advertisedIp: HOST, store: new FileStore(dir, 100) });
    assert.deepEqual(third.blocked().map((b) => b.target), [`node:${id}`, '[2001:db8::1]:80']);
  });

  it('a peer that peers.json still holds (a crash before it was saved) is not restored, nor set a dialect', () => {
    const store = new MemoryStore();
    store.peers = [{ address: '10.1.2.3:5000', host: '10.1.2.3', port: 5000, name: 'old', source: 'message' }];
    store.blocked = [{ kind: 'ip', value: '10.1.2.3', added: 1 }];
    const n = new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store });
    assert.equal(n.peers.size, 0);
    assert.throws(() => n.setDialect('10.1.2.3:5000', 'json'), /is blocked/);
    assert.equal(n.peers.size, 0);
  });

  it('a MemoryStore keeps the list for the nodes built on it', () => {
    const store = new MemoryStore();
    new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store }).block('10.1.2.3');
    assert.deepEqual(new PeerNode({ host: HOST, port: 0, name: 'a', advertisedIp: HOST, store }).blocked().map((b) => b.target), ['10.1.2.3']);
  });
});
