/**
 * One native connection after detection: handshake, framed messages, heartbeats, batched writes
 * and bounded buffering. A bad frame closes this session only.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { normalizeIp } from '../address';
import { checkFrame, encodeFrame, Frame, FrameDecoder, HelloFrame, PROTOCOL_VERSION } from './frames';

export interface SessionOptions {
  nodeId: string;
  name: string;
  /** Our listening address, "IP:PORT". */
  listen: string;
  /** True when this side dialed: decides which of two simultaneous connections survives. */
  initiator: boolean;
  maxFrameBytes: number;
  /** Send a ping when nothing was written for this long. */
  heartbeatMs: number;
  /** Close when nothing was received for this long. */
  deadAfterMs: number;
  /** Above this many bytes waiting to be written, trySend refuses (the caller keeps the item). */
  highWaterBytes: number;
  /** Above this many bytes waiting, even control frames cannot be queued: the peer is too slow. */
  maxQueuedBytes: number;
  /** The handshake must finish within this time. */
  handshakeMs: number;
  /** Clock for heartbeats and the dead-peer check (timers are the global ones). */
  now?: () => number;
  /** The node id the other side proved (TLS): its hello must name exactly this id. */
  provenNodeId?: string;
  /** The remote IP, when the stream (a TLS socket over another stream) does not know it. */
  remoteIp?: string;
  /**
   * Charged with what each read carried; returns how long to stop reading (0: go on). A peer
   * over its rate is slowed through TCP's own backpressure, so nothing it sends is lost.
   */
  throttle?: (bytes: number, frames: number) => number;
}

/** Any byte stream: a TCP socket, a TLS socket, or one end of an in-memory pair in tests. */
export type SessionStream = Duplex & {
  readonly remoteAddress?: string;
  setNoDelay?(noDelay?: boolean): unknown;
  setTimeout?(ms: number): unknown;
};

export interface SessionEvents {
  /** The remote's hello arrived and is compatible. */
  ready: [HelloFrame];
  frame: [Frame];
  /** Writes are possible again after trySend refused. */
  drain: [];
  close: [string];
}

export class NativeSession extends EventEmitter<SessionEvents> {
  remote: HelloFrame | undefined;
  readonly remoteIp: string;
  private readonly decoder: FrameDecoder;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private readonly now: () => number;
  private lastReceived: number;
  private lastWritten: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private congested = false;
  private throttled: NodeJS.Timeout | undefined;
  private closedReason: string | undefined;
  /** Frames received per kind, for tests and the log. */
  readonly stats = { framesIn: 0, framesOut: 0, bytesOut: 0 };

  constructor(
    private readonly socket: SessionStream,
    readonly opts: SessionOptions,
    leftover?: Buffer,
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.lastReceived = this.lastWritten = this.now();
    this.remoteIp = opts.remoteIp ?? normalizeIp(socket.remoteAddress);
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed'));
    socket.on('drain', () => {
      if (this.congested && !this.isCongested()) {
        this.congested = false;
        this.emit('drain');
      }
    });
    this.handshakeTimer = setTimeout(() => this.close(`no handshake within ${opts.handshakeMs} ms`), opts.handshakeMs);
    this.handshakeTimer.unref?.();
    this.sendControl({ type: 'hello', v: PROTOCOL_VERSION, nodeId: opts.nodeId, name: opts.name, listen: opts.listen });
    if (leftover?.length) queueMicrotask(() => this.onData(leftover));
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  get isReady(): boolean {
    return this.isOpen && this.remote !== undefined;
  }

  /** Bytes accepted but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  private isCongested(): boolean {
    return this.queuedBytes > this.opts.highWaterBytes;
  }

  /**
   * Queues a frame (or an already encoded one, to encode a broadcast once for every session)
   * unless the peer is behind; false means "keep it and try again on 'drain'".
   */
  trySend(f: Frame | Buffer): boolean {
    if (!this.isOpen) return false;
    if (this.isCongested()) {
      this.congested = true;
      return false;
    }
    this.enqueue(Buffer.isBuffer(f) ? f : encodeFrame(f));
    return true;
  }

  /** Queues a small control frame; a peer so slow that even these pile up is disconnected. */
  sendControl(f: Frame): void {
    if (!this.isOpen) return;
    if (this.queuedBytes > this.opts.maxQueuedBytes) {
      this.close(`peer too slow: over ${this.opts.maxQueuedBytes} bytes waiting`);
      return;
    }
    this.enqueue(encodeFrame(f));
  }

  /**
   * Closes with a reason; sends a last frame (error/bye) first when given. `graceful` also
   * writes what is queued and half-closes instead of resetting: a duplicate connection closed
   * this way still carries our hello, so the other side finishes its handshake on it and knows
   * the node is there.
   */
  close(reason: string, last?: Frame, graceful = false): void {
    if (this.closedReason !== undefined) return;
    if (last) this.enqueue(encodeFrame(last));
    if (last || graceful) this.flush();
    this.closedReason = reason;
    clearInterval(this.heartbeat);
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.throttled);
    if (last || graceful) this.socket.end();
    else this.socket.destroy();
    // A peer that never reads our last frame must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 1000).unref?.();
    this.emit('close', reason);
  }

  private enqueue(buf: Buffer): void {
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    this.stats.framesOut++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One write per event-loop turn, however many frames were queued: batching is what lets
      // one connection carry over a million small messages a second.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.socket.destroyed) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.stats.bytesOut += data.length;
    this.lastWritten = this.now();
    this.socket.write(data);
    // Refused while our own batch was over the mark, but the kernel took it all: the socket will
    // never emit 'drain', so say it here.
    if (this.congested && !this.isCongested()) {
      this.congested = false;
      setImmediate(() => this.isOpen && this.emit('drain'));
    }
  }

  private onData(d: Buffer): void {
    if (!this.isOpen) return;
    this.lastReceived = this.now();
    let raw: unknown[];
    try {
      raw = this.decoder.push(d);
    } catch (err) {
      this.close(`bad frame: ${(err as Error).message}`, { type: 'error', code: 'ERR_BAD_FRAME', message: (err as Error).message });
      return;
    }
    for (const r of raw) {
      if (!this.isOpen) return;
      const f = checkFrame(r);
      if (f === undefined) {
        this.close('malformed frame', { type: 'error', code: 'ERR_BAD_FRAME', message: 'malformed frame' });
        return;
      }
      if (f === 'unknown') continue;
      this.stats.framesIn++;
      this.onFrame(f);
    }
    const waitMs = this.opts.throttle?.(d.length, raw.length) ?? 0;
    if (waitMs > 0 && this.isOpen && !this.throttled) {
      this.socket.pause();
      // At most a second at a time, and the pause is not silence: the dead-peer check must not
      // count it against the peer.
      this.throttled = setTimeout(() => {
        this.throttled = undefined;
        this.lastReceived = this.now();
        if (this.isOpen) this.socket.resume();
      }, Math.min(waitMs, 1000));
      this.throttled.unref?.();
    }
  }

  private onFrame(f: Frame): void {
    if (!this.remote) {
      if (f.type === 'error') {
        this.close(`peer refused the session: ${f.message}`);
        return;
      }
      if (f.type !== 'hello') {
        this.close('expected hello first', { type: 'error', code: 'ERR_PROTOCOL', message: 'expected hello first' });
        return;
      }
      if (Math.floor(f.v) !== PROTOCOL_VERSION) {
        const message = `incompatible PeerChat protocol version ${f.v} (this node speaks ${PROTOCOL_VERSION}): update PeerChat on both sides`;
        this.close(message, { type: 'error', code: 'ERR_VERSION', message });
        return;
      }
      if (this.opts.provenNodeId !== undefined && f.nodeId !== this.opts.provenNodeId) {
        const message = `hello names node ${String(f.nodeId).slice(0, 16)}… but the certificate proves ${this.opts.provenNodeId.slice(0, 16)}…`;
        this.close(`refused: ${message}`, { type: 'error', code: 'ERR_IDENTITY', message });
        return;
      }
      if (f.nodeId === this.opts.nodeId) {
        this.close('connected to itself');
        return;
      }
      clearTimeout(this.handshakeTimer);
      this.remote = f;
      this.heartbeat = setInterval(() => this.beat(), Math.max(50, Math.floor(this.opts.heartbeatMs / 2)));
      this.heartbeat.unref?.();
      this.emit('ready', f);
      return;
    }
    switch (f.type) {
      case 'ping':
        this.sendControl({ type: 'pong' });
        return;
      case 'pong':
        return;
      case 'hello':
        return; // a repeated hello changes nothing
      default:
        this.emit('frame', f);
    }
  }

  private beat(): void {
    const now = this.now();
    if (now - this.lastReceived > this.opts.deadAfterMs) {
      this.close(`no data for ${Math.round((now - this.lastReceived) / 1000)} s: connection presumed dead`);
      return;
    }
    if (now - this.lastWritten >= this.opts.heartbeatMs) this.sendControl({ type: 'ping' });
  }
}
