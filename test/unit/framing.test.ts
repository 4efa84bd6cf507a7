// The classic framer: when bytes on one connection make a message. Timers are injected (a fake
// clock), so nothing here sleeps.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClassicFramer, ClassicFramerOptions, DEFAULT_QUIET_MS, FrameInfo } from '../../src/core/classic/framing';
import { until } from '../support/until';

/** A manual clock: timers fire only when the test advances it. */
class FakeClock {
  now = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  setTimer = (fn: () => void, ms: number): number => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };
  clearTimer = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}

interface Harness {
  clock: FakeClock;
  framer: ClassicFramer;
  messages: { text: string; info: FrameInfo }[];
  errors: string[];
  probes: number;
  lineModeCalls: number;
}

function harness(over: Partial<ClassicFramerOptions> = {}): Harness {
  const clock = new FakeClock();
  const h: Harness = { clock, framer: undefined as unknown as ClassicFramer, messages: [], errors: [], probes: 0, lineModeCalls: 0 };
  h.framer = new ClassicFramer({
    maxBytes: 1024,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    onMessage: (bytes, info) => h.messages.push({ text: Buffer.from(bytes).toString('utf8'), info }),
    onError: (reason) => h.errors.push(reason),
    onProbe: () => h.probes++,
    onLineMode: () => h.lineModeCalls++,
    ...over,
  });
  return h;
}

const b = (s: string) => Buffer.from(s, 'utf8');
const texts = (h: Harness) => h.messages.map((m) => m.text);

describe('ClassicFramer: one message per connection', () => {
  it('a sender that writes and closes: one message at the close, no timer left behind', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob hi'));
    h.framer.end();
    assert.deepEqual(texts(h), ['127.0.0.1:5000 bob hi']);
    assert.deepEqual(h.messages[0].info, { lineMode: false, cause: 'close', index: 0 });
    assert.equal(h.clock.pending, 0);
    assert.equal(h.framer.closed, true);
  });

  it('joins the TCP segments of one write', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob '));
    h.clock.advance(10);
    h.framer.push(b('héllo'));
    h.framer.end();
    assert.deepEqual(texts(h), ['127.0.0.1:5000 bob héllo']);
  });

  it('keeps newlines inside a message when the first line is not a port', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob line one\nline two\n'));
    h.clock.advance(DEFAULT_QUIET_MS);
    assert.deepEqual(texts(h), ['127.0.0.1:5000 bob line one\nline two\n']);
    assert.equal(h.messages[0].info.cause, 'quiet');
    assert.equal(h.framer.lineMode, false);
  });

  it('a connect-and-close without a byte is a probe: no message, no error', () => {
    const h = harness();
    h.framer.end();
    assert.equal(h.probes, 1);
    assert.deepEqual(h.messages, []);
    assert.deepEqual(h.errors, []);
  });

  it('ignores empty chunks, and everything after the end', () => {
    const h = harness();
    h.framer.push(new Uint8Array(0));
    assert.equal(h.clock.pending, 0);
    h.framer.push(b('x'));
    h.framer.end();
    h.framer.push(b('late'));
    h.framer.end();
    assert.deepEqual(texts(h), ['x']);
    assert.equal(h.probes, 0);
  });
});

describe('ClassicFramer: the quiet gap', () => {
  it('completes a message after the gap while the sender keeps the socket open (ack-waiting senders)', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob hi'));
    h.clock.advance(DEFAULT_QUIET_MS - 1);
    assert.deepEqual(texts(h), []);
    h.clock.advance(1);
    assert.deepEqual(texts(h), ['127.0.0.1:5000 bob hi']);
    assert.equal(h.framer.closed, false);
    h.framer.end();
    assert.equal(h.messages.length, 1, 'nothing more at the close');
    assert.equal(h.probes, 0);
  });

  it('restarts the gap with every chunk', () => {
    const h = harness({ quietMs: 100 });
    h.framer.push(b('ab'));
    h.clock.advance(80);
    h.framer.push(b('cd'));
    h.clock.advance(80);
    assert.deepEqual(texts(h), []);
    h.clock.advance(20);
    assert.deepEqual(texts(h), ['abcd']);
  });

  it('keeps reading: a persistent sender writes more later, each write after a gap is a message', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob connect'));
    h.clock.advance(200);
    h.framer.push(b('127.0.0.1:5000 bob first'));
    h.clock.advance(5000);
    h.framer.push(b('127.0.0.1:5000 bob second'));
    h.clock.advance(150);
    h.framer.end();
    assert.deepEqual(texts(h), ['127.0.0.1:5000 bob connect', '127.0.0.1:5000 bob first', '127.0.0.1:5000 bob second']);
    assert.deepEqual(
      h.messages.map((m) => m.info.index),
      [0, 1, 2],
    );
  });

  it('with a record prefix, cuts messages written back to back faster than the gap', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob connect'));
    h.clock.advance(150);
    h.framer.setRecordPrefix('127.0.0.1:5000 bob ');
    h.framer.push(b('127.0.0.1:5000 bob one127.0.0.1:5000 bob two'));
    h.framer.push(b('127.0.0.1:5000 bob thr'));
    assert.deepEqual(texts(h).slice(1), ['127.0.0.1:5000 bob one', '127.0.0.1:5000 bob two']);
    assert.deepEqual(
      h.messages.slice(1).map((m) => m.info.cause),
      ['repeat', 'repeat'],
    );
    h.framer.push(b('ee'));
    h.clock.advance(150);
    assert.equal(texts(h)[3], '127.0.0.1:5000 bob three');
    h.framer.setRecordPrefix(undefined);
    h.framer.push(b('127.0.0.1:5000 bob a127.0.0.1:5000 bob b'));
    h.framer.end();
    assert.equal(texts(h)[4], '127.0.0.1:5000 bob a127.0.0.1:5000 bob b', 'without a prefix only gaps cut');
  });

  it('does not cut on the prefix when the pending bytes do not start with it', () => {
    const h = harness();
    h.framer.setRecordPrefix('127.0.0.1:5000 bob ');
    h.framer.push(b('quote: 127.0.0.1:5000 bob said'));
    h.framer.end();
    assert.deepEqual(texts(h), ['quote: 127.0.0.1:5000 bob said']);
  });
});

describe('ClassicFramer: line mode', () => {
  it('a first line that is a port puts the connection in line mode: each line is a message', () => {
    const h = harness();
    h.framer.push(b('5000\nCONNECT\n127.0.0.1:5000 bob hello\n127.0.0.1:5000 bob again\n'));
    assert.deepEqual(texts(h), ['5000', 'CONNECT', '127.0.0.1:5000 bob hello', '127.0.0.1:5000 bob again']);
    assert.ok(h.messages.every((m) => m.info.lineMode && m.info.cause === 'line'));
    assert.equal(h.lineModeCalls, 1);
    assert.equal(h.framer.lineMode, true);
    assert.equal(h.clock.pending, 0, 'no partial line, no timer');
  });

  it('takes `PORT CONNECT` on one line, CRLF line ends, and an opening split across segments', () => {
    const h = harness();
    h.framer.push(b('50'));
    assert.equal(h.framer.lineMode, false);
    h.framer.push(b('00 CONNECT\r\n127.0.0.1:5000 bob hi\r\n'));
    assert.deepEqual(texts(h), ['5000 CONNECT', '127.0.0.1:5000 bob hi']);
    assert.equal(h.framer.lineMode, true);
  });

  it('answers line by line as a blocking sender writes them', () => {
    const h = harness();
    h.framer.push(b('5000\n'));
    assert.deepEqual(texts(h), ['5000'], 'the opening is reported at once, so it can be answered');
    h.clock.advance(1000);
    h.framer.push(b('CONNECT\n'));
    h.clock.advance(60_000);
    h.framer.push(b('127.0.0.1:5000 bob hi\n'));
    assert.equal(h.messages.length, 3);
    h.framer.end();
    assert.equal(h.messages.length, 3);
  });

  it('waits for the line end, but a partial line is flushed by the gap and by the close; blank lines are skipped', () => {
    const h = harness();
    h.framer.push(b('5000\n\n127.0.0.1:5000 bob par'));
    assert.deepEqual(texts(h), ['5000']);
    h.framer.push(b('tial\n127.0.0.1:5000 bob no newline'));
    assert.deepEqual(texts(h), ['5000', '127.0.0.1:5000 bob partial']);
    h.clock.advance(DEFAULT_QUIET_MS);
    assert.equal(texts(h)[2], '127.0.0.1:5000 bob no newline');
    assert.equal(h.messages[2].info.cause, 'quiet');
    h.framer.push(b('tail'));
    h.framer.end();
    assert.deepEqual(h.messages[3], { text: 'tail', info: { lineMode: true, cause: 'close', index: 3 } });
  });

  it('a long first line is not an opening, even if a port line follows', () => {
    const h = harness();
    h.framer.push(b('127.0.0.1:5000 bob '));
    h.framer.push(b('x\n5000\n'));
    assert.equal(h.framer.lineMode, false);
    h.framer.end();
    assert.deepEqual(texts(h), ['127.0.0.1:5000 bob x\n5000\n']);
  });

  it('a port out of range is not an opening', () => {
    const h = harness();
    h.framer.push(b('70000\nhi\n'));
    h.framer.end();
    assert.equal(h.lineModeCalls, 0);
    assert.deepEqual(texts(h), ['70000\nhi\n']);
  });

  it('can be forced on, reporting the lines already pending, and off', () => {
    const h = harness();
    h.framer.push(b('one\ntwo\nthr'));
    h.framer.setLineMode(true);
    assert.deepEqual(texts(h), ['one', 'two']);
    h.framer.setLineMode(false);
    h.framer.push(b('ee\nfour\n'));
    h.framer.end();
    assert.deepEqual(texts(h), ['one', 'two', 'three\nfour\n']);
  });
});

describe('ClassicFramer: limits', () => {
  it('fails a message longer than maxBytes, reports nothing more and leaves no timer', () => {
    const h = harness({ maxBytes: 10 });
    h.framer.push(b('12345'));
    h.framer.push(b('678901'));
    assert.equal(h.errors.length, 1);
    assert.match(h.errors[0], /longer than 10 bytes/);
    assert.equal(h.clock.pending, 0);
    h.framer.push(b('more'));
    h.framer.end();
    h.clock.advance(1000);
    assert.deepEqual(h.messages, []);
    assert.equal(h.errors.length, 1);
    assert.equal(h.probes, 0);
  });

  it('in line mode the limit is per line, not per connection', () => {
    const h = harness({ maxBytes: 30 });
    h.framer.push(b('5000\n'));
    for (let i = 0; i < 10; i++) h.framer.push(b(`127.0.0.1:5000 bob line ${i}\n`));
    assert.equal(h.messages.length, 11);
    h.framer.push(b(`${'x'.repeat(40)}\n`));
    assert.equal(h.errors.length, 1);
    assert.match(h.errors[0], /line longer than 30 bytes/);
  });

  it('fails a connection past maxConnectionBytes', () => {
    const h = harness({ maxBytes: 100, maxConnectionBytes: 25 });
    h.framer.push(b('0123456789'));
    h.clock.advance(150);
    h.framer.push(b('0123456789'));
    h.clock.advance(150);
    h.framer.push(b('0123456789'));
    assert.equal(h.messages.length, 2);
    assert.match(h.errors[0], /more than 25 bytes on one connection/);
  });

  it('dispose stops the timer and reports nothing', () => {
    const h = harness();
    h.framer.push(b('hi'));
    h.framer.dispose();
    assert.equal(h.clock.pending, 0);
    h.clock.advance(1000);
    h.framer.end();
    assert.deepEqual(h.messages, []);
    assert.equal(h.probes, 0);
  });

  it('uses real timers when none are injected', async () => {
    const got: string[] = [];
    const f = new ClassicFramer({ quietMs: 5, maxBytes: 100, onMessage: (m) => got.push(Buffer.from(m).toString()), onError: () => undefined });
    f.push(b('hi'));
    await until('the message after the real quiet gap', () => got.length > 0, 2000);
    assert.deepEqual(got, ['hi']);
    f.dispose();
  });
});

describe('ClassicFramer: properties (fast-check)', () => {
  /** Cuts a byte string into chunks at the given points. */
  function chunk(bytes: Buffer, cuts: number[]): Buffer[] {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, c) => a - c);
    const out: Buffer[] = [];
    let last = 0;
    for (const p of [...points, bytes.length]) {
      if (p > last) out.push(bytes.subarray(last, p));
      last = p;
    }
    return out;
  }

  it('however one write is segmented, with pauses shorter than the gap, it is one message', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 500 }).filter((u) => !/^\d{1,5}( +CONNECT)?\r?\n/.test(Buffer.from(u).toString('latin1'))),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: DEFAULT_QUIET_MS - 1 }), { maxLength: 10 }),
        fc.boolean(),
        (u, cuts, pauses, closeAtEnd) => {
          const h = harness({ maxBytes: 1000 });
          const bytes = Buffer.from(u);
          chunk(bytes, cuts).forEach((c, i) => {
            h.framer.push(c);
            h.clock.advance(pauses[i] ?? 0);
          });
          if (closeAtEnd) h.framer.end();
          else h.clock.advance(DEFAULT_QUIET_MS);
          assert.equal(h.messages.length, 1);
          assert.equal(h.messages[0].info.cause, closeAtEnd ? 'close' : 'quiet');
          assert.equal(h.errors.length, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('byte for byte: the message equals the bytes written', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 17, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (u, cuts) => {
        const got: Buffer[] = [];
        const clock = new FakeClock();
        const f = new ClassicFramer({
          maxBytes: 1000,
          setTimer: clock.setTimer,
          clearTimer: clock.clearTimer,
          onMessage: (m, info) => {
            assert.equal(info.lineMode, false);
            got.push(Buffer.from(m));
          },
          onError: (r) => assert.fail(r),
        });
        // 17+ bytes with no line end among the first 17: never a line-mode opening.
        const bytes = Buffer.from(u).map((x, i) => (i < 17 && x === 0x0a ? 0x20 : x));
        for (const c of chunk(Buffer.from(bytes), cuts)) f.push(c);
        f.end();
        assert.equal(got.length, 1);
        assert.ok(got[0].equals(Buffer.from(bytes)));
      }),
      { numRuns: 300 },
    );
  });

  it('in line mode, however the lines are segmented, the messages are the non-empty lines', () => {
    const lineArb = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '😀', ':'), maxLength: 30 });
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), (lines, cuts) => {
        const h = harness({ maxBytes: 1000 });
        const bytes = b(`5000\n${lines.map((l) => `${l}\n`).join('')}`);
        for (const c of chunk(bytes, cuts)) h.framer.push(c);
        h.framer.end();
        assert.deepEqual(texts(h), ['5000', ...lines.filter((l) => l.length > 0)]);
        assert.ok(h.messages.every((m) => m.info.lineMode));
      }),
      { numRuns: 300 },
    );
  });
});
