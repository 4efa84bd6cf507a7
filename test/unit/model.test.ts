import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { addressKey, parseAddress, tryParseAddress } from '../../src/core/address';
import { DEFAULT_LIMITS, withLimits } from '../../src/core/limits';
import { nameProblem, sanitizePeerName, validateName } from '../../src/core/names';
import { PeerTable } from '../../src/core/peers/table';
import { FileStore } from '../../src/core/store';
import type { ChatMessage } from '../../src/core/chatTypes';
import { tmpDir } from '../support/tmpDir';

describe('addresses', () => {
  it('parses host:port and bracketed IPv6', () => {
    assert.deepEqual(tryParseAddress(' 192.168.1.2:6000 '), { host: '192.168.1.2', port: 6000 });
    assert.deepEqual(tryParseAddress('[::1]:6000'), { host: '::1', port: 6000 });
    assert.equal(addressKey({ host: '::1', port: 6000 }), '[::1]:6000');
  });
  it('explains what is wrong', () => {
    assert.throws(() => parseAddress('1.2.3.4:99999'), /port must be a number from 1 to 65535/);
    assert.throws(() => parseAddress('hello'), /expected host:port/);
    assert.throws(() => parseAddress('bad host!:80'), /not a valid host/);
  });
});

describe('names', () => {
  it('refuses spaces, colons and empty names, saying why', () => {
    assert.match(nameProblem('a b') ?? '', /no spaces/);
    assert.match(nameProblem('a:b') ?? '', /no colons/);
    assert.match(nameProblem('') ?? '', /empty/);
    assert.equal(nameProblem('team_7'), undefined);
    assert.throws(() => validateName('two words'), /cannot be a name/);
  });
  it('sanitises peer names: no control or bidi-override characters, bounded', () => {
    assert.equal(sanitizePeerName('ev\u202eil\u0007'), 'evil');
    assert.equal(sanitizePeerName('x'.repeat(500)).length, 64);
    assert.equal(sanitizePeerName('\u200b'), '?');
  });
});

describe('limits', () => {
  it('has the documented defaults and takes overrides', () => {
    assert.equal(DEFAULT_LIMITS.maxIncomingBytes, 64 * 1024);
    assert.equal(DEFAULT_LIMITS.incomingIdleMs, 10_000);
    assert.ok(DEFAULT_LIMITS.classicWriteBytes <= 1023);
    assert.equal(withLimits({ maxPeers: 3 }).maxPeers, 3);
    assert.equal(withLimits({ maxPeers: 3 }).maxHistory, DEFAULT_LIMITS.maxHistory);
  });
});

describe('peer table', () => {
  it('upserts by address, changes state and emits changes', () => {
    const t = new PeerTable();
    let changes = 0;
    t.on('changed', () => changes++);
    t.upsert({ host: '10.0.0.1', port: 5000 }, { name: 'ana' });
    t.upsert({ host: '10.0.0.1', port: 5000 }, { state: 'connected' });
    assert.equal(t.size, 1);
    assert.deepEqual(
      { name: t.get('10.0.0.1:5000')?.name, state: t.get('10.0.0.1:5000')?.state },
      { name: 'ana', state: 'connected' },
    );
    t.setState('10.0.0.1:5000', 'gone');
    assert.equal(t.get('10.0.0.1:5000')?.state, 'gone');
    assert.ok(t.remove('10.0.0.1:5000'));
    assert.equal(t.size, 0);
    assert.equal(changes, 4);
  });

  it('restores stored peers as known, skipping junk', () => {
    const a = new PeerTable();
    a.upsert({ host: '10.0.0.1', port: 5000 }, { name: 'ana', state: 'connected', lastSeen: 5 });
    const b = new PeerTable();
    b.restore([...a.toStored(), { nope: 1 }, null, { host: 'x' }]);
    assert.equal(b.size, 1);
    assert.equal(b.get('10.0.0.1:5000')?.state, 'known');
    assert.equal(b.get('10.0.0.1:5000')?.name, 'ana');
    assert.equal(b.get('10.0.0.1:5000')?.lastSeen, 5);
  });

  it('forgets the least recently seen peers past the cap, connected ones last', () => {
    const t = new PeerTable(2);
    t.upsert({ host: '10.0.0.1', port: 1 }, { state: 'connected', lastSeen: 1 });
    t.upsert({ host: '10.0.0.2', port: 1 }, { lastSeen: 2 });
    t.upsert({ host: '10.0.0.3', port: 1 }, { lastSeen: 3 });
    assert.equal(t.size, 2);
    assert.ok(t.get('10.0.0.1:1'), 'connected peer kept while others can go');
    assert.equal(t.get('10.0.0.2:1'), undefined);
    t.upsert({ host: '10.0.0.4', port: 1 }, { state: 'connected', lastSeen: 4 });
    t.upsert({ host: '10.0.0.5', port: 1 }, { state: 'connected', lastSeen: 5 });
    assert.equal(t.size, 2, 'the cap holds against a flood of connected peers');
    assert.ok(t.get('10.0.0.5:1'));
  });
});

describe('file store', () => {
  const msg = (id: string, ts: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
    id, ts, conversation: 'everyone', direction: 'in', name: 'a', text: `m${id}`, ...extra,
  });

  it('keeps peers and history across instances; the last record of an id wins; torn lines are skipped', () => {
    const dir = tmpDir('peerchat-store-');
    const s1 = new FileStore(dir, 100);
    s1.savePeers([{ address: '1.2.3.4:5', host: '1.2.3.4', port: 5, name: 'x', source: 'message' }]);
    s1.appendHistory([msg('1', 1), msg('2', 2, { direction: 'out', state: 'sending' })]);
    s1.appendHistory([msg('2', 2, { direction: 'out', state: 'sent' })]);
    fs.appendFileSync(path.join(dir, 'history.jsonl'), '{"id":"3","te');
    const s2 = new FileStore(dir, 100);
    assert.equal(s2.loadPeers()[0].name, 'x');
    const h = s2.loadHistory();
    assert.deepEqual(h.map((m) => m.id), ['1', '2']);
    assert.equal(h[1].state, 'sent');
  });

  it('keeps only the last maxHistory messages', () => {
    const dir = tmpDir('peerchat-store-');
    const s = new FileStore(dir, 10);
    s.appendHistory(Array.from({ length: 25 }, (_, i) => msg(String(i), i)));
    assert.ok(s.needsCompaction());
    const h = s.loadHistory();
    assert.equal(h.length, 10);
    assert.equal(h[0].id, '15');
    s.rewriteHistory(h);
    assert.equal(fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trim().split('\n').length, 10);
  });
});
