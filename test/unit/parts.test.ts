/** The pure parts of the node: the classic reducer and the delivery transitions. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ClassicEvent, reduceClassic } from '../../src/core/classic/reducer';
import { afterReceipt, classicOutcome, receiptArrived, recovered } from '../../src/core/history/delivery';
import type { PeerRecord } from '../../src/core/peers/table';

const at = { now: 5_000, native: true };
const ev = (over: Partial<ClassicEvent>): ClassicEvent => ({ kind: 'chat', host: '10.0.0.7', port: 5000, name: 'bob', text: 'hi', ...over });
const peer = (over: Partial<PeerRecord>): PeerRecord => ({ address: '10.0.0.7:5000', host: '10.0.0.7', port: 5000, name: 'bob', state: 'known', source: 'message', ...over });

describe('classic reducer: (peer before, message) → (patch, system line, chat message)', () => {
  it('a first chat from a stranger: known, classic, "joined" in its conversation, the message under its name', () => {
    const out = reduceClassic(undefined, ev({ revealed: 'standard' }), at);
    assert.deepEqual(out.patch, { lastSeen: 5_000, protocol: 'classic', dialect: 'standard', name: 'bob', state: 'known', lastError: undefined });
    assert.deepEqual(out.system, { conversation: '10.0.0.7:5000', text: 'bob (10.0.0.7:5000) joined' });
    assert.deepEqual(out.chat, { conversation: '10.0.0.7:5000', name: 'bob', text: 'hi' });
  });

  it('a chat from a connected peer keeps it connected and says nothing new', () => {
    const out = reduceClassic(peer({ state: 'connected', protocol: 'classic' }), ev({}), at);
    assert.equal(out.patch.state, 'connected');
    assert.equal(out.system, undefined);
    assert.equal(out.chat?.text, 'hi');
  });

  it("a classic message claiming a native peer's address changes nothing of it and stays out of its conversation", () => {
    const native = peer({ protocol: 'native', nodeId: 'abc', name: 'ana', state: 'connected' });
    const out = reduceClassic(native, ev({ name: 'mallory', revealed: 'bracket' }), at);
    assert.deepEqual(out.patch, {}, 'no name, state, protocol or dialect from a classic header');
    assert.deepEqual(out.chat, { conversation: '10.0.0.7:5000', name: 'mallory', text: 'hi' });
    assert.match(out.log ?? '', /claiming 10\.0\.0\.7:5000/);
    for (const kind of ['exit', 'greeting', 'ping'] as const) {
      const o = reduceClassic(native, ev({ kind, text: kind }), at);
      assert.deepEqual(o.patch, {}, kind);
      assert.equal(o.system, undefined, kind);
    }
  });

  it('greetings connect once: the line only when it was not connected already', () => {
    const first = reduceClassic(peer({}), ev({ kind: 'greeting', text: 'Hello, I am connecting!' }), at);
    assert.equal(first.patch.state, 'connected');
    assert.equal(first.system?.text, 'bob (10.0.0.7:5000) connected: "Hello, I am connecting!"');
    const again = reduceClassic(peer({ state: 'connected' }), ev({ kind: 'connect', text: 'connect' }), at);
    assert.equal(again.system, undefined);
    assert.equal(reduceClassic(peer({}), ev({ kind: 'connectRequest', text: '' }), at).system?.text, 'bob (10.0.0.7:5000) connected');
  });

  it('exit: gone, the known name kept (a relayed exit carries the relay name)', () => {
    const out = reduceClassic(peer({ name: 'bob', state: 'connected' }), ev({ kind: 'exit', name: 'relay', text: 'exit' }), at);
    assert.equal(out.patch.state, 'gone');
    assert.equal(out.patch.name, undefined);
    assert.equal(out.system?.text, 'bob (10.0.0.7:5000) left the network');
    assert.equal(reduceClassic(undefined, ev({ kind: 'disconnect', name: 'eve', text: '' }), at).system?.text, 'eve (10.0.0.7:5000) left the network');
  });

  it('ping: alive, but inactive and gone peers only become known, never connected', () => {
    assert.equal(reduceClassic(peer({ state: 'connected' }), ev({ kind: 'ping' }), at).patch.state, 'connected');
    assert.equal(reduceClassic(peer({ state: 'inactive' }), ev({ kind: 'ping' }), at).patch.state, 'known');
    assert.equal(reduceClassic(peer({ state: 'gone' }), ev({ kind: 'ping' }), at).patch.state, 'known');
    assert.equal(reduceClassic(undefined, ev({ kind: 'ping' }), at).system, undefined);
  });

  it('dialects: learned from what is revealed, never over a manual choice, and a change is logged', () => {
    assert.equal(reduceClassic(peer({ dialect: 'json', dialectManual: true }), ev({ revealed: 'standard' }), at).patch.dialect, undefined);
    const changed = reduceClassic(peer({ dialect: 'standard' }), ev({ revealed: 'pipe' }), at);
    assert.equal(changed.patch.dialect, 'pipe');
    assert.match(changed.log ?? '', /10\.0\.0\.7:5000 now speaks pipe/);
    assert.equal(reduceClassic(peer({ dialect: 'pipe' }), ev({ revealed: 'pipe' }), at).log, undefined);
  });

  it('a new name for a known peer is said, never silent; the same name says nothing', () => {
    const out = reduceClassic(peer({ name: 'bob' }), ev({ name: 'root' }), at);
    assert.deepEqual(out.renamed, { conversation: '10.0.0.7:5000', text: 'bob (10.0.0.7:5000) is now called root' });
    assert.equal(reduceClassic(peer({ name: 'bob' }), ev({ name: 'bob' }), at).renamed, undefined);
    assert.equal(reduceClassic(undefined, ev({ name: 'bob' }), at).renamed, undefined, 'a first name is no rename');
  });

  it('without the native protocol, an unknown peer is not marked classic', () => {
    assert.equal(reduceClassic(undefined, ev({}), { now: 1, native: false }).patch.protocol, undefined);
  });
});

describe('delivery transitions', () => {
  const ok = { peer: 'p', ok: true };
  const acked = { peer: 'p', ok: true, acked: true };
  const bad = (error: string) => ({ peer: 'p', ok: false, error });

  it('classic outcome: nothing sent fails with why, all failed fails, all acknowledged is acked, else sent', () => {
    assert.deepEqual(classicOutcome([], true), { state: 'failed', error: 'no peers to send to yet' });
    assert.deepEqual(classicOutcome([], false), { state: 'failed', error: 'the node is not running: start it to send' });
    assert.deepEqual(classicOutcome([bad('a'), bad('b')], true), { state: 'failed', error: 'a; b' });
    assert.deepEqual(classicOutcome([acked, acked], true), { state: 'acked', error: undefined });
    assert.deepEqual(classicOutcome([acked, ok], true), { state: 'sent', error: undefined });
    assert.deepEqual(classicOutcome([ok, bad('down')], true), { state: 'sent', error: 'down' });
  });

  it('receipts move outgoing messages forward only: delivered never after read, nothing after cancel', () => {
    assert.equal(afterReceipt({ direction: 'out', state: 'sent' }, 'delivered'), 'delivered');
    assert.equal(afterReceipt({ direction: 'out', state: 'queued' }, 'delivered'), 'delivered');
    assert.equal(afterReceipt({ direction: 'out', state: 'read' }, 'delivered'), undefined);
    assert.equal(afterReceipt({ direction: 'out', state: 'delivered' }, 'delivered'), undefined);
    assert.equal(afterReceipt({ direction: 'out', state: 'cancelled' }, 'delivered'), undefined);
    assert.equal(afterReceipt({ direction: 'out', state: 'delivered' }, 'read'), 'read');
    assert.equal(afterReceipt({ direction: 'out', state: 'read' }, 'read'), undefined);
    assert.equal(afterReceipt({ direction: 'in', state: undefined }, 'read'), undefined, 'a receipt never touches an incoming message');
  });

  it('a broadcast result does not undo a receipt', () => {
    assert.equal(receiptArrived('delivered'), true);
    assert.equal(receiptArrived('read'), true);
    assert.equal(receiptArrived('sending'), false);
  });

  it('after a restart: a send in flight failed, a native one written but unacknowledged goes again', () => {
    assert.deepEqual(recovered({ state: 'sending' }, false), { state: 'failed', error: 'interrupted: PeerChat closed before it was sent' });
    assert.deepEqual(recovered({ state: 'sent' }, true), { state: 'queued' });
    assert.equal(recovered({ state: 'sent' }, false), undefined);
    assert.equal(recovered({ state: 'delivered' }, true), undefined);
  });
});
