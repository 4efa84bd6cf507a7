/**
 * When bytes on one classic connection make a message. Pure: no sockets, timers injected.
 *
 * A message is complete
 * - when the sender closes (`end()`): the one-connection-per-message programs;
 * - at each line end, on a connection in line mode: a persistent sender whose first line is its
 *   listening port (`5000`, or `5000 CONNECT`), then `CONNECT`, then one message per line, blocking
 *   after each until it reads `Message received`;
 * - after a quiet gap (`quietMs`, default 150 ms) following data: ack-waiting senders keep the
 *   socket open until they get a reply, so a message is never held until the close;
 * - optionally, where the record prefix (`setRecordPrefix`, a persistent sender's `IP:PORT NAME `
 *   header) starts again: a sender that writes messages back to back with no delimiter.
 *
 * It keeps reading after a message: persistent senders write more on the same socket later.
 * Line mode is decided once, from the connection's first line (or forced with `setLineMode`).
 *
 * With a `trickle` rule (the listener sets one), bytes that trickle in are never a message: every
 * classroom program writes a message in one write (or a few close together), so what it sends
 * arrives within milliseconds. A slow-loris writes a byte at a time; cut at every quiet gap, each
 * byte would be a message. So a piece shorter than `minPieceBytes` is held over the quiet gap until
 * the next thing shows what it was: a close or a real write after one short piece makes it a
 * message of its own (a short write, just late); a second short piece makes the connection a
 * trickler. On a trickler, short pieces and held bytes are never a message (reported to `onTrickle`
 * and dropped; held bytes at the latest after `maxSpanMs`, so it holds next to nothing), while a real
 * write on it still is. A message whose bytes took longer than `maxSpanMs` at under
 * `minBytesPerSecond` (a trickle below the gap) is dropped the same way.
 * Limits: one pending message may not exceed `maxBytes`, the whole connection not
 * `maxConnectionBytes`; past either the framer fails (`onError`) and ignores the rest, and the
 * owner closes the socket. A connection that ends without a byte is a liveness probe (`onProbe`),
 * not a message and not an error.
 */
import { isLineModeOpening } from './dialects/lineMode';

/** Why a message was cut where it was. */
export type FrameCause = 'close' | 'line' | 'quiet' | 'repeat';

export interface FrameInfo {
  /** The connection is in line mode: pass it on to `parseAny` as `ctx.lineMode`. */
  lineMode: boolean;
  cause: FrameCause;
  /** 0 for the connection's first message, then 1, 2, ... */
  index: number;
}

export type TimerHandle = unknown;

/** When bytes count as trickled in rather than written (see the file comment). */
export interface TrickleRule {
  /** A quiet gap after a shorter piece does not cut: the piece waits for more, or the close. */
  minPieceBytes: number;
  /** A message whose bytes took longer than this to arrive ... */
  maxSpanMs: number;
  /** ... at fewer bytes per second than this was trickled in. */
  minBytesPerSecond: number;
}

/** The listener's rule: a 1 KiB classroom write arrives in one segment, in well under a second. */
export const DEFAULT_TRICKLE: Readonly<TrickleRule> = Object.freeze({ minPieceBytes: 4, maxSpanMs: 1000, minBytesPerSecond: 1024 });

export interface ClassicFramerOptions {
  /** Silence after data that completes a message. Default 150 ms. */
  quietMs?: number;
  /** Largest message (bytes pending before it is complete); past it the framer fails. */
  maxBytes: number;
  /** Largest total of one connection; past it the framer fails. Default: no limit. */
  maxConnectionBytes?: number;
  /** Timer functions; default the global setTimeout/clearTimeout. Tests inject fake ones. */
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
  /** A complete message (never empty). */
  onMessage(bytes: Uint8Array, info: FrameInfo): void;
  /** The connection broke a limit; nothing more is reported. */
  onError(reason: string): void;
  /** The connection ended without sending a byte. */
  onProbe?(): void;
  /** The first line put the connection in line mode (before its lines are reported). */
  onLineMode?(): void;
  /** Guards against trickled bytes; off when not given (every quiet gap cuts). */
  trickle?: TrickleRule;
  /** Bytes that trickled in were dropped, not made a message (only with `trickle`). */
  onTrickle?(bytes: number, why: string): void;
  /** The clock of the trickle rule; default Date.now. */
  now?: () => number;
}

export const DEFAULT_QUIET_MS = 150;

/** A first line longer than this cannot be a line-mode opening (`65535 CONNECT\r`). */
const MAX_OPENING_BYTES = 16;

type Mode = 'undecided' | 'gap' | 'line';

export class ClassicFramer {
  private buf: Buffer = Buffer.alloc(0);
  private mode: Mode = 'undecided';
  private timer: TimerHandle | undefined;
  private timerSet = false;
  private done = false;
  private failed = false;
  private total = 0;
  private count = 0;
  private prefix: Buffer | undefined;
  /** Bytes at the start of `buf` that sat through a quiet gap without being cut (trickle rule). */
  private held = 0;
  /** Quiet gaps the held bytes sat through, i.e. short pieces they came in. */
  private heldPieces = 0;
  /** The connection sent short pieces gap after gap: none of its short pieces is a message. */
  private trickling = false;
  /** When the first byte of `buf`, the first byte after the held ones, and the last byte arrived. */
  private firstAt = 0;
  private pieceAt = 0;
  private lastAt = 0;
  private readonly now: () => number;
  private readonly quietMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  private readonly clearTimer: (handle: TimerHandle) => void;

  constructor(private readonly opts: ClassicFramerOptions) {
    this.quietMs = opts.quietMs ?? DEFAULT_QUIET_MS;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.now = opts.now ?? Date.now;
  }

  /** Whether the connection is in line mode. */
  get lineMode(): boolean {
    return this.mode === 'line';
  }

  /** Bytes received so far on the connection. */
  get bytesReceived(): number {
    return this.total;
  }

  /** Messages reported so far. */
  get messageCount(): number {
    return this.count;
  }

  /** Bytes waiting to become a message. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  /** Ended, failed or disposed: further input is ignored. */
  get closed(): boolean {
    return this.done;
  }

  /** Data arrived on the connection. */
  push(chunk: Uint8Array): void {
    if (this.done || chunk.length === 0) return;
    this.total += chunk.length;
    if (this.opts.maxConnectionBytes !== undefined && this.total > this.opts.maxConnectionBytes) {
      this.fail(`sent more than ${this.opts.maxConnectionBytes} bytes on one connection`);
      return;
    }
    if (this.opts.trickle) {
      const t = this.now();
      if (this.buf.length === 0) this.firstAt = t;
      if (this.buf.length === this.held) this.pieceAt = t;
      this.lastAt = t;
    }
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    if (this.mode === 'undecided') this.decideMode();
    if (this.mode === 'line') this.drainLines();
    else this.splitRepeats();
    if (this.done) return;
    if (this.buf.length > this.opts.maxBytes) {
      this.fail(`a message longer than ${this.opts.maxBytes} bytes`);
      return;
    }
    this.armQuietTimer();
  }

  /** The sender closed (or half-closed): whatever is pending is a message. */
  end(): void {
    if (this.done) return;
    this.cancelTimer();
    if (this.mode === 'line') this.drainLines();
    if (this.done) return;
    this.done = true;
    if (this.buf.length === 0) {
      if (this.total === 0) this.opts.onProbe?.();
      return;
    }
    const rule = this.opts.trickle;
    if (!rule) {
      this.emit(this.takeAll(), 'close');
      return;
    }
    this.releaseHeld('close');
    if (this.buf.length === 0) return;
    // The last piece, written right before the close: a message unless a trickler sent it.
    if (this.trickling && this.buf.length < rule.minPieceBytes) this.dropTrickle(this.takeAll().length, 'pieces');
    else this.deliver(this.takeAll(), 'close', this.pieceAt);
  }

  /** Forces line mode on or off (off: messages are cut by gaps and the close). */
  setLineMode(on: boolean): void {
    if (this.done) return;
    this.mode = on ? 'line' : 'gap';
    if (on) {
      this.drainLines();
      if (!this.done) this.armQuietTimer();
    }
  }

  /**
   * A persistent sender's header (`IP:PORT NAME `), learned from its first message: pending bytes
   * that start with it are cut wherever it starts again, for senders that write messages back to
   * back with no delimiter faster than the quiet gap. Undefined stops it.
   */
  setRecordPrefix(prefix: Uint8Array | string | undefined): void {
    this.prefix = prefix === undefined || prefix.length === 0 ? undefined : Buffer.from(prefix as string);
    if (!this.done && this.mode !== 'line') this.splitRepeats();
  }

  /** Stops the timer and ignores everything from now on, reporting nothing (socket destroyed). */
  dispose(): void {
    this.done = true;
    this.cancelTimer();
    this.buf = Buffer.alloc(0);
    this.held = this.heldPieces = 0;
  }

  private decideMode(): void {
    const nl = this.buf.indexOf(0x0a);
    if (nl >= 0) {
      this.mode = nl <= MAX_OPENING_BYTES && isLineModeOpening(this.buf.subarray(0, nl).toString('latin1')) ? 'line' : 'gap';
      if (this.mode === 'line') this.opts.onLineMode?.();
    } else if (this.buf.length > MAX_OPENING_BYTES) {
      this.mode = 'gap';
    }
  }

  private drainLines(): void {
    let nl: number;
    while (!this.done && (nl = this.buf.indexOf(0x0a)) >= 0) {
      let line = this.buf.subarray(0, nl);
      const { held, startedAt } = this.cutAt(nl + 1);
      if (line.length > this.opts.maxBytes) {
        this.fail(`a line longer than ${this.opts.maxBytes} bytes`);
        return;
      }
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      if (line.length === 0) continue;
      // A line that began in a short piece held over a gap came in pieces: trickled.
      if (held) this.dropTrickle(line.length, 'pieces', true);
      else this.deliver(line, 'line', startedAt);
    }
  }

  private splitRepeats(): void {
    const p = this.prefix;
    if (!p || this.buf.length <= p.length || !this.buf.subarray(0, p.length).equals(p)) return;
    let at: number;
    while (!this.done && (at = this.buf.indexOf(p, 1)) > 0) {
      const message = this.buf.subarray(0, at);
      const { held, startedAt } = this.cutAt(at);
      if (held) this.dropTrickle(message.length, 'pieces', true);
      else this.deliver(message, 'repeat', startedAt);
    }
  }

  /** Takes `n` bytes off the front; says whether held bytes were among them and when they began. */
  private cutAt(n: number): { held: boolean; startedAt: number } {
    const r = { held: this.held > 0, startedAt: this.firstAt };
    this.buf = this.buf.subarray(n);
    this.held = Math.max(0, this.held - n);
    if (this.held === 0) this.heldPieces = 0;
    // What is left arrived in the chunk being read (earlier bytes would have been cut already).
    this.firstAt = this.pieceAt = this.lastAt;
    return r;
  }

  /** A complete message, unless the trickle rule says it took too long to arrive. */
  private deliver(bytes: Buffer, cause: FrameCause, startedAt: number): void {
    const rule = this.opts.trickle;
    if (rule) {
      const span = this.lastAt - startedAt;
      if (span > rule.maxSpanMs && (bytes.length * 1000) / span < rule.minBytesPerSecond) {
        this.dropTrickle(bytes.length, 'slow', true, span);
        return;
      }
    }
    this.emit(bytes, cause);
  }

  /**
   * Something came after the held bytes (a real write, or the close): one short piece was a short
   * write, a message of its own; a trickler's held bytes are dropped.
   */
  private releaseHeld(cause: FrameCause): void {
    if (this.held === 0) return;
    const n = this.held;
    const bytes = this.buf.subarray(0, n);
    const lone = this.heldPieces === 1 && !this.trickling;
    this.buf = this.buf.subarray(n);
    this.held = this.heldPieces = 0;
    this.firstAt = this.pieceAt;
    // Under minPieceBytes in one piece, it arrived within a few gaps: no span to check.
    if (lone) this.emit(bytes, cause);
    else this.dropTrickle(n, 'pieces');
  }

  private dropTrickle(bytes: number, how: 'pieces' | 'slow', sticky = false, spanMs = this.lastAt - this.firstAt): void {
    if (sticky) this.trickling = true;
    if (this.failed) return;
    const over = `${(spanMs / 1000).toFixed(1)} s`;
    const why =
      how === 'pieces'
        ? `${bytes} bytes trickled in pieces of under ${this.opts.trickle?.minPieceBytes} bytes over ${over}: not a message`
        : `${bytes} bytes trickled in over ${over} (under ${this.opts.trickle?.minBytesPerSecond} bytes/s): not a message`;
    this.opts.onTrickle?.(bytes, why);
  }

  private takeAll(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    this.held = this.heldPieces = 0;
    return b;
  }

  private emit(bytes: Buffer, cause: FrameCause): void {
    if (this.failed) return;
    if (this.mode === 'undecided') this.mode = 'gap';
    const info: FrameInfo = { lineMode: this.mode === 'line', cause, index: this.count++ };
    this.opts.onMessage(bytes, info);
  }

  private armQuietTimer(): void {
    this.cancelTimer();
    if (this.buf.length === 0) return;
    this.timerSet = true;
    this.timer = this.setTimer(() => {
      this.timerSet = false;
      this.timer = undefined;
      if (this.done || this.buf.length === 0) return;
      this.onQuiet();
    }, this.quietMs);
  }

  private onQuiet(): void {
    const rule = this.opts.trickle;
    if (!rule) {
      this.emit(this.takeAll(), 'quiet');
      return;
    }
    if (this.buf.length - this.held >= rule.minPieceBytes) {
      this.releaseHeld('quiet');
      this.deliver(this.takeAll(), 'quiet', this.pieceAt);
      return;
    }
    // Too short for a write: held over the gap until what comes next shows what it was.
    this.held = this.buf.length;
    this.heldPieces++;
    if (this.heldPieces > 1) this.trickling = true;
    if (this.trickling && this.lastAt - this.firstAt > rule.maxSpanMs) this.dropTrickle(this.takeAll().length, 'pieces');
  }

  private cancelTimer(): void {
    if (this.timerSet) {
      this.clearTimer(this.timer);
      this.timerSet = false;
      this.timer = undefined;
    }
  }

  private fail(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.failed = true;
    this.cancelTimer();
    this.buf = Buffer.alloc(0);
    this.opts.onError(reason);
  }
}
