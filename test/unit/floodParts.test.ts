// The pure parts of flood control (issue 12), on a fake clock: the drop tally that says a flood
// once, the per-IP classic rates and the chat budget of senders that have not said who they are.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClassicFramer, DEFAULT_TRICKLE } from '../../src/core/classic/framing';
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

describe('ClassicFramer with the trickle rule: a trickled fragment is never a message', () => {
  /** A manual clock for timers and `now`: nothing fires until the test advances it. */
  function harness(rule = DEFAULT_TRICKLE) {
    let now = 0;
    let seq = 0;
    const timers = new Map<number, { at: number; fn: () => void }>();
    const h = {
      messages: [] as { text: string; cause: string }[],
      trickles: [] as { bytes: number; why: string }[],
      framer: undefined as unknown as ClassicFramer,
      advance(ms: number) {
        const end = now + ms;
        for (;;) {
          let next: [number, { at: number; fn: () => void }] | undefined;
          for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
          if (!next) break;
          timers.delete(next[0]);
          now = next[1].at;
          next[1].fn();
        }
        now = end;
      },
      /** Writes `text` in pieces of `size` bytes, `gapMs` apart. */
      trickle(text: string, size: number, gapMs: number) {
        for (let i = 0; i < text.length; i += size) {
          h.framer.push(Buffer.from(text.slice(i, i + size)));
          h.advance(gapMs);
        }
      },
    };
    h.framer = new ClassicFramer({
      maxBytes: 64 * 1024,
      trickle: rule,
      now: () => now,
      setTimer: (fn, ms) => {
        timers.set(++seq, { at: now + ms, fn });
        return seq;
      },
      clearTimer: (id) => void timers.delete(id as number),
      onMessage: (bytes, info) => h.messages.push({ text: Buffer.from(bytes).toString(), cause: info.cause }),
      onError: (reason) => assert.fail(reason),
      onTrickle: (bytes, why) => h.trickles.push({ bytes, why }),
    });
    return h;
  }

  it('a byte at a time, a quiet gap after each: no message, the trickle reported, next to nothing held', () => {
    const h = harness();
    let maxHeld = 0;
    for (let i = 0; i < 200; i++) {
      h.framer.push(Buffer.from('x'));
      h.advance(250);
      maxHeld = Math.max(maxHeld, h.framer.pendingBytes);
    }
    h.framer.end();
    assert.deepEqual(h.messages, []);
    assert.ok(h.trickles.length > 0);
    assert.equal(h.trickles.reduce((n, t) => n + t.bytes, 0), 200, 'every byte accounted for');
    assert.match(h.trickles[0].why, /trickled in pieces of under 4 bytes/);
    assert.ok(maxHeld <= 6, `held ${maxHeld} bytes at once: what a second of trickle brings`);
  });

  it('real writes on a kept-open socket are still cut by the gap; one short write is a message once the next thing comes', () => {
    const h = harness();
    h.framer.push(Buffer.from('hl : hello headerless'));
    h.advance(5000);
    h.framer.push(Buffer.from('hl : again'));
    h.advance(150);
    h.framer.push(Buffer.from('ok'));
    h.advance(3000);
    assert.deepEqual(h.messages.map((m) => m.text), ['hl : hello headerless', 'hl : again'], 'a short write waits: it may be the start of a trickle');
    h.framer.push(Buffer.from('hl : later'));
    h.advance(150);
    h.framer.push(Buffer.from('hi'));
    h.advance(150);
    h.framer.end();
    assert.deepEqual(h.messages.map((m) => m.text), ['hl : hello headerless', 'hl : again', 'ok', 'hl : later', 'hi']);
    assert.deepEqual(h.trickles, []);
    const one = harness();
    one.framer.push(Buffer.from('hi'));
    one.framer.end();
    assert.deepEqual(one.messages, [{ text: 'hi', cause: 'close' }], 'one short write, then the close: the one-shot programs');
  });

  it('two short pieces make a trickler: none of its short pieces is a message, its real writes still are', () => {
    const h = harness();
    h.trickle('xy', 1, 200);
    h.framer.push(Buffer.from('hl : a real write'));
    h.advance(150);
    h.trickle('z', 1, 200);
    h.framer.push(Buffer.from('w'));
    h.framer.end();
    assert.deepEqual(h.messages.map((m) => m.text), ['hl : a real write']);
    assert.equal(h.trickles.reduce((n, t) => n + t.bytes, 0), 4);
  });

  it('bytes trickled before a real write are dropped; the write stands on its own', () => {
    const h = harness();
    h.trickle('abc', 1, 200);
    h.framer.push(Buffer.from('127.0.0.1:5000 bob real'));
    h.advance(150);
    assert.deepEqual(h.messages.map((m) => m.text), ['127.0.0.1:5000 bob real']);
    assert.equal(h.trickles[0].bytes, 3);
  });

  it('a message trickled in under the gap (a byte every 100 ms) is dropped at the close, not shown', () => {
    const h = harness();
    h.trickle('127.0.0.1:5000 bob slowly', 1, 100);
    h.framer.end();
    assert.deepEqual(h.messages, []);
    assert.match(h.trickles[0].why, /trickled in over 2\.\d s \(under 1024 bytes\/s\)/);
  });

  it('however a write of 4 bytes or more is segmented, with pauses under the gap and within a second, it is one message', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 4, maxLength: 1023 }).filter((s) => !/^\d{1,5}( +CONNECT)?\r?\n/.test(s) && Buffer.byteLength(s) >= 4),
        fc.array(fc.integer({ min: 1, max: 1022 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 149 }), { maxLength: 6 }),
        fc.boolean(),
        (text, cuts, pauses, close) => {
          const h = harness();
          const bytes = Buffer.from(text);
          const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((a, b) => a - b);
          let last = 0;
          let spent = 0;
          [...points, bytes.length].forEach((p, i) => {
            h.framer.push(bytes.subarray(last, p));
            last = p;
            const pause = Math.min(pauses[i] ?? 0, Math.max(0, 999 - spent));
            spent += pause;
            h.advance(pause);
          });
          if (close) h.framer.end();
          else h.advance(150);
          assert.equal(h.messages.length, 1);
          assert.equal(h.messages[0].text, text);
          assert.deepEqual(h.trickles, []);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('line mode: lines written at once are lines; a line trickled a byte at a time is not', () => {
    const h = harness();
    h.framer.push(Buffer.from('5000\nCONNECT\n127.0.0.1:5000 bob hi\n'));
    h.trickle('ab\n', 1, 200);
    h.framer.push(Buffer.from('127.0.0.1:5000 bob again\n'));
    assert.deepEqual(h.messages.map((m) => m.text), ['5000', 'CONNECT', '127.0.0.1:5000 bob hi', '127.0.0.1:5000 bob again']);
    assert.equal(h.trickles.length, 1);
  });
});
