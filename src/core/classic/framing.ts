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
  private readonly quietMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  private readonly clearTimer: (handle: TimerHandle) => void;

  constructor(private readonly opts: ClassicFramerOptions) {
    this.quietMs = opts.quietMs ?? DEFAULT_QUIET_MS;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
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
    if (this.buf.length > 0) this.emit(this.takeAll(), 'close');
    else if (this.total === 0) this.opts.onProbe?.();
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
      this.buf = this.buf.subarray(nl + 1);
      if (line.length > this.opts.maxBytes) {
        this.fail(`a line longer than ${this.opts.maxBytes} bytes`);
        return;
      }
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      if (line.length > 0) this.emit(line, 'line');
    }
  }

  private splitRepeats(): void {
    const p = this.prefix;
    if (!p || this.buf.length <= p.length || !this.buf.subarray(0, p.length).equals(p)) return;
    let at: number;
    while (!this.done && (at = this.buf.indexOf(p, 1)) > 0) {
      const message = this.buf.subarray(0, at);
      this.buf = this.buf.subarray(at);
      this.emit(message, 'repeat');
    }
  }

  private takeAll(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
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
      this.emit(this.takeAll(), 'quiet');
    }, this.quietMs);
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
