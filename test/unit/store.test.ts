// FileStore and MessageLog against real files in a temp folder: byte budgets on disk and in
// memory, the history read backwards in pieces, unreadable files moved aside, torn tails, modes.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import { MessageLog } from '../../src/core/history/log';
import { DEFAULT_LIMITS } from '../../src/core/limits';
import { FileStore, FileStoreOptions } from '../../src/core/store';
import { tmpDir } from '../support/tmpDir';

const dir = () => tmpDir('peerchat-store-');
const msg = (id: string, ts: number, text = `m${id}`, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  ts,
  conversation: 'everyone',
  direction: 'in',
  name: 'a',
  text,
  ...extra,
});
const historyFile = (d: string) => path.join(d, 'history.jsonl');
const size = (f: string) => fs.statSync(f).size;
const mode = (f: string) => fs.statSync(f).mode & 0o777;
const posix = process.platform !== 'win32';

/** A store with its errors collected, and a log over it (as a node builds them). */
function open(d: string, maxHistory: number, o: FileStoreOptions & { memoryBytes?: number } = {}) {
  const errors: string[] = [];
  const store = new FileStore(d, maxHistory, (e) => errors.push(e), o);
  const log = new MessageLog(store, maxHistory, () => Date.now(), () => {}, o.memoryBytes ?? o.maxHistoryMemoryBytes);
  log.load(() => false);
  return { store, log, errors };
}

describe('history byte budget', () => {
  it('has the documented defaults', () => {
    assert.equal(DEFAULT_LIMITS.maxHistoryBytes, 64 * 1024 * 1024);
    assert.equal(DEFAULT_LIMITS.maxHistoryMemoryBytes, 16 * 1024 * 1024);
  });

  it('appending far beyond the budget keeps the file and the memory bounded', () => {
    const d = dir();
    const budget = 256 * 1024;
    const memory = 64 * 1024;
    const { log, errors } = open(d, 100_000, { maxHistoryBytes: budget, maxHistoryMemoryBytes: memory });
    const text = 'x'.repeat(4000);
    let maxFile = 0;
    for (let i = 0; i < 1000; i++) {
      log.add({ id: `id${i}`, conversation: 'everyone', direction: 'in', name: 'a', text: `${i} ${text}` }); // 4 MB in all
      maxFile = Math.max(maxFile, size(historyFile(d)));
      assert.ok(log.memoryBytes <= memory + 5000, `memory ${log.memoryBytes} at message ${i}`);
    }
    assert.deepEqual(errors, []);
    assert.ok(maxFile <= budget + 5000, `the file grew to ${maxFile} bytes`);
    const kept = log.all();
    assert.ok(kept.length >= 10 && kept.length <= 17, `${kept.length} messages kept`);
    assert.equal(kept.at(-1)?.id, 'id999');
    // A restart reads the newest back, within the memory budget.
    const again = open(d, 100_000, { maxHistoryBytes: budget, maxHistoryMemoryBytes: memory });
    const loaded = again.log.all();
    assert.equal(loaded.at(-1)?.id, 'id999');
    assert.ok(loaded.length >= 10 && loaded.length <= 17, `${loaded.length} loaded`);
    assert.ok(again.log.memoryBytes <= memory);
  });

  it('a loaded file over its budget is compacted at the next write, to the newest messages', () => {
    const d = dir();
    fs.writeFileSync(historyFile(d), Array.from({ length: 200 }, (_, i) => JSON.stringify(msg(`o${i}`, i, 'y'.repeat(1000))) + '\n').join(''));
    const { log, store } = open(d, 1000, { maxHistoryBytes: 50_000 });
    log.add({ id: 'new', conversation: 'everyone', direction: 'in', name: 'a', text: 'hello' });
    assert.equal(store.needsCompaction(), false);
    assert.ok(size(historyFile(d)) <= 25_000, `${size(historyFile(d))} bytes after compaction`);
    const back = open(d, 1000, { maxHistoryBytes: 50_000 }).log.all();
    assert.equal(back.at(-1)?.id, 'new');
    assert.equal(back.at(-2)?.id, 'o199');
  });
});

describe('history read in pieces from the end', () => {
  it('a line far longer than any record is skipped unassembled; the messages around it load', () => {
    const d = dir();
    const lines = [msg('1', 1), msg('2', 2)].map((m) => JSON.stringify(m)).join('\n') + '\n';
    const huge = '{"id":"big","text":"' + 'z'.repeat(3 * 1024 * 1024) + '"}\n';
    const newer = [msg('3', 3), msg('4', 4), msg('5', 5)].map((m) => JSON.stringify(m)).join('\n') + '\n';
    fs.writeFileSync(historyFile(d), lines + huge + newer);
    const { store, log, errors } = open(d, 100, { readChunkBytes: 4096, maxLineBytes: 64 * 1024 });
    assert.deepEqual(
      log.all().map((m) => m.id),
      ['1', '2', '3', '4', '5'],
    );
    assert.equal(store.lastLoad.skippedLines, 1);
    assert.deepEqual(errors, []);
  });

  it('reads only the end of a long file when the newest messages are enough', () => {
    const d = dir();
    const junk = 'q'.repeat(8 * 1024 * 1024) + '\n'; // stands for the older part of a 600 MB flood
    const tail = Array.from({ length: 50 }, (_, i) => JSON.stringify(msg(`n${i}`, 1000 + i)) + '\n').join('');
    fs.writeFileSync(historyFile(d), junk + tail);
    const { store, log } = open(d, 20, { readChunkBytes: 1024, maxHistoryBytes: 4 * 1024 * 1024 });
    assert.deepEqual(
      log.all().map((m) => m.id),
      Array.from({ length: 20 }, (_, i) => `n${30 + i}`),
    );
    assert.ok(store.lastLoad.bytesRead <= 4096, `read ${store.lastLoad.bytesRead} of ${store.lastLoad.fileBytes} bytes`);
    assert.ok(store.needsCompaction(), 'a file over its budget is compacted at the next write');
  });

  it('stops at the memory budget even when maxHistory would allow more', () => {
    const d = dir();
    fs.writeFileSync(historyFile(d), Array.from({ length: 100 }, (_, i) => JSON.stringify(msg(`b${i}`, i, 'w'.repeat(1000))) + '\n').join(''));
    const { store, log } = open(d, 10_000, { maxHistoryMemoryBytes: 10_500, readChunkBytes: 2048 });
    assert.equal(log.all().length, 9);
    assert.equal(log.all().at(-1)?.id, 'b99');
    assert.ok(store.lastLoad.bytesRead < 20_000);
  });

  it('a history that is a folder is moved aside, said so, and a new history starts', () => {
    const d = dir();
    fs.mkdirSync(historyFile(d));
    const { log, errors } = open(d, 100);
    assert.deepEqual(log.all(), []);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /moved it to .*history\.jsonl\.unreadable-\d+/);
    const aside = fs.readdirSync(d).filter((n) => n.startsWith('history.jsonl.unreadable-'));
    assert.equal(aside.length, 1);
    assert.ok(fs.statSync(path.join(d, aside[0])).isDirectory());
    log.add({ id: 'fresh', conversation: 'everyone', direction: 'in', name: 'a', text: 'after' });
    assert.deepEqual(
      open(d, 100).log.all().map((m) => m.id),
      ['fresh'],
    );
  });

  it('a history of garbage is moved aside, never compacted over', () => {
    const d = dir();
    const garbage = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x01]), Buffer.from('\nnot json\n{"also":"no"}\n')]);
    fs.writeFileSync(historyFile(d), garbage);
    const { log, errors } = open(d, 100);
    assert.equal(log.all().length, 0);
    assert.match(errors.join('\n'), /holds no chat message.*unreadable-/);
    const aside = fs.readdirSync(d).filter((n) => n.startsWith('history.jsonl.unreadable-'));
    assert.deepEqual(fs.readFileSync(path.join(d, aside[0])), garbage, 'kept byte for byte');
    assert.equal(fs.existsSync(historyFile(d)), false);
  });
});

describe('torn tail', () => {
  it('a torn last line is cut before the next append, so the message after a restart survives the next one', () => {
    const d = dir();
    fs.writeFileSync(historyFile(d), JSON.stringify(msg('1', 1)) + '\n' + '{"id":"2","te');
    const first = open(d, 100);
    assert.deepEqual(
      first.log.all().map((m) => m.id),
      ['1'],
    );
    first.log.add({ id: 'after', conversation: 'everyone', direction: 'in', name: 'a', text: 'survives' });
    const second = open(d, 100);
    assert.deepEqual(
      second.log.all().map((m) => m.id),
      ['1', 'after'],
    );
    assert.equal(fs.readFileSync(historyFile(d), 'utf8').split('\n').filter(Boolean).length, 2);
  });

  it('a complete last record that only lacks its newline is kept', () => {
    const d = dir();
    fs.writeFileSync(historyFile(d), JSON.stringify(msg('1', 1)) + '\n' + JSON.stringify(msg('2', 2)));
    open(d, 100).log.add({ id: '3', conversation: 'everyone', direction: 'in', name: 'a', text: 'x' });
    assert.deepEqual(
      open(d, 100).log.all().map((m) => m.id),
      ['1', '2', '3'],
    );
  });

  it('a store that appends without loading first also cuts the torn tail', () => {
    const d = dir();
    fs.writeFileSync(historyFile(d), '{"id":"x","te');
    new FileStore(d, 100).appendHistory([msg('a', 1)]);
    assert.deepEqual(
      new FileStore(d, 100).loadHistory().map((m) => m.id),
      ['a'],
    );
  });

  it('atomic rewrites leave no temp file behind', () => {
    const d = dir();
    const s = new FileStore(d, 100);
    s.savePeers([]);
    s.saveOutbox([]);
    s.rewriteHistory([msg('1', 1)]);
    assert.deepEqual(fs.readdirSync(d).sort(), ['history.jsonl', 'outbox.jsonl', 'peers.json']);
  });
});

describe('modes', { skip: !posix && 'POSIX modes only' }, () => {
  it('a fresh data folder is 0700 and its files 0600', () => {
    const d = path.join(dir(), 'data');
    const s = new FileStore(d, 100);
    s.savePeers([]);
    s.saveOutbox([]);
    s.appendHistory([msg('1', 1)]);
    assert.equal(mode(d), 0o700);
    for (const f of ['peers.json', 'outbox.jsonl', 'history.jsonl']) assert.equal(mode(path.join(d, f)), 0o600, f);
    s.rewriteHistory([msg('1', 1)]);
    assert.equal(mode(historyFile(d)), 0o600, 'rewritten history');
  });

  it('an existing 0755 folder with 0644 files is tightened when opened', () => {
    const d = dir();
    for (const f of ['peers.json', 'outbox.json', 'history.jsonl']) fs.writeFileSync(path.join(d, f), f === 'history.jsonl' ? JSON.stringify(msg('1', 1)) + '\n' : '[]', { mode: 0o644 });
    fs.chmodSync(d, 0o755);
    for (const f of ['peers.json', 'outbox.json', 'history.jsonl']) fs.chmodSync(path.join(d, f), 0o644);
    const s = new FileStore(d, 100);
    assert.equal(s.loadHistory().length, 1);
    assert.equal(mode(d), 0o700);
    for (const f of ['peers.json', 'outbox.json', 'history.jsonl']) assert.equal(mode(path.join(d, f)), 0o600, f);
  });
});
