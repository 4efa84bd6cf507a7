// Native chat text is capped like classic text (limits.maxIncomingBytes, UTF-8 bytes): a longer
// one from a fake native peer (banner, TLS, hello as itself) is acknowledged and not shown.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { PeerNode } from '../../src/core/node';
import { ChatFrame, PROTOCOL_VERSION } from '../../src/core/native/frames';
import { FakeNativePeer, fakeNativePeer } from '../support/fakeNativePeer';
import { until } from '../support/until';

const HOST = '127.0.0.1';
const live: PeerNode[] = [];
const fakes: FakeNativePeer[] = [];
after(async () => {
  for (const f of fakes) f.socket.destroy();
  await Promise.all(live.map((n) => n.stop()));
});

const direct = (origin: string, text: string, id = randomUUID()): ChatFrame => ({ type: 'chat', id, origin, originName: 'big', ts: Date.now(), conv: 'direct', text, hops: 0 });

describe('native text cap', () => {
  it('a direct text over 64 KiB is acked and not shown; one under it is shown', async () => {
    const n = new PeerNode({ host: HOST, port: 0, name: 'ana', advertisedIp: HOST, limits: { probeWaitMs: 300 } });
    const logs: string[] = [];
    n.on('log', (_level, text) => logs.push(text));
    live.push(n);
    await n.start();
    const f = await fakeNativePeer(n.listeningPort);
    assert.ok(f, 'the node sent no banner');
    fakes.push(f);
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
