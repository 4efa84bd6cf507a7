// Fair shares of the native port (issue 12): strangers from one address, or from many, cannot
// take every session slot, sockets that never finish a handshake cannot hold the door shut, a
// flooding session is slowed without losing anything, and every refusal is logged. Real nodes
// and real TLS on loopback; the attackers use other 127.0.0.x source addresses.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { admitSession, refuseHandshake, strangerSlots } from '../../src/core/native/admission';
import type { ChatFrame } from '../../src/core/native/frames';
import { PROTOCOL_VERSION } from '../../src/core/native/frames';
import { DEFAULT_LIMITS, Limits } from '../../src/core/limits';
import { NodeOptions, PeerNode } from '../../src/core/node';
import { FakeNativePeer, fakeNativePeer, FakeNativeOptions } from '../support/fakeNativePeer';
import { TestNodes } from '../support/testNodes';
import { until } from '../support/until';

const nodes = new TestNodes();
const fakes: FakeNativePeer[] = [];
after(async () => {
  for (const f of fakes) f.socket.destroy();
  await nodes.stopAll();
});

const node = (name: string, limits: Partial<Limits> = {}, o: Partial<NodeOptions> = {}) => nodes.start(name, { ...o, limits: { ...limits, ...o.limits } });
const logOf = (n: PeerNode) => nodes.logOf(n);
const addr = (n: PeerNode) => `127.0.0.1:${n.listeningPort}`;

/** A fake native peer from `localAddress` that says hello; resolves once the node took it or closed it. */
async function fakeSession(n: PeerNode, localAddress: string, o: FakeNativeOptions = {}): Promise<FakeNativePeer | undefined> {
  const f = await fakeNativePeer(n.listeningPort, { localAddress, ...o });
  if (!f) return undefined;
  fakes.push(f);
  f.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: f.nodeId, name: `fake-${fakes.length}`, listen: `${localAddress}:${9000 + fakes.length}` });
  await until('the node to take or close the fake session', () => f.closed() || n.peers.byNodeId(f.nodeId)?.state === 'connected');
  return f.closed() ? undefined : f;
}

describe('native admission rules', () => {
  const l = { ...DEFAULT_LIMITS, maxNativeSessions: 8, reservedNativeSessions: 2, maxNativePerAddress: 3 };
  it('keeps a reserve of at most a quarter of the sessions for the user\u2019s own peers', () => {
    assert.equal(strangerSlots(l), 6);
    assert.equal(strangerSlots({ ...l, reservedNativeSessions: 16 }), 6, 'a quarter of 8');
    assert.equal(strangerSlots(DEFAULT_LIMITS), 48);
  });
  it('decides by who the peer is and how many are in', () => {
    const stranger = { own: false, inbound: true };
    const own = { own: true, inbound: false };
    assert.equal(admitSession(l, { sessions: 2, strangers: 2, strangersFromIp: 2 }, stranger).kind, 'admit');
    assert.match((admitSession(l, { sessions: 3, strangers: 3, strangersFromIp: 3 }, stranger) as { reason: string }).reason, /3 native sessions from this address/);
    assert.equal(admitSession(l, { sessions: 3, strangers: 3, strangersFromIp: 3 }, { own: false, inbound: false }).kind, 'admit', 'the per-address share is for accepted connections');
    assert.match((admitSession(l, { sessions: 6, strangers: 6, strangersFromIp: 0 }, stranger) as { reason: string }).reason, /all 6 native sessions for unknown peers/);
    assert.equal(admitSession(l, { sessions: 6, strangers: 6, strangersFromIp: 0 }, own).kind, 'admit', 'the reserve');
    assert.equal(admitSession(l, { sessions: 8, strangers: 6, strangersFromIp: 0 }, own).kind, 'evict', 'full: a stranger makes room');
    assert.equal(admitSession(l, { sessions: 8, strangers: 0, strangersFromIp: 0 }, own).kind, 'refuse', 'full of own peers');
  });
  it('caps handshakes per address and in all', () => {
    const h = { ...l, maxNativeHandshakes: 5, maxNativeHandshakesPerAddress: 2 };
    assert.equal(refuseHandshake(h, { pendingInbound: 1, pendingFromIp: 1 }), undefined);
    assert.match(refuseHandshake(h, { pendingInbound: 2, pendingFromIp: 2 }) ?? '', /2 handshakes from this address/);
    assert.match(refuseHandshake(h, { pendingInbound: 5, pendingFromIp: 0 }) ?? '', /5 handshakes already/);
  });
});

describe('fair shares of the native port', () => {
  it('20 fake ids from one address get a few sessions; a real peer from another still connects, and the refusals are logged', async () => {
    const a = await node('fa', { maxNativeSessions: 16 });
    const b = await node('fb');
    let taken = 0;
    for (let i = 0; i < 20; i++) if (await fakeSession(a, '127.0.0.2')) taken++;
    assert.equal(taken, DEFAULT_LIMITS.maxNativePerAddress, `${taken} fake sessions from 127.0.0.2 were taken`);
    assert.equal(a.activeResources().sessions, DEFAULT_LIMITS.maxNativePerAddress);
    await until('a log line about the refusals', () => logOf(a).find((t) => /refused a native connection from 127\.0\.0\.2/.test(t) && /from this address/.test(t)));
    const r = await b.connect(addr(a));
    assert.equal(r.ok, true, `the real peer could not connect: ${r.error}`);
    await until('the real peer connected natively', () => a.peers.byNodeId(b.nodeId)?.state === 'connected');
  });

  it('strangers from many addresses cannot lock out a peer the user connects to: one of them makes room', async () => {
    const a = await node('ra', { maxNativeSessions: 4, reservedNativeSessions: 0 });
    const b = await node('rb');
    const strangers: FakeNativePeer[] = [];
    for (let i = 2; i <= 6; i++) {
      const f = await fakeSession(a, `127.0.0.${i}`);
      if (f) strangers.push(f);
    }
    assert.equal(strangers.length, 4, 'the four slots were filled by strangers, the fifth refused');
    const r = await a.connect(addr(b));
    assert.equal(r.ok, true, `the user's own connect failed: ${r.error}`);
    assert.equal(a.peers.get(addr(b))?.state, 'connected');
    await until('one stranger closed', () => strangers.filter((f) => f.closed()).length === 1);
    assert.ok(logOf(a).find((t) => t.includes(`closed to make room for ${addr(b)}`)), 'the eviction was not logged');
    assert.equal(a.activeResources().sessions, 4);
  });

  it('sockets that never finish a handshake hold a few slots per address, only for handshakeMs; others get in', async () => {
    const a = await node('ha', { handshakeMs: 600 });
    const b = await node('hb');
    const stalled = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        // Half stop after the banner (no TLS), half after TLS (no hello).
        const f = await fakeNativePeer(a.listeningPort, { localAddress: '127.0.0.3', tls: i % 2 === 0 ? false : undefined });
        if (f) fakes.push(f);
        return f;
      }),
    );
    await until('the handshakes over the cap refused', () => stalled.filter((f) => !f || f.closed()).length >= 12 - DEFAULT_LIMITS.maxNativeHandshakesPerAddress);
    assert.ok(a.activeResources().handshaking <= DEFAULT_LIMITS.maxNativeHandshakesPerAddress, `${a.activeResources().handshaking} handshakes held`);
    assert.ok(logOf(a).find((t) => /refused a native connection from 127\.0\.0\.3: 4 handshakes from this address/.test(t)), 'the refusal was not logged');
    const r = await b.connect(addr(a));
    assert.equal(r.ok, true, `a real peer could not connect while the handshakes were held: ${r.error}`);
    await until('every stalled handshake timed out', () => stalled.every((f) => !f || f.closed()), 5000);
    assert.equal(a.activeResources().handshaking, 0);
  });

  it('a session that floods chat frames is slowed, logged once, and loses nothing', async () => {
    const a = await node('sa', { nativeFramesPerSecond: 200 });
    const f = await fakeSession(a, '127.0.0.4');
    assert.ok(f);
    const N = 1200; // 400 in the burst, then 200/s: about 4 s of slowed reading
    const ids = Array.from({ length: N }, () => randomUUID());
    const frames = ids.map((id, i): ChatFrame => ({ type: 'chat', id, origin: f.nodeId, originName: 'flooder', ts: Date.now(), conv: 'direct', text: `m${i}`, hops: 0 }));
    for (const fr of frames) f.send(fr);
    await until('the node to say it slows the peer', () => logOf(a).find((t) => /native peer at 127\.0\.0\.4 sends faster than one session may send 200 frames/.test(t)), 3000);
    assert.ok(a.getHistory().filter((m) => m.peer && m.text.startsWith('m')).length < N, 'everything arrived at once: nothing was slowed');
    await until('every flood frame in history', () => a.getHistory().filter((m) => m.text.startsWith('m') && m.direction === 'in').length === N, 15_000);
    assert.equal(f.closed(), false, 'the slowed session was cut');
    assert.equal(logOf(a).filter((t) => /sends faster than/.test(t)).length, 1, 'the slowing is logged once per window');
  });
});
