// The pure parts of flood control (issue 12), on a fake clock: the drop tally that says a flood
// once, the per-IP classic rates and the chat budget of senders that have not said who they are.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ClassicFlood, describeDrop, DropTally, formatCount } from '../../src/core/classic/flood';
import { DEFAULT_LIMITS, withLimits } from '../../src/core/limits';

describe('DropTally: one report per flood, never one per drop', () => {
  it('reports a flood once it has been quiet for quietMs, with every drop counted', () => {
    const t = new DropTally(1000, 10_000);
    for (let ms = 0; ms < 500; ms += 10) t.add('a', ms);
    assert.deepEqual(t.due(1400), [], 'not yet quiet for a second');
    assert.equal(t.nextDue(), 490 + 1000);
    assert.deepEqual(t.due(1490), [{ key: 'a', count: 50, since: 0 }]);
    assert.equal(t.size, 0);
    assert.equal(t.nextDue(), undefined);
  });

  it('reports a flood that goes on once every everyMs, counting again from there', () => {
    const t = new DropTally(1000, 5000);
    let reports = 0;
    let counted = 0;
    for (let ms = 0; ms <= 20_000; ms += 100) {
      t.add('a', ms);
      for (const r of t.due(ms)) {
        reports++;
        counted += r.count;
      }
    }
    for (const r of t.flush()) counted += r.count;
    assert.equal(reports, 3, 'a sustained flood of 20 s is said about every 5 s (at 5, 10.1 and 15.2 s; the rest at the flush)');
    assert.equal(counted, 201, 'no drop is lost between reports');
  });

  it('stays in bounds: past maxKeys the oldest flood is reported early', () => {
    const t = new DropTally(1000, 10_000, 3);
    for (const k of ['a', 'b', 'c']) assert.deepEqual(t.add(k, 0), []);
    assert.deepEqual(t.add('d', 1), [{ key: 'a', count: 1, since: 0 }]);
    assert.equal(t.size, 3);
  });
});

describe('ClassicFlood: per-IP rates and the chat budget', () => {
  const clock = () => {
    const c = { t: 0, now: () => c.t };
    return c;
  };

  it('the chat budget: a burst, then the rate; per IP; the rest tallied as one report', () => {
    const c = clock();
    const f = new ClassicFlood(withLimits({ dropSummaryMs: 1000 }), c.now);
    let shown = 0;
    for (let i = 0; i < 100; i++) if (f.admitUnannounced('10.0.0.9').ok) shown++;
    assert.equal(shown, DEFAULT_LIMITS.unannouncedBurst);
    assert.ok(f.admitUnannounced('10.0.0.8').ok, 'another IP has its own budget');
    c.t = 1000;
    assert.ok(f.admitUnannounced('10.0.0.9').ok, 'refilled at 2/s');
    assert.ok(f.admitUnannounced('10.0.0.9').ok);
    assert.equal(f.admitUnannounced('10.0.0.9').ok, false);
    c.t = 2000;
    const due = f.due();
    assert.deepEqual(due, [{ kind: 'unannounced', ip: '10.0.0.9', count: 81, since: 0 }]);
    assert.equal(describeDrop(due[0], DEFAULT_LIMITS).system, '10.0.0.9 sent 81 more messages: dropped');
  });

  it('classic rates: messages beyond the burst and the rate, and bytes beyond theirs, are dropped and said apart', () => {
    const c = clock();
    const f = new ClassicFlood(withLimits({ classicBurst: 10, classicMessagesPerSecond: 5, classicBytesPerSecond: 1000, maxIncomingBytes: 500 }), c.now);
    let ok = 0;
    for (let i = 0; i < 30; i++) if (f.admitClassic('10.0.0.1', 10).ok) ok++;
    assert.equal(ok, 10);
    c.t = 1000;
    for (let i = 0; i < 30; i++) if (f.admitClassic('10.0.0.1', 10).ok) ok++;
    assert.equal(ok, 15, 'five more after a second');
    const big = f.admitClassic('10.0.0.2', 2001);
    assert.deepEqual(big.ok ? undefined : big.kind, 'bytes', 'more than the byte burst (2 s worth)');
    c.t = 10_000;
    const lines = f.due().map((r) => describeDrop(r, withLimits({ classicMessagesPerSecond: 5, classicBytesPerSecond: 1000 })).log).sort();
    assert.deepEqual(lines, ['10.0.0.1 sends more than 5 classic messages/s: cut back, 45 dropped', '10.0.0.2 sends more than 1000 bytes of classic messages/s: cut back, 1 dropped']);
  });

  it('the byte burst always takes one message of the largest size allowed', () => {
    const f = new ClassicFlood(withLimits({ classicBytesPerSecond: 10, maxIncomingBytes: 4096 }), () => 0);
    assert.ok(f.admitClassic('10.0.0.1', 4096).ok);
  });

  it('counts are written for people', () => {
    assert.equal(formatCount(1480), '1,480');
    assert.equal(describeDrop({ kind: 'unannounced', ip: '::1', count: 1, since: 0 }, DEFAULT_LIMITS).system, '::1 sent 1 more message: dropped');
  });
});
