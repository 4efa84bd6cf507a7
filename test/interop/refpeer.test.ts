// Self-check of the reference classic peer (test/interop/refpeer.py): two of them talk to each
// other the classroom way. Runs without the PeerChat CLI, so a failure here is the reference's.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { cleanupAll, rawSend, refSend, startRefPeer } from './helpers';

const T = { timeout: 20_000 };

describe('reference classic peer (refpeer.py)', () => {
  afterEach(cleanupAll);
  after(cleanupAll);

  it('chat, greeting, PING, peers and exit between two reference peers', T, async () => {
    const a = await startRefPeer('ann');
    const b = await startRefPeer('ben');
    assert.equal((await refSend(a, b.address, 'hello ben é日本')).ok, true);
    const m = await b.proc.waitFor((e) => e.type === 'message' && e.kind === 'chat', 'chat at ben');
    assert.deepEqual([m.from, m.name, m.text], [a.address, 'ann', 'hello ben é日本']);
    assert.equal(m.bytes, Buffer.byteLength(`${a.address} ann hello ben é日本`));

    a.proc.send(`ping ${b.address}`);
    await b.proc.waitFor((e) => e.type === 'message' && e.kind === 'ping' && e.from === a.address, 'ping at ben');

    b.proc.send('connect'); // greets every known peer: ann
    const g = await a.proc.waitFor((e) => e.type === 'message' && e.kind === 'greeting', 'greeting at ann');
    assert.deepEqual([g.from, g.name, g.text], [b.address, 'ben', 'Connected']);

    const since = a.proc.mark();
    a.proc.send('peers');
    const p = await a.proc.waitFor((e) => e.type === 'peers', 'peers at ann', { since });
    assert.deepEqual(p.peers, [{ address: b.address, name: 'ben', connected: true }]);

    b.proc.send('exit');
    await a.proc.waitFor((e) => e.type === 'message' && e.kind === 'exit' && e.from === b.address, 'exit at ann');
    assert.equal((await b.proc.waitExit()).code, 0);
    const since2 = a.proc.mark();
    a.proc.send('peers');
    const p2 = await a.proc.waitFor((e) => e.type === 'peers', 'peers at ann', { since: since2 });
    assert.deepEqual(p2.peers, []);
  });

  it('reports cut, undecodable and headerless input instead of crashing', T, async () => {
    const a = await startRefPeer('ann');
    await rawSend(a.port, Buffer.from([0xff, 0xfe, 0x20, 0x6a]));
    await a.proc.waitFor((e) => e.type === 'decode_error', 'decode_error');
    await rawSend(a.port, 'notanaddress hi');
    await a.proc.waitFor((e) => e.type === 'malformed', 'malformed');
    await rawSend(a.port, `127.0.0.1:1 zed ${'y'.repeat(2000)}`);
    const cut = await a.proc.waitFor((e) => e.type === 'message' && e.name === 'zed', 'long message');
    assert.equal(cut.bytes, 1024, 'one recv(1024) cuts a long message');
    assert.equal(a.proc.exited, false);
  });
});
