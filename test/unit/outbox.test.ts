// The durable outbox (issue 12): total caps with a clear refusal, the journal on disk (appends,
// torn tail, compaction only past its threshold, migration from outbox.json, 0600), a message
// queued only once it is on disk (group commit), start-up reconciliation of history and outbox,
// orphaned entries named and cancellable, and a re-sent id shown once across a receiver restart.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import { Identity } from '../../src/core/identity/identity';
import { NodeOptions, PeerNode } from '../../src/core/node';
import { PROTOCOL_VERSION, type ChatFrame } from '../../src/core/native/frames';
import { Outbox, type OutboxEntry, type OutboxRecord } from '../../src/core/native/outbox';
import { planReconcile } from '../../src/core/native/reconcile';
import { FileStore, MemoryStore } from '../../src/core/store';
import { fakeNativePeer, type FakeNativePeer } from '../support/fakeNativePeer';
import { removeTmpDirs, tmpDir as makeTmpDir } from '../support/tmpDir';
import { until } from '../support/until';

const HOST = '127.0.0.1';
const live: PeerNode[] = [];
const fakes: FakeNativePeer[] = [];
after(async () => {
  for (const f of fakes) f.socket.destroy();
  await Promise.all(live.map((n) => n.shutdown()));
  removeTmpDirs();
});
const tmpDir = () => makeTmpDir('peerchat-outbox-');
const posix = process.platform !== 'win32';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const GONE = 'c0ffee'.repeat(10) + 'c0ff';

function msg(id: string, to = B, text = `text ${id}`, state: ChatMessage['state'] = 'queued'): ChatMessage {
  return { id, conversation: `node:${to}`, direction: 'out', name: 'me', text, ts: 1000, state, origin: A };
}

const caps = (o: Partial<{ perPeer: number; messages: number; bytes: number }> = {}) => ({ perPeer: 1000, messages: 1000, bytes: 1 << 20, ...o });

/** A node that is not started (so it dials nobody), with native peers of the given ids in its table. */
function offlineNode(o: Partial<NodeOptions> = {}, peers: string[] = [B]): PeerNode {
  const n = new PeerNode({ host: HOST, port: 0, name: 'me', advertisedIp: HOST, ...o });
  live.push(n);
  peers.forEach((id, i) => n.peers.upsert({ host: HOST, port: 9 + i }, { name: `peer${i}`, protocol: 'native', nodeId: id, state: 'known' }));
  return n;
}

const journal = (dir: string) => path.join(dir, 'outbox.jsonl');
const size = (f: string) => fs.statSync(f).size;
const recordBytes = (r: OutboxRecord) => Buffer.byteLength(JSON.stringify(r) + '\n');

describe('outbox: total caps', () => {
  it('refuses past maxOutboxMessages over all peers, with a clear reason; a cancel makes room', async () => {
    const n = offlineNode({ limits: { maxOutboxMessages: 3 } }, [B, GONE]);
    for (const to of ['127.0.0.1:9', '127.0.0.1:9', '127.0.0.1:10']) assert.equal((await n.send(to, 'hi')).result.queued, true);
    const refused = await n.send('127.0.0.1:10', 'one more');
    assert.equal(refused.result.ok, false);
    assert.equal(refused.result.error, "the outbox is full: 3 messages waiting (PeerChat's limit); cancel some in Show Outbox");
    assert.equal(n.getHistory().find((m) => m.id === refused.message.id)?.state, 'failed');
    assert.equal(n.outboxEntries().length, 3);
    assert.ok(n.cancel(n.outboxEntries()[0].message.id));
    assert.equal((await n.send('127.0.0.1:10', 'now it fits')).result.queued, true);
  });

  it('refuses past maxOutboxBytes of text, with a clear reason', async () => {
    const n = offlineNode({ limits: { maxOutboxBytes: 2 * 1024 } });
    assert.ok((await n.send('127.0.0.1:9', 'x'.repeat(1500))).result.queued);
    const refused = await n.send('127.0.0.1:9', '€'.repeat(200)); // 600 bytes: 2,100 in all
    assert.equal(refused.result.error, "the outbox is full: 2 KiB of messages waiting (PeerChat's limit); cancel some in Show Outbox");
    assert.ok((await n.send('127.0.0.1:9', 'y'.repeat(500))).result.queued, '2,000 bytes fit');
  });

  it('the caps count what is in the outbox, adds and removes alike', async () => {
    const o = new Outbox(new MemoryStore(), caps({ messages: 2, bytes: 10 }));
    await o.add(B, msg('1', B, '12345'));
    assert.deepEqual(o.refusal(B, msg('2', B, '123456')), { kind: 'bytes', limit: 10 });
    await o.add(B, msg('2', B, '12345'));
    assert.deepEqual(o.refusal(GONE, msg('3', GONE, '')), { kind: 'messages', limit: 2 });
    o.remove('1');
    assert.equal(o.refusal(GONE, msg('3', GONE, '12345')), undefined);
    assert.equal(o.size, 1);
    assert.equal(o.bytes, 5);
  });
});

describe('outbox: the journal on disk', () => {
  it('a save appends about one record; the file is never rewritten below the compaction threshold', async () => {
    const dir = tmpDir();
    const o = new Outbox(new FileStore(dir, 100), caps());
    await o.add(B, msg('first'));
    const inode = fs.statSync(journal(dir)).ino;
    const head = fs.readFileSync(journal(dir));
    for (let i = 0; i < 200; i++) {
      const before = size(journal(dir));
      const m = msg(`m${i}`, B, `message number ${i} `.repeat(10));
      await o.add(B, m);
      assert.equal(size(journal(dir)) - before, recordBytes({ op: 'add', to: B, message: m }), `add ${i} grows the file by its record`);
    }
    const before = size(journal(dir));
    o.remove('m7');
    o.flush();
    assert.equal(size(journal(dir)) - before, recordBytes({ op: 'remove', id: 'm7' }), 'a remove appends a remove record');
    assert.equal(fs.statSync(journal(dir)).ino, inode, 'the same file: appended to, not replaced');
    assert.deepEqual(fs.readFileSync(journal(dir)).subarray(0, head.length), head, 'what was written stays as it was');
    const again = new Outbox(new FileStore(dir, 100), caps());
    assert.equal(again.size, 200);
    assert.equal(again.get(B, 'm7'), undefined);
    assert.equal(again.pending(B)[0].id, 'first');
  });

  it('is compacted only once it is past twice the live size (and the minimum), then holds the live entries', async () => {
    const dir = tmpDir();
    const store = new FileStore(dir, 100, () => {}, { outboxCompactMinBytes: 8 * 1024 });
    const o = new Outbox(store, caps());
    for (let i = 0; i < 5; i++) await o.add(B, msg(`keep${i}`));
    const inode = fs.statSync(journal(dir)).ino;
    let compactedAt = -1;
    for (let i = 0; i < 200 && compactedAt < 0; i++) {
      const before = store.outboxStats().journalBytes;
      await o.add(B, msg(`tmp${i}`, B, 'z'.repeat(100)));
      o.remove(`tmp${i}`);
      o.flush();
      if (fs.statSync(journal(dir)).ino !== inode) {
        compactedAt = i;
        assert.ok(before > 8 * 1024 - 400, `not compacted before the threshold (journal was ${before} bytes)`);
      }
    }
    assert.ok(compactedAt > 0, 'compacted once past the threshold');
    const live = o.all().map((e) => recordBytes({ op: 'add', to: e.to, message: e.message })).reduce((x, y) => x + y, 0);
    // Compacted at the commit that crossed the threshold (an add, whose remove then followed).
    const last = msg(`tmp${compactedAt}`, B, 'z'.repeat(100));
    const slack = recordBytes({ op: 'add', to: B, message: last }) + recordBytes({ op: 'remove', id: last.id });
    assert.ok(size(journal(dir)) <= live + slack, `the compacted journal holds the live entries: ${size(journal(dir))} bytes, live ${live}`);
    assert.deepEqual(new Outbox(new FileStore(dir, 100), caps()).all().map((e) => e.message.id), ['keep0', 'keep1', 'keep2', 'keep3', 'keep4']);
    if (posix) assert.equal(fs.statSync(journal(dir)).mode & 0o777, 0o600, 'still 0600 after the atomic rewrite');
  });

  it('survives a torn tail: the torn record is cut, the next append starts on its own line', async () => {
    const dir = tmpDir();
    const o = new Outbox(new FileStore(dir, 100), caps());
    for (const id of ['1', '2', '3']) await o.add(B, msg(id));
    const whole = fs.readFileSync(journal(dir));
    const torn = JSON.stringify({ op: 'add', to: B, message: msg('4') });
    fs.appendFileSync(journal(dir), torn.slice(0, torn.length - 7)); // power loss mid-append
    fs.writeFileSync(`${journal(dir)}.4242.tmp`, 'half a compaction'); // and a compaction cut short
    const store = new FileStore(dir, 100);
    const again = new Outbox(store, caps());
    assert.deepEqual(again.pending(B).map((m) => m.id), ['1', '2', '3']);
    assert.equal(store.outboxStats().tornBytes, torn.length - 7);
    assert.deepEqual(fs.readFileSync(journal(dir)), whole, 'cut back to the last whole record');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'the stale temp file is gone');
    await again.add(B, msg('5'));
    assert.deepEqual(new Outbox(new FileStore(dir, 100), caps()).pending(B).map((m) => m.id), ['1', '2', '3', '5'], 'the record after the repair is read back');
  });

  it('keeps a whole last record that only lost its newline, and skips (and reports) a damaged line', async () => {
    const dir = tmpDir();
    const lines = [{ op: 'add', to: B, message: msg('1') }, 'garbage that is no record', { op: 'add', to: B, message: msg('2') }];
    fs.writeFileSync(journal(dir), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
    const errors: string[] = [];
    const o = new Outbox(new FileStore(dir, 100, (e) => errors.push(e)), caps());
    assert.deepEqual(o.pending(B).map((m) => m.id), ['1', '2']);
    assert.ok(errors.some((e) => /skipped 1 damaged line/.test(e)), errors.join(' | '));
    await o.add(B, msg('3'));
    assert.deepEqual(new Outbox(new FileStore(dir, 100), caps()).pending(B).map((m) => m.id), ['1', '2', '3']);
  });

  it('migrates an outbox.json once: the entries come back, the old file goes, the journal is 0600', () => {
    const dir = tmpDir();
    const old: OutboxEntry[] = [
      { to: B, message: msg('old1') },
      { to: GONE, message: msg('old2', GONE) },
    ];
    fs.writeFileSync(path.join(dir, 'outbox.json'), JSON.stringify(old), { mode: 0o644 });
    const store = new FileStore(dir, 100);
    const o = new Outbox(store, caps());
    assert.deepEqual(o.all(), old);
    assert.equal(store.outboxStats().migrated, true);
    assert.equal(fs.existsSync(path.join(dir, 'outbox.json')), false, 'outbox.json removed');
    if (posix) assert.equal(fs.statSync(journal(dir)).mode & 0o777, 0o600);
    const again = new FileStore(dir, 100);
    assert.deepEqual(new Outbox(again, caps()).all(), old);
    assert.equal(again.outboxStats().migrated, false, 'only once');
  });

  it('a node keeps its queued messages in the journal across a restart, 0600', async () => {
    const dir = tmpDir();
    const a = offlineNode({ store: new FileStore(dir, 100) });
    const { message } = await a.send('127.0.0.1:9', 'waits');
    await a.shutdown();
    if (posix) assert.equal(fs.statSync(journal(dir)).mode & 0o777, 0o600);
    const b = offlineNode({ store: new FileStore(dir, 100) });
    assert.deepEqual(b.outboxEntries().map((e) => e.message.id), [message.id]);
  });
});

describe('outbox: queued only once stored', () => {
  /** A store that records every append and can be told to fail. */
  class SpyStore extends MemoryStore {
    appends: { records: OutboxRecord[]; durable: boolean }[] = [];
    fail = false;
    appendOutbox(records: OutboxRecord[], durable: boolean): boolean {
      if (this.fail) throw new Error('could not write /data/outbox.jsonl: ENOSPC: no space left on device');
      this.appends.push({ records, durable });
      return false;
    }
  }

  it('a burst of sends in one tick is one durable append; each shows queued only after it', async () => {
    const store = new SpyStore();
    const n = offlineNode({ store });
    const queuedAt = new Map<string, number>();
    n.on('message', (m) => {
      if (m.state === 'queued' && !queuedAt.has(m.id)) queuedAt.set(m.id, store.appends.length);
    });
    const sends = await Promise.all(Array.from({ length: 50 }, (_, i) => n.send('127.0.0.1:9', `burst ${i}`)));
    assert.ok(sends.every((s) => s.result.ok && s.result.queued));
    assert.equal(store.appends.length, 1, 'one write for the whole burst');
    assert.equal(store.appends[0].durable, true, 'fsync\'d');
    assert.deepEqual(store.appends[0].records.map((r) => (r.op === 'add' ? r.message.id : '')), sends.map((s) => s.message.id));
    for (const s of sends) assert.equal(queuedAt.get(s.message.id), 1, 'queued shown after the append, not before');
  });

  it('a message that could not be stored fails with the reason and does not wait', async () => {
    const store = new SpyStore();
    const n = offlineNode({ store });
    store.fail = true;
    const { message, result } = await n.send('127.0.0.1:9', 'disk full');
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /^could not store it in the outbox: could not write .*ENOSPC/);
    assert.equal(n.getHistory().find((m) => m.id === message.id)?.state, 'failed');
    assert.equal(n.outboxEntries().length, 0);
  });

  it('a remove is written without an fsync of its own', async () => {
    const store = new SpyStore();
    const n = offlineNode({ store });
    const { message } = await n.send('127.0.0.1:9', 'to cancel');
    n.cancel(message.id);
    await until('the remove written', () => store.appends.length === 2);
    assert.deepEqual(store.appends[1], { records: [{ op: 'remove', id: message.id }], durable: false });
  });
});

describe('outbox: start-up reconciliation', () => {
  it('plans: waiting but not stored → back into the outbox; done but stored → out; stored but not in history → shown; stored sending → queued', () => {
    const history: ChatMessage[] = [
      msg('q-lost', B, 'q', 'queued'),
      msg('s-lost', B, 's', 'sending'),
      msg('sent-lost', B, 'x', 'sent'),
      msg('q-kept', B, 'k', 'queued'),
      msg('sending-kept', B, 'sk', 'sending'),
      msg('delivered', B, 'd', 'delivered'),
      msg('cancelled', B, 'c', 'cancelled'),
      msg('done', B, 'dd', 'read'),
      { ...msg('classic', B, 'cl', 'sending'), conversation: '127.0.0.1:5000' },
      { id: 'in', conversation: `node:${B}`, direction: 'in', name: 'b', text: 'hi', ts: 1, origin: B },
    ];
    const outbox: OutboxEntry[] = ['q-kept', 'sending-kept', 'delivered', 'cancelled', 'trimmed'].map((id) => ({ to: B, message: msg(id) }));
    const plan = planReconcile(history, outbox);
    assert.deepEqual(plan.requeue.map((r) => [r.to, r.message.id]), [[B, 'q-lost'], [B, 's-lost'], [B, 'sent-lost']]);
    assert.deepEqual(plan.queued.map((m) => m.id), ['sending-kept']);
    assert.deepEqual(plan.drop, ['delivered', 'cancelled']);
    assert.deepEqual(plan.restore.map((e) => e.message.id), ['trimmed']);
  });

  it('a node puts lost messages back (stored, then queued), drops done ones, shows trimmed ones, fails classic ones', async () => {
    const store = new MemoryStore();
    store.history = [
      msg('q-lost', B, 'q', 'queued'),
      msg('s-lost', B, 's', 'sending'),
      msg('delivered', B, 'd', 'delivered'),
      { ...msg('classic', B, 'cl', 'sending'), conversation: '127.0.0.1:5000' },
    ];
    store.outbox = [{ to: B, message: msg('delivered') }, { to: GONE, message: msg('trimmed', GONE) }];
    const n = offlineNode({ store });
    const state = (id: string) => n.getHistory().find((m) => m.id === id)?.state;
    await until('the put-back messages stored and queued', () => state('s-lost') === 'queued' && store.outbox.length === 3);
    assert.deepEqual(n.outboxEntries().map((e) => e.message.id).sort(), ['q-lost', 's-lost', 'trimmed']);
    assert.deepEqual(store.outbox.map((e) => e.message.id).sort(), ['q-lost', 's-lost', 'trimmed'], 'on disk too');
    assert.equal(state('q-lost'), 'queued');
    assert.equal(state('delivered'), 'delivered');
    assert.equal(state('trimmed'), 'queued', 'an outbox entry history lost is shown again');
    assert.equal(state('classic'), 'failed');
  });

  it('a lost message that no longer fits fails with the reason', () => {
    const store = new MemoryStore();
    store.history = [msg('1', B, 'one', 'queued'), msg('2', B, 'two', 'queued')];
    store.outbox = [{ to: B, message: msg('1', B, 'one') }];
    const n = offlineNode({ store, limits: { maxOutboxMessages: 1 } });
    const m2 = n.getHistory().find((m) => m.id === '2');
    assert.equal(m2?.state, 'failed');
    assert.equal(m2?.error, "not sent: PeerChat stopped before it was stored, and the outbox is full: 1 messages waiting (PeerChat's limit); cancel some in Show Outbox");
  });
});

describe('outbox: orphaned entries', () => {
  it('an entry whose node is not in the peer table is listed, named as such, and can be cancelled', async () => {
    const store = new MemoryStore();
    const n = offlineNode({ store });
    const { message } = await n.send('127.0.0.1:9', 'for a peer that goes');
    assert.ok(n.removePeer('127.0.0.1:9'));
    const [e] = n.outboxEntries();
    assert.equal(e.message.id, message.id);
    assert.equal(e.peer, undefined);
    assert.equal(e.recipient, `node ${B.slice(0, 12)}… (not in the peer list)`);
    assert.ok(n.cancel(message.id));
    assert.equal(n.outboxEntries().length, 0);
    assert.equal(n.getHistory().find((m) => m.id === message.id)?.state, 'cancelled');
  });

  it('an entry for a known peer is named by its name and address', async () => {
    const n = offlineNode();
    await n.send('127.0.0.1:9', 'hi');
    assert.equal(n.outboxEntries()[0].recipient, 'peer0 (127.0.0.1:9)');
  });
});

describe('receiver: a re-sent id is shown once, across its restart', () => {
  it('acknowledges the re-sent id and does not show it again', async () => {
    const dir = tmpDir();
    const chat = (origin: string): ChatFrame => ({ type: 'chat', id: randomUUID(), origin, originName: 'snd', ts: Date.now(), conv: 'direct', text: 'exactly once', hops: 0 });
    const sender = Identity.create();
    const frame = chat(sender.nodeId);
    for (let run = 0; run < 2; run++) {
      const n = new PeerNode({ host: HOST, port: 0, name: 'rcv', advertisedIp: HOST, store: new FileStore(dir, 100) });
      live.push(n);
      await n.start();
      const f = (await fakeNativePeer(n.listeningPort, { identity: sender }))!;
      fakes.push(f);
      f.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: f.nodeId, name: 'snd', listen: '127.0.0.1:9' });
      await until('the session', () => n.peers.byNodeId(f.nodeId)?.state === 'connected');
      f.send(frame);
      await f.waitFrame((x: { type?: string; id?: string }) => x.type === 'ack' && x.id === frame.id, 'the ack');
      const shown = n.getHistory().filter((m) => m.id === frame.id && m.direction === 'in');
      assert.equal(shown.length, 1, `run ${run}: shown once`);
      f.socket.destroy();
      await n.shutdown();
    }
  });
});
