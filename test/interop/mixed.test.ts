// A mixed network: two terminal peers speaking the native protocol among themselves, and the
// Python classroom peer beside them. The classroom peer must notice nothing different: it gets
// plain classic text only (no banner, no frame), its messages reach both, and broadcasts reach it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cleanupAll, type Event, refSend, startCli, startRefPeer, waitForPeers } from './helpers';

const T = { timeout: 40_000 };

describe('mixed network: native PeerChat nodes and a classic peer', () => {
  after(cleanupAll);

  it('the classic peer receives only classic text while the PeerChat nodes go native', T, async () => {
    const a = await startCli('natA');
    const b = await startCli('natB');
    const py = await startRefPeer('classmate');

    a.proc.send(`/connect ${b.address}`);
    await b.proc.waitFor((e: Event) => e.type === 'system' && /native protocol/.test(String(e.text)), 'native session on B');
    await waitForPeers(a, (ps) => ps.some((p) => p.address === b.address && (p as { protocol?: string }).protocol === 'native'), 'B native in A');

    // The classroom peer writes to A: A learns it as classic.
    await refSend(py, a.address, 'hi from python');
    await a.proc.waitFor((e: Event) => e.type === 'message' && e.text === 'hi from python', 'python message at A');
    await waitForPeers(a, (ps) => ps.some((p) => p.address === py.address && (p as { protocol?: string }).protocol === 'classic'), 'python classic in A');

    // A broadcasts: B gets it natively, the classroom peer in its own classic form.
    a.proc.send('/broadcast hello mixed world');
    const atB = await b.proc.waitFor((e: Event) => e.type === 'message' && e.text === 'hello mixed world', 'broadcast at B');
    assert.equal(atB.conversation, 'everyone');
    assert.ok(atB.origin, 'B got it over the native protocol (it names its origin node)');
    const atPy = await py.proc.waitFor((e: Event) => e.type === 'message' && e.text === 'hello mixed world', 'broadcast at python');
    assert.equal(atPy.kind, 'chat');
    assert.equal(atPy.from, a.address);
    assert.equal(atPy.name, 'natA');

    // A direct message from A to the classroom peer is classic text too.
    a.proc.send(`/send ${py.address} just for you`);
    await py.proc.waitFor((e: Event) => e.type === 'message' && e.text === 'just for you', 'direct at python');

    // Nothing the classroom peer received was junk: no decode errors, nothing malformed.
    const junk = py.proc.events.filter((e: Event) => e.type === 'decode_error' || e.type === 'malformed');
    assert.deepEqual(junk, []);
    for (const e of py.proc.events.filter((x: Event) => x.type === 'message')) assert.ok(!String(e.text).includes('PEERCHAT'), 'no banner reached the classic peer');
  });
});
