// Attacks on the trust rules of native sessions (issue 11), each against real nodes on loopback:
// the attack must fail, and the honest path must still work afterwards.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import { Identity } from '../../src/core/identity/identity';
import { NodeOptions, PeerNode } from '../../src/core/node';
import { ChatFrame, PROTOCOL_VERSION } from '../../src/core/native/frames';
import { signChat } from '../../src/core/native/signing';
import { classicReceiver } from '../support/classicReceiver';
import { FakeNativePeer, fakeNativePeer, FakeNativeOptions } from '../support/fakeNativePeer';
import { freePort } from '../support/freePort';
import { relay, Relay } from '../support/relay';
import { TestNodes } from '../support/testNodes';
import { until } from '../support/until';

const HOST = '127.0.0.1';
const nodes = new TestNodes();
const fakes: FakeNativePeer[] = [];
const relays: Relay[] = [];
after(async () => {
  for (const f of fakes) f.socket.destroy();
  await nodes.stopAll();
  await Promise.all(relays.map((r) => r.close()));
});

/** A node on 127.0.0.1 with short redial delays; its log lines are kept (logOf). */
const node = (name: string, o: Partial<NodeOptions> = {}) => nodes.start(name, o);
const stop = (...ns: PeerNode[]) => nodes.stop(...ns);
const logOf = (n: PeerNode) => nodes.logOf(n);
const addr = (n: PeerNode) => `127.0.0.1:${n.listeningPort}`;
const msg = (n: PeerNode, id: string) => n.getHistory().find((m) => m.id === id);
const count = (n: PeerNode, f: (m: ChatMessage) => boolean) => n.getHistory().filter(f).length;

/** A native client that got the banner (and by default did TLS as its own key). */
async function fake(port: number, o: FakeNativeOptions = {}): Promise<FakeNativePeer> {
  const f = await fakeNativePeer(port, o);
  assert.ok(f, 'the node sent no banner');
  fakes.push(f);
  return f;
}

/** A fake native peer with a session: it said hello as itself, and the node took it. */
async function fakeSession(n: PeerNode, name: string, o: FakeNativeOptions & { listen?: string } = {}): Promise<FakeNativePeer> {
  const f = await fake(n.listeningPort, o);
  f.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: f.nodeId, name, listen: o.listen ?? '127.0.0.1:9' });
  await until(`${name} connected to ${n.name}`, () => n.peers.byNodeId(f.nodeId)?.state === 'connected');
  await f.waitFrame((x: { type?: string }) => x.type === 'hello', `${n.name}'s hello to ${name}`);
  return f;
}

type Frame = { type?: string; id?: string; code?: string; message?: string; text?: string };

/** A direct chat frame from `origin`; the node acks it (when it accepts it). */
function direct(origin: string, originName: string, text: string, id = randomUUID()): ChatFrame {
  return { type: 'chat', id, origin, originName, ts: Date.now(), conv: 'direct', text, hops: 0 };
}

/** An Everyone chat frame, unsigned. */
function everyone(origin: string, originName: string, text: string, id = randomUUID()): ChatFrame {
  return { type: 'chat', id, origin, originName, ts: Date.now(), conv: 'everyone', text, hops: 4 };
}

/** The same, signed by `signer` (whoever it claims as origin). */
function signed(f: ChatFrame, signer: Identity): ChatFrame {
  return { ...f, ...signChat(f, signer) };
}

/** Sends a direct marker from a fake session and waits until the node acked and shows it: everything the fake wrote before it was processed. */
async function marker(n: PeerNode, f: FakeNativePeer, name: string): Promise<void> {
  const m = direct(f.nodeId, name, `marker ${randomUUID()}`);
  f.send(m);
  await f.waitFrame((x: Frame) => x.type === 'ack' && x.id === m.id, `${n.name}'s ack of the marker`);
  await until(`${n.name} shows the marker`, () => msg(n, m.id));
}

// ------------------------------------------------------------------------------------------------

describe('trust: a client claiming another node id', () => {
  for (const variant of ['plaintext', 'tls'] as const) {
    it(`${variant === 'plaintext' ? 'a plaintext hello (no TLS)' : 'TLS as itself, hello naming B'} is refused, gets nothing for B, in three connection orders`, async () => {
      const portB = await freePort();
      const idB = Identity.create();
      const a = await node('ana');
      const b = await node('ben', { port: portB, identity: idB });
      const addrB = `127.0.0.1:${portB}`;
      const forgedHello = { type: 'hello', v: PROTOCOL_VERSION, nodeId: b.nodeId, name: 'ben', listen: addrB };
      const attackers: FakeNativePeer[] = [];

      /** Connects the attacker (banner, and TLS as its own key in the tls variant); its hello comes later. */
      const connect = async () => {
        const f = await fake(a.listeningPort, { tls: variant === 'tls' });
        attackers.push(f);
        return f;
      };
      /** Sends the forged hello and checks the refusal. */
      const claim = async (f: FakeNativePeer) => {
        f.send(forgedHello);
        assert.ok(await f.waitClose(5000), 'the node kept a session with a client claiming B');
        if (variant === 'tls') {
          const err = (f.frames() as Frame[]).find((x) => x?.type === 'error');
          assert.ok(err, `no error frame; frames: ${JSON.stringify(f.frames())}`);
          assert.equal(err.code, 'ERR_IDENTITY');
          assert.match(err.message ?? '', /hello names node .* but the certificate proves/);
          assert.deepEqual((f.frames() as Frame[]).map((x) => x?.type), ['hello', 'error'], 'only the node hello and the refusal');
        } else {
          // The node waits for a TLS ClientHello: a frame is not one. At most a TLS alert comes back.
          assert.ok(f.data().length <= 7, `the plaintext client got ${f.data().length} bytes: ${JSON.stringify(f.data().toString('latin1'))}`);
          await until('the TLS failure logged', () => logOf(a).some((l) => /closed before its handshake: TLS handshake failed/.test(l)));
        }
        assert.equal(a.peers.byNodeId(b.nodeId)?.address ?? addrB, addrB, 'B is not rebound to the attacker');
      };
      const sendMany = async (tag: string, from: number, to: number, ids: string[]) => {
        for (let i = from; i < to; i++) {
          const { message, result } = await a.send(`node:${b.nodeId}`, `${tag} secret ${i}`);
          assert.ok(result.ok, result.error);
          ids.push(message.id);
        }
      };
      const deliveredToB = async (ids: string[], what: string) => {
        await until(`${what}: all ${ids.length} delivered`, () => ids.every((id) => msg(a, id)?.state === 'delivered'), 10_000, () => JSON.stringify(ids.map((id) => msg(a, id)?.state)));
        for (const id of ids) assert.equal(count(b, (m) => m.id === id && m.direction === 'in' && m.origin === a.nodeId), 1, `${what}: B shows ${id} once`);
      };

      // 1. The attacker comes before A ever talked to B.
      const first = await connect();
      await claim(first);
      assert.ok((await a.connect(addrB)).ok);
      const ids1: string[] = [];
      await sendMany('before', 0, 20, ids1);
      await deliveredToB(ids1, 'attacker first');

      // 2. The attacker is connected (hello not sent yet) while A sends; it claims B halfway.
      const during = await connect();
      const ids2: string[] = [];
      await sendMany('during', 0, 10, ids2);
      await claim(during);
      await sendMany('during', 10, 20, ids2);
      await deliveredToB(ids2, 'attacker during');

      // 3. B is away with 20 messages queued for it; the attacker claims B meanwhile.
      await b.stop();
      await until('A sees B gone', () => a.activeResources().sessions === 0);
      const ids3: string[] = [];
      const queuedAt = await connect();
      await sendMany('queued', 0, 20, ids3);
      await claim(queuedAt);
      assert.ok(
        ids3.every((id) => msg(a, id)?.state === 'queued'),
        `not delivered without B's ack: ${JSON.stringify(ids3.map((id) => msg(a, id)?.state))}`,
      );
      assert.equal(a.outboxEntries().filter((e) => e.to === b.nodeId).length, 20, 'all 20 still in the outbox');
      await b.start();
      await deliveredToB(ids3, 'B back');

      for (const f of attackers) {
        const seen = variant === 'tls' ? JSON.stringify(f.frames()) : f.data().toString('latin1');
        assert.doesNotMatch(seen, /secret/, 'the attacker got none of the messages for B');
      }
      assert.equal(a.outboxEntries().length, 0);
      await stop(a, b);
    });
  }
});

describe('trust: a relay in the middle', () => {
  it('sees no message text in either direction, and the chat works through it', async () => {
    const a = await node('ana');
    const b = await node('ben');
    const r = await relay(b.listeningPort);
    relays.push(r);
    assert.ok((await a.connect(r.addr)).ok);
    await until('B sees A', () => b.peers.byNodeId(a.nodeId)?.state === 'connected');
    const ab = (await a.send(r.addr, 'my password is hunter2')).message;
    await until('A to B delivered', () => msg(a, ab.id)?.state === 'delivered');
    const ba = (await b.send(`node:${a.nodeId}`, 'and mine is swordfish')).message;
    await until('B to A delivered', () => msg(b, ba.id)?.state === 'delivered');
    const all = (await a.broadcast('everyone: correct horse battery staple')).message;
    await until('B got the broadcast', () => msg(b, all.id));
    assert.equal(msg(b, ab.id)?.text, 'my password is hunter2');
    assert.equal(msg(a, ba.id)?.text, 'and mine is swordfish');
    assert.equal(r.connections(), 1, 'everything went through the one relayed connection');
    for (const dir of ['up', 'down'] as const) {
      const bytes = r.bytes(dir);
      assert.ok(r.records(dir).filter((x) => x.type === 0x17).length >= 3, `${dir}: TLS application data went through the relay`);
      for (const secret of ['hunter2', 'swordfish', 'battery staple', '"type"', 'chat']) {
        assert.equal(bytes.indexOf(secret), -1, `${dir}: the relay saw "${secret}" in the clear`);
      }
    }
    await stop(a, b);
  });

  it('a flipped byte in the record of a chat message: the session fails, is re-established, and the text arrives once, unchanged', async () => {
    let armed = false;
    let flipped = 0;
    const a = await node('ana');
    const b = await node('ben');
    const text = `flip me ${'x'.repeat(500)} end`;
    const r = await relay(b.listeningPort, {
      tamper: (dir, rec) => {
        // The first large application-data record from A once armed: the chat frame's.
        if (!armed || dir !== 'up' || rec.type !== 0x17 || rec.bytes.length < 500) return undefined;
        armed = false;
        flipped++;
        const changed = Buffer.from(rec.bytes);
        changed[Math.floor(changed.length / 2)] ^= 0x20; // in the ciphertext of the text
        return changed;
      },
    });
    relays.push(r);
    assert.ok((await a.connect(r.addr)).ok);
    await until('B sees A', () => b.peers.byNodeId(a.nodeId)?.state === 'connected');
    armed = true;
    const { message, result } = await a.send(r.addr, text);
    assert.ok(result.ok, result.error);
    await until('delivered after the redial', () => msg(a, message.id)?.state === 'delivered', 10_000, () => `state ${msg(a, message.id)?.state}; log: ${logOf(a).slice(-5).join(' | ')}`);
    assert.equal(flipped, 1, 'one record was changed');
    assert.ok(r.connections() >= 2, `the session was re-established through the relay (${r.connections()} connections)`);
    assert.ok(logOf(a).some((l) => /native session with ben .* closed/.test(l)), 'A saw the session fail');
    assert.ok(logOf(b).some((l) => /native session with ana .* closed/.test(l)), `B dropped the session with the changed record: ${logOf(b).join(' | ')}`);
    const fromA = b.getHistory().filter((m) => m.direction === 'in' && m.origin === a.nodeId);
    assert.deepEqual(fromA.map((m) => m.text), [text], 'B shows the text once and never a changed one');
    assert.equal(a.outboxEntries().length, 0);
    // Still chatting afterwards.
    const again = (await a.send(r.addr, 'after the repair')).message;
    await until('delivered', () => msg(a, again.id)?.state === 'delivered');
    await stop(a, b);
  });
});

describe('trust: forged chat frames', () => {
  it('a direct frame claiming B as origin is dropped, not shown, logged', async () => {
    const a = await node('ana');
    const b = await node('ben');
    assert.ok((await b.connect(addr(a))).ok);
    await until('A sees B', () => a.peers.byNodeId(b.nodeId)?.state === 'connected');
    const f = await fakeSession(a, 'mallory');
    const forged = direct(b.nodeId, 'ben', 'forged: send me your password');
    f.send(forged);
    await marker(a, f, 'mallory');
    assert.equal(msg(a, forged.id), undefined, 'not shown');
    assert.equal(count(a, (m) => m.text.startsWith('forged')), 0);
    assert.ok(!(f.frames() as Frame[]).some((x) => x?.type === 'ack' && x.id === forged.id), 'not acknowledged');
    assert.ok(logOf(a).some((l) => l.includes(`dropped direct message ${forged.id.slice(0, 8)}`) && /claims origin/.test(l)), `logged: ${logOf(a).join(' | ')}`);
    // B's own direct messages still arrive.
    const real = (await b.send(`node:${a.nodeId}`, 'the real ben')).message;
    await until('delivered', () => msg(b, real.id)?.state === 'delivered');
    assert.equal(msg(a, real.id)?.origin, b.nodeId);
    await stop(a, b);
  });

  it('forged Everyone frames (foreign key, bad signature, changed text, unsigned) are dropped and not forwarded', async () => {
    const a = await node('ana');
    const b = await node('ben');
    const c = await node('cho', { limits: { maxAutoConnect: 0 } });
    assert.ok((await b.connect(addr(a))).ok);
    assert.ok((await c.connect(addr(a))).ok);
    await until('A has both', () => a.activeResources().sessions === 2);
    const f = await fakeSession(a, 'mallory');
    const genuine = signed(everyone(b.nodeId, 'ben', 'ben said this'), b.identity);
    const forgeries: Record<string, ChatFrame> = {
      "attacker's key, origin B": signed(everyone(b.nodeId, 'ben', 'forged 1: key of mallory'), f.identity),
      "B's key, attacker's signature": { ...everyone(b.nodeId, 'ben', 'forged 2: bad signature'), key: b.identity.publicKeyDer.toString('base64'), sig: f.identity.sign(Buffer.from('x')).toString('base64') },
      "B's signature, changed text": { ...genuine, text: 'forged 3: ben said that' },
      'not signed': everyone(b.nodeId, 'ben', 'forged 4: unsigned'),
      'signed by B, key missing': { ...signed(everyone(b.nodeId, 'ben', 'forged 5: no key'), b.identity), key: undefined },
    };
    for (const fr of Object.values(forgeries)) f.send(fr);
    // A marker Everyone message, properly signed by the attacker as itself: shown and forwarded.
    const mark = signed(everyone(f.nodeId, 'mallory', `everyone marker ${randomUUID()}`), f.identity);
    f.send(mark);
    await until('C got the marker through A', () => msg(c, mark.id));
    await until('B got the marker through A', () => msg(b, mark.id));
    for (const [what, fr] of Object.entries(forgeries)) {
      for (const n of [a, b, c]) {
        assert.equal(count(n, (m) => m.text === fr.text), 0, `${what}: ${n.name} shows "${fr.text}"`);
      }
    }
    assert.equal(count(a, (m) => m.text.startsWith('forged')), 0);
    assert.ok(logOf(a).some((l) => /dropped everyone message .* from mallory/.test(l)), `logged: ${logOf(a).join(' | ')}`);
    // B's genuine broadcast still goes everywhere, once.
    const real = (await b.broadcast('the real ben to everyone')).message;
    await until('A and C got it', () => msg(a, real.id) && msg(c, real.id));
    assert.equal(count(c, (m) => m.id === real.id), 1);
    await stop(a, b, c);
  });
});

describe('trust: forged receipts', () => {
  it('an ack or read from a session that was not the recipient changes nothing; the recipient’s does', async () => {
    const a = await node('ana');
    const rita = await fakeSession(a, 'rita', { localAddress: '127.0.0.2', listen: '127.0.0.2:9' });
    const mallory = await fakeSession(a, 'mallory', { localAddress: '127.0.0.3', listen: '127.0.0.3:9' });
    const forge = async (id: string) => {
      mallory.send({ type: 'ack', id });
      mallory.send({ type: 'read', ids: [id] });
      await marker(a, mallory, 'mallory');
    };

    // Sent (written to rita, not acknowledged yet).
    const sent = (await a.send(`node:${rita.nodeId}`, 'for rita: sent')).message;
    await rita.waitFrame((x: Frame) => x.type === 'chat' && x.id === sent.id, 'the chat at rita');
    await until('sent', () => msg(a, sent.id)?.state === 'sent');
    await forge(sent.id);
    assert.equal(msg(a, sent.id)?.state, 'sent', 'a foreign ack or read does not deliver it');
    assert.ok(a.outboxEntries().some((e) => e.message.id === sent.id), 'still in the outbox');
    assert.ok(logOf(a).some((l) => /ignored read receipts from mallory/.test(l)), `logged: ${logOf(a).join(' | ')}`);

    // Queued (rita away).
    rita.socket.destroy();
    await until('rita gone', () => a.peers.byNodeId(rita.nodeId)?.state !== 'connected');
    const queued = (await a.send(`node:${rita.nodeId}`, 'for rita: queued')).message;
    assert.equal(msg(a, queued.id)?.state, 'queued');
    await forge(queued.id);
    assert.equal(msg(a, queued.id)?.state, 'queued', 'a foreign ack or read does not deliver a queued one');
    assert.equal(a.outboxEntries().filter((e) => e.to === rita.nodeId).length, 2);

    // Rita comes back with the same key: both come again; her receipts count.
    const back = await fakeSession(a, 'rita', { localAddress: '127.0.0.2', listen: '127.0.0.2:9', identity: rita.identity });
    for (const m of [sent, queued]) await back.waitFrame((x: Frame) => x.type === 'chat' && x.id === m.id, `"${m.text}" resent to rita`);
    back.send({ type: 'ack', id: sent.id });
    back.send({ type: 'ack', id: queued.id });
    await until('delivered', () => msg(a, sent.id)?.state === 'delivered' && msg(a, queued.id)?.state === 'delivered');
    back.send({ type: 'read', ids: [sent.id, queued.id] });
    await until('read', () => msg(a, sent.id)?.state === 'read' && msg(a, queued.id)?.state === 'read');
    assert.equal(a.outboxEntries().length, 0);
    await stop(a);
  });
});

describe('trust: peer exchange', () => {
  it('a peers frame naming a classic (or native) peer’s address with an attacker’s id rebinds nothing', async () => {
    const a = await node('ana', { limits: { maxAutoConnect: 0 } });
    const b = await node('ben');
    const rx = await classicReceiver(HOST);
    try {
      assert.ok((await a.send(rx.addr, 'hello classic')).result.ok);
      assert.match(await rx.next(), /hello classic$/);
      assert.ok((await b.connect(addr(a))).ok);
      await until('A sees B', () => a.peers.byNodeId(b.nodeId)?.state === 'connected');
      const before = { ...a.peers.get(rx.addr) };
      assert.equal(before.protocol, 'classic');
      const f = await fakeSession(a, 'mallory');
      const other = Identity.create().nodeId;
      const markerId = Identity.create().nodeId;
      f.send({
        type: 'peers',
        peers: [
          { nodeId: f.nodeId, address: rx.addr, name: 'evil 1' },
          { nodeId: other, address: rx.addr, name: 'evil 2' },
          { nodeId: other, address: addr(b), name: 'evil 3' },
          { nodeId: markerId, address: '127.0.0.4:9', name: 'someone new' },
        ],
      });
      await until('the frame processed (the last entry learned)', () => a.peers.byNodeId(markerId));
      const rec = a.peers.get(rx.addr);
      assert.equal(rec?.nodeId, undefined, 'no node id on the classic peer');
      assert.equal(rec?.protocol, 'classic');
      assert.equal(rec?.name, before.name);
      assert.equal(a.peers.byNodeId(other), undefined, "the attacker's id is bound nowhere");
      assert.equal(a.peers.get(addr(b))?.nodeId, b.nodeId, 'B stays B');
      // Honest paths: the classic peer still gets plain text, B still native.
      assert.ok((await a.send(rx.addr, 'still classic')).result.ok);
      assert.match(await rx.next(), /^127\.0\.0\.1:\d+ ana still classic$/);
      const m = (await a.send(addr(b), 'still native')).message;
      await until('delivered to B', () => msg(a, m.id)?.state === 'delivered');
    } finally {
      await rx.close();
    }
    await stop(a, b);
  });
});

describe('trust: a new key at a known address', () => {
  for (const how of ['the same node restarts', 'a new node with the same identity'] as const) {
    it(`is refused and gets nothing; the real B (${how}) gets the queued message once`, async () => {
      const portB = await freePort();
      const idB = Identity.create();
      const a = await node('ana');
      let b = await node('ben', { port: portB, identity: idB });
      assert.ok((await b.connect(addr(a))).ok);
      await until('A sees B', () => a.peers.byNodeId(idB.nodeId)?.state === 'connected');
      await b.stop();
      await until('A sees B gone', () => a.activeResources().sessions === 0);
      const { message, result } = await a.send(`node:${idB.nodeId}`, 'for ben only');
      assert.ok(result.ok && result.queued, JSON.stringify(result));

      const impostor = await node('ben', { port: portB });
      assert.notEqual(impostor.nodeId, idB.nodeId);
      await until('A refused the new key', () => logOf(a).some((l) => /answered with a new key/.test(l)), 5000, () => logOf(a).join(' | '));
      await until('the impostor was told', () => logOf(impostor).some((l) => /belongs to another PeerChat key here/.test(l)), 5000, () => logOf(impostor).join(' | '));
      assert.equal(count(impostor, (m) => m.text === 'for ben only'), 0, 'the impostor got nothing');
      assert.equal(msg(a, message.id)?.state, 'queued');
      assert.ok(a.outboxEntries().some((e) => e.message.id === message.id && e.to === idB.nodeId), 'still queued for B');
      assert.equal(a.peers.get(`127.0.0.1:${portB}`)?.nodeId, idB.nodeId, 'the address stays pinned to B');
      await stop(impostor);

      if (how === 'the same node restarts') {
        await b.start(); // it knows A and redials it (it connected to A)
      } else {
        b = await node('ben', { port: portB, identity: idB }); // knows nobody: A must redial
      }
      await until('delivered to the real B', () => msg(a, message.id)?.state === 'delivered', 4000, () => `state ${msg(a, message.id)?.state}; A log: ${logOf(a).slice(-4).join(' | ')}`);
      assert.equal(count(b, (m) => m.id === message.id && m.text === 'for ben only'), 1, 'once');
      assert.equal(a.outboxEntries().length, 0);
      await stop(a, b);
    });
  }
});

describe('trust: dial race', () => {
  it('two fresh nodes sending their first message to each other at once, 10 times: nothing lost, nothing twice', async () => {
    for (let i = 0; i < 10; i++) {
      const a = await node(`ana${i}`);
      const b = await node(`ben${i}`);
      const [ra, rb] = await Promise.all([a.send(addr(b), `x${i}`), b.send(addr(a), `y${i}`)]);
      assert.ok(ra.result.ok, `round ${i}: ana's send: ${ra.result.error}`);
      assert.ok(rb.result.ok, `round ${i}: ben's send: ${rb.result.error}`);
      await until(
        `round ${i}: both delivered`,
        () => receipt(msg(a, ra.message.id)?.state) && receipt(msg(b, rb.message.id)?.state),
        8000,
        () => JSON.stringify([msg(a, ra.message.id), msg(b, rb.message.id)]),
      );
      assert.equal(count(b, (m) => m.direction === 'in' && m.text === `x${i}`), 1, `round ${i}: ben shows x once`);
      assert.equal(count(a, (m) => m.direction === 'in' && m.text === `y${i}`), 1, `round ${i}: ana shows y once`);
      await stop(a, b);
    }
  });
});

function receipt(state: string | undefined): boolean {
  return state === 'delivered' || state === 'read';
}
