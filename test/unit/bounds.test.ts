import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { LogThrottle } from '../../src/core/logThrottle';
import { PeerNode } from '../../src/core/node';
import { RateBudget } from '../../src/core/rateBudget';
import { MemoryStore } from '../../src/core/store';
import { TokenBuckets } from '../../src/core/tokenBuckets';

describe('log throttle', () => {
  it('says a repeated problem once per window, then how many were held back', () => {
    let t = 0;
    const th = new LogThrottle(1000, () => t);
    assert.equal(th.take('a', 'bad a'), 'bad a');
    assert.equal(th.take('a', 'bad a'), undefined);
    assert.equal(th.take('a', 'bad a'), undefined);
    assert.equal(th.take('b', 'bad b'), 'bad b', 'other keys are independent');
    t = 1500;
    assert.equal(th.take('a', 'bad a'), 'bad a (2 more like this held back)');
  });
  it('remembers a bounded number of keys', () => {
    const th = new LogThrottle(1000, () => 0, 3);
    for (const k of ['a', 'b', 'c', 'd']) th.take(k, k);
    assert.equal(th.take('a', 'a'), 'a', 'the oldest key was forgotten');
    assert.equal(th.take('d', 'd'), undefined);
  });
});

describe('rate budget', () => {
  it('allows perSecond events a second and reports the refused ones', () => {
    let t = 0;
    const refused: number[] = [];
    const b = new RateBudget(3, () => t, (n) => refused.push(n));
    const first = Array.from({ length: 5 }, () => b.take());
    assert.deepEqual(first, [true, true, true, false, false]);
    t = 1000;
    assert.equal(b.take(), true);
    assert.deepEqual(refused, [2]);
  });
});

describe('token buckets', () => {
  it('lets a burst through, then the rate, each key on its own', () => {
    let t = 0;
    const b = new TokenBuckets({ perSecond: 2, burst: 3 }, () => t);
    assert.deepEqual(Array.from({ length: 4 }, () => b.take('a')), [true, true, true, false]);
    assert.equal(b.take('b'), true, 'another key has its own bucket');
    t = 499;
    assert.equal(b.take('a'), false, 'less than one token refilled');
    t = 500;
    assert.equal(b.take('a'), true, 'one token after half a second at 2/s');
    t = 60_000;
    assert.deepEqual(Array.from({ length: 4 }, () => b.take('a')), [true, true, true, false], 'a bucket never holds more than its burst');
  });
  it('spend goes into debt and says how long to wait', () => {
    let t = 0;
    const b = new TokenBuckets({ perSecond: 1000, burst: 1000 }, () => t);
    assert.equal(b.spend('a', 800), 0);
    assert.equal(b.spend('a', 700), 500, '500 tokens of debt at 1000/s');
    t = 500;
    assert.equal(b.spend('a', 0), 0, 'out of debt after the wait');
  });
  it('remembers a bounded number of keys', () => {
    const b = new TokenBuckets({ perSecond: 1, burst: 1 }, () => 0, 2);
    b.take('a');
    b.take('b');
    b.take('c');
    assert.equal(b.size, 2);
    assert.equal(b.take('a'), true, 'the least recently used key was forgotten: a full bucket again');
    assert.equal(b.take('c'), false);
  });
});

describe('history pages', () => {
  it('hands out the newest page first, then older pages, saying whether more exist', () => {
    const store = new MemoryStore();
    store.history = Array.from({ length: 25 }, (_, i) => ({ id: String(i), ts: 1000 + i, conversation: 'everyone', direction: 'in' as const, name: 'a', text: `m${i}` }));
    const n = new PeerNode({ host: '127.0.0.1', port: 0, name: 'me', advertisedIp: '127.0.0.1', store });
    const p1 = n.historyPage(10);
    assert.deepEqual(p1.messages.map((m) => m.id), ['15', '16', '17', '18', '19', '20', '21', '22', '23', '24']);
    assert.equal(p1.more, true);
    const p2 = n.historyPage(10, p1.messages[0].ts);
    assert.equal(p2.messages[0].id, '5');
    assert.equal(p2.more, true);
    const p3 = n.historyPage(10, p2.messages[0].ts);
    assert.deepEqual(p3.messages.map((m) => m.id), ['0', '1', '2', '3', '4']);
    assert.equal(p3.more, false);
  });
});

describe('shutdown', () => {
  it('leaves no listener, socket, session or timer behind', async () => {
    const a = new PeerNode({ host: '127.0.0.1', port: 0, name: 'a', advertisedIp: '127.0.0.1', inactiveAfterSeconds: 60 });
    const b = new PeerNode({ host: '127.0.0.1', port: 0, name: 'b', advertisedIp: '127.0.0.1' });
    await a.start();
    await b.start();
    assert.ok((await a.connect(`127.0.0.1:${b.listeningPort}`)).ok);
    const during = a.activeResources();
    assert.equal(during.listening, true);
    assert.equal(during.sessions, 1);
    assert.ok(during.timers >= 1, 'the automatic probe timer runs');
    await b.shutdown();
    await a.shutdown();
    assert.deepEqual(a.activeResources(), { listening: false, incoming: 0, sessions: 0, handshaking: 0, timers: 0, dialing: 0 });
    assert.deepEqual(b.activeResources(), { listening: false, incoming: 0, sessions: 0, handshaking: 0, timers: 0, dialing: 0 });
  });
});
