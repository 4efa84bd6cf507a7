/**
 * Two or three nodes over an in-memory network with fake timers: the native layer's handshake,
 * the duplicate-dial tie-break, reconnect backoff and the outbox, with no socket and no real wait.
 */
import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ChatMessage } from '../../src/core/chatTypes';
import { Limits } from '../../src/core/limits';
import { PeerNode } from '../../src/core/node';
import { MemoryStore } from '../../src/core/store';
import { advanceUntil, MemoryNetwork, memorySend, settle } from '../support/memoryTransport';

const clock = mock.timers;
const nodes: PeerNode[] = [];

function node(name: string, net: MemoryNetwork, port = 0, limits: Partial<Limits> = {}, store = new MemoryStore()): PeerNode {
  const n = new PeerNode({ host: '127.0.0.1', port, name, advertisedIp: '127.0.0.1', transport: net.transport(), store, limits });
  nodes.push(n);
  return n;
}
const addr = (n: PeerNode) => `127.0.0.1:${n.listeningPort}`;
const received = (n: PeerNode, text: string) => n.getHistory().filter((m) => m.direction === 'in' && m.text === text);
const stateOf = (n: PeerNode, m: ChatMessage) => n.getHistory().find((x) => x.id === m.id)?.state;

describe('native layer in memory, fake clock', () => {
  beforeEach(() => clock.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 }));
  afterEach(async () => {
    for (const n of nodes.splice(0)) await settle(clock, n.stop());
    clock.reset();
  });

  it('handshake: a connect finds the banner, both sides list each other as native and connected', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net);
    const b = node('ben', net);
    await settle(clock, a.start());
    await settle(clock, b.start());
    const r = await settle(clock, a.connect(addr(b)));
    assert.deepEqual(r, { peer: addr(b), ok: true, error: undefined });
    assert.equal(a.activeResources().sessions, 1);
    assert.equal(b.activeResources().sessions, 1);
    const ben = a.peers.get(addr(b));
    assert.equal(ben?.protocol, 'native');
    assert.equal(ben?.nodeId, b.nodeId);
    assert.equal(ben?.state, 'connected');
    assert.equal(b.peers.byNodeId(a.nodeId)?.state, 'connected');
    assert.equal(b.peers.byNodeId(a.nodeId)?.address, addr(a), 'listed under the address its hello names');
  });

  it('a message goes out, is acknowledged (delivered) and shown once on the other side', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net);
    const b = node('ben', net);
    await settle(clock, a.start());
    await settle(clock, b.start());
    await settle(clock, a.connect(addr(b)));
    const { message } = await settle(clock, a.send(`node:${b.nodeId}`, 'hola'));
    await advanceUntil(clock, 'delivered', () => stateOf(a, message) === 'delivered');
    assert.equal(received(b, 'hola').length, 1);
    assert.equal(received(b, 'hola')[0].conversation, `node:${a.nodeId}`);
    b.markRead(`node:${a.nodeId}`);
    await advanceUntil(clock, 'read', () => stateOf(a, message) === 'read');
  });

  it('simultaneous dials: one session survives on each side, the same one, and messages go both ways once', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net);
    const b = node('ben', net);
    await settle(clock, a.start());
    await settle(clock, b.start());
    const [ra, rb] = await settle(clock, Promise.all([a.connect(addr(b)), b.connect(addr(a))]));
    assert.equal(ra.ok, true, ra.error);
    assert.equal(rb.ok, true, rb.error);
    await advanceUntil(clock, 'one session each', () => a.activeResources().sessions === 1 && b.activeResources().sessions === 1 && a.activeResources().handshaking === 0 && b.activeResources().handshaking === 0);
    assert.equal(net.dials.filter((d) => d.accepted).length, 2, 'both sides dialed');
    const x = await settle(clock, a.send(`node:${b.nodeId}`, 'from ana'));
    const y = await settle(clock, b.send(`node:${a.nodeId}`, 'from ben'));
    await advanceUntil(clock, 'both delivered', () => stateOf(a, x.message) === 'delivered' && stateOf(b, y.message) === 'delivered');
    assert.equal(received(b, 'from ana').length, 1);
    assert.equal(received(a, 'from ben').length, 1);
    assert.equal(a.peers.get(addr(b))?.state, 'connected');
    assert.equal(b.peers.get(addr(a))?.state, 'connected');
  });

  it('reconnect: a wanted peer that went away is redialed with growing, capped delays, and the session comes back', async () => {
    const net = new MemoryNetwork();
    const limits = { reconnectBaseMs: 1_000, reconnectMaxMs: 8_000 };
    const a = node('ana', net, 0, limits);
    const b = node('ben', net, 47_500);
    await settle(clock, a.start());
    await settle(clock, b.start());
    assert.equal((await settle(clock, a.connect(addr(b)))).ok, true);
    const before = net.dials.length;
    await settle(clock, b.stop());
    await advanceUntil(clock, 'ana sees ben gone', () => a.activeResources().sessions === 0);
    assert.equal(a.peers.get(addr(b))?.state, 'inactive');
    // 40 s of fake time with ben away: ana keeps trying, less and less often, never more than the cap.
    const start = Date.now();
    await advanceUntil(clock, '40 s passed', () => Date.now() - start >= 40_000, 41_000, 50);
    const tries = net.dials.slice(before).filter((d) => d.port === 47_500);
    assert.ok(tries.length >= 5 && tries.length <= 12, `${tries.length} redials in 40 s`);
    const gaps = tries.slice(1).map((d, i) => d.at - tries[i].at);
    // base 1 s doubling with ±50 % jitter, capped at 8 s (+50 %): the last gaps are long ones.
    assert.ok(gaps.every((g) => g <= 8_000 * 1.5 + 500), `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[gaps.length - 1] >= 4_000 * 0.5, `the delays grew: ${gaps.join(', ')}`);
    assert.ok(gaps[0] <= 2_000 * 1.5 + 500, `the first redial comes soon: ${gaps.join(', ')}`);
    await settle(clock, b.start());
    const waited = await advanceUntil(clock, 'session back', () => a.activeResources().sessions === 1, 20_000, 50);
    assert.ok(waited <= 8_000 * 1.5 + 1_000, `back within one capped delay (${waited} ms)`);
    assert.equal(a.peers.get(addr(b))?.state, 'connected');
  });

  it('disconnect: no redial after the user disconnects, and the peer is told (bye)', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net, 0, { reconnectBaseMs: 1_000, reconnectMaxMs: 2_000 });
    const b = node('ben', net, 47_501);
    await settle(clock, a.start());
    await settle(clock, b.start());
    await settle(clock, a.connect(addr(b)));
    await settle(clock, a.disconnect(`node:${b.nodeId}`, true));
    await advanceUntil(clock, 'ben hears bye', () => b.getHistory().some((m) => m.direction === 'system' && /ana .* disconnected/.test(m.text)));
    const dials = net.dials.length;
    const start = Date.now();
    await advanceUntil(clock, '10 s passed', () => Date.now() - start >= 10_000, 11_000, 50);
    assert.equal(net.dials.length, dials, 'nobody redialed');
    assert.equal(a.activeResources().sessions + b.activeResources().sessions, 0);
    assert.equal(a.peers.get(addr(b))?.wanted, false);
  });

  it('outbox: a message to an absent peer waits (queued), goes when it is back, exactly once', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net, 0, { reconnectBaseMs: 500, reconnectMaxMs: 2_000 });
    const storeB = new MemoryStore();
    const b = node('ben', net, 47_502, {}, storeB);
    await settle(clock, a.start());
    await settle(clock, b.start());
    await settle(clock, a.connect(addr(b)));
    await settle(clock, b.stop());
    await advanceUntil(clock, 'ben away', () => a.activeResources().sessions === 0);
    const { message, result } = await settle(clock, a.send(`node:${b.nodeId}`, 'while you were out'));
    assert.equal(result.queued, true);
    assert.equal(stateOf(a, message), 'queued');
    assert.equal(a.outboxEntries().length, 1);
    await settle(clock, b.start());
    await advanceUntil(clock, 'delivered', () => stateOf(a, message) === 'delivered', 10_000, 50);
    assert.equal(received(b, 'while you were out').length, 1);
    assert.equal(a.outboxEntries().length, 0);
    // A second session later resends nothing: the receipt emptied the outbox.
    await settle(clock, b.stop());
    await advanceUntil(clock, 'ben away again', () => a.activeResources().sessions === 0);
    await settle(clock, b.start());
    await advanceUntil(clock, 'back again', () => a.activeResources().sessions === 1, 10_000, 50);
    assert.equal(received(b, 'while you were out').length, 1);
  });

  it('a node id learned from a third party is a hint, not a pin: the real key at that address is accepted', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net);
    const m = node('mallory', net);
    const c = node('cho', net, 47_504);
    await settle(clock, a.start());
    await settle(clock, m.start());
    // Mallory tells whoever connects that a node of her making lives at cho's address.
    const fake = 'ff'.repeat(32);
    m.peers.upsert({ host: '127.0.0.1', port: 47_504 }, { nodeId: fake, protocol: 'native', state: 'known', name: 'cho' });
    await settle(clock, a.connect(addr(m)));
    await advanceUntil(clock, 'ana learns the fake', () => a.peers.get('127.0.0.1:47504')?.nodeId === fake);
    await settle(clock, c.start());
    const r = await settle(clock, a.connect('127.0.0.1:47504'));
    assert.equal(r.ok, true, r.error);
    const rec = a.peers.get('127.0.0.1:47504');
    assert.equal(rec?.nodeId, c.nodeId, 'the proven key replaced the learned one');
    assert.equal(rec?.newIdentity, undefined, 'no "new identity" warning for a key that was never proven there');
    assert.equal(rec?.proven, true);
  });

  it("a new key under a known peer's name is another peer: a warning on its own row, nothing queued for the known one goes to it", async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net);
    const b = node('ben', net, 47_505);
    const impostor = node('ben', net, 47_506);
    await settle(clock, a.start());
    await settle(clock, b.start());
    await settle(clock, a.connect(addr(b)));
    await settle(clock, b.stop());
    await advanceUntil(clock, 'ben away', () => a.activeResources().sessions === 0);
    const { message } = await settle(clock, a.send(`node:${b.nodeId}`, 'for the real ben'));
    await settle(clock, impostor.start());
    await settle(clock, impostor.connect(addr(a)));
    await advanceUntil(clock, 'the impostor listed', () => !!a.peers.byNodeId(impostor.nodeId));
    const views = a.peerViews();
    const real = views.find((p) => p.nodeId === b.nodeId);
    const other = views.find((p) => p.nodeId === impostor.nodeId);
    assert.equal(other?.identityChanged, true, 'the newcomer is flagged');
    assert.notEqual(other?.address, real?.address, 'its own row');
    assert.equal(real?.identityChanged, undefined, 'the known peer is untouched');
    assert.ok(a.getHistory().some((m) => m.direction === 'system' && /not the key you talked to before under that name/.test(m.text)));
    assert.equal(received(impostor, 'for the real ben').length, 0);
    assert.equal(stateOf(a, message), 'queued');
    a.trustNewIdentity(other!.address);
    assert.equal(a.peerViews().find((p) => p.nodeId === impostor.nodeId)?.identityChanged, undefined, 'accepted by the user');
  });

  it("peer exchange: a neighbour's list adds at most maxLearnedPeers, and its last-seen times are not believed", async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net, 0, { maxLearnedPeers: 10, maxAutoConnect: 0 });
    const m = node('mallory', net);
    await settle(clock, a.start());
    await settle(clock, m.start());
    const future = Date.now() + 365 * 86_400_000;
    for (let i = 0; i < 30; i++) m.peers.upsert({ host: '127.0.0.1', port: 40_000 + i }, { nodeId: (i + 1).toString(16).padStart(64, 'a'), protocol: 'native', state: 'known', name: `fake${i}`, lastSeen: future });
    await settle(clock, a.connect(addr(m)));
    await advanceUntil(clock, 'ana learned what she takes', () => a.peerViews().filter((p) => /^fake/.test(p.name)).length === 10);
    // One peers frame is read in one go: once ten are in, the other twenty were read and refused.
    await settle(clock, m.stop());
    const learned = a.peerViews().filter((p) => /^fake/.test(p.name));
    assert.equal(learned.length, 10);
    assert.ok(learned.every((p) => (p.lastSeen ?? 0) < future), 'no far-future last seen');
  });

  it('a silent session is dropped after deadAfterMs and the peer marked inactive', async () => {
    const net = new MemoryNetwork();
    const limits = { heartbeatMs: 1_000, deadAfterMs: 3_000 };
    const a = node('ana', net, 0, limits);
    const b = node('ben', net, 47_503, limits);
    await settle(clock, a.start());
    await settle(clock, b.start());
    await settle(clock, a.connect(addr(b)));
    // Heartbeats keep a quiet but live session up well past deadAfterMs.
    const start = Date.now();
    await advanceUntil(clock, '10 s of quiet', () => Date.now() - start >= 10_000, 11_000, 50);
    assert.equal(a.activeResources().sessions, 1);
    assert.equal(a.peers.get(addr(b))?.state, 'connected');
    // Now nothing gets through, and no side is told: both give up after deadAfterMs, not before.
    net.silent = true;
    const cut = Date.now();
    const waited = await advanceUntil(clock, 'ana drops the dead session', () => a.activeResources().sessions === 0, 10_000, 50);
    assert.ok(waited >= 3_000 - 50 && waited <= 3_000 + 1_000 + 100, `dropped ${Date.now() - cut} ms after the cut`);
    assert.equal(a.peers.get(addr(b))?.state, 'inactive');
    assert.match(a.peers.get(addr(b))?.lastError ?? '', /presumed dead/);
  });
});

describe('classic messages from other machines (memory network, fake clock)', () => {
  beforeEach(() => clock.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 }));
  afterEach(async () => {
    for (const n of nodes.splice(0)) await settle(clock, n.stop());
    clock.reset();
  });
  const shown = (n: PeerNode, text: string) => () => n.getHistory().some((m) => m.text === text);

  it('an exit naming another machine is ignored (logged); the peer itself can still leave', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net, 47_600);
    const logs: string[] = [];
    a.on('log', (_l, t) => logs.push(t));
    await settle(clock, a.start());
    memorySend(net, '192.0.2.20', 47_600, '192.0.2.20:5000 carol hello');
    await advanceUntil(clock, 'carol known', shown(a, 'hello'));
    memorySend(net, '192.0.2.66', 47_600, '192.0.2.20:5000 mallory exit');
    memorySend(net, '192.0.2.66', 47_600, '192.0.2.66:6000 mallory marker');
    await advanceUntil(clock, 'the marker after the forged exit', shown(a, 'marker'));
    assert.notEqual(a.peers.get('192.0.2.20:5000')?.state, 'gone', 'carol stays');
    assert.ok(logs.some((l) => /ignored exit from 192\.0\.2\.66:\d+ naming 192\.0\.2\.20:5000/.test(l)), logs.join('\n'));
    memorySend(net, '192.0.2.20', 47_600, '192.0.2.20:5000 carol exit');
    await advanceUntil(clock, 'carol gone', () => a.peers.get('192.0.2.20:5000')?.state === 'gone');
  });

  it('a header that renames a known peer says so in a system line', async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net, 47_601);
    await settle(clock, a.start());
    memorySend(net, '192.0.2.21', 47_601, '192.0.2.21:5000 dave hello');
    await advanceUntil(clock, 'dave known', shown(a, 'hello'));
    memorySend(net, '192.0.2.21', 47_601, '192.0.2.21:5000 root sudo make me a sandwich');
    await advanceUntil(clock, 'the renamed message', shown(a, 'sudo make me a sandwich'));
    assert.ok(a.getHistory().some((m) => m.direction === 'system' && m.text === 'dave (192.0.2.21:5000) is now called root'));
  });

  it("a headerless sender's message carries the connection's address until it tells its port", async () => {
    const net = new MemoryNetwork();
    const a = node('ana', net, 47_602);
    await settle(clock, a.start());
    memorySend(net, '192.0.2.30', 47_602, 'Team7 : hello from no port');
    await advanceUntil(clock, 'the headerless message', shown(a, 'hello from no port'));
    const m = a.getHistory().find((x) => x.text === 'hello from no port');
    assert.match(m?.peer ?? '', /^192\.0\.2\.30:\d+$/);
  });
});

