/**
 * Accepts classic connections within the limits and turns each incoming connection into byte
 * payloads (the framer says where one message ends); a silent client is offered the banner and,
 * if it answers, handed to the native layer. One bad connection never affects another.
 */
import { normalizeIp } from '../../address';
import { Limits } from '../../limits';
import { Connection, Listening, Transport } from '../../transport';
import { ClassicFramer, DEFAULT_TRICKLE, FrameCause } from '../framing';
import { BANNER_DELAY_MS, bannerBytes, ServerDetection } from './detect';

export interface IncomingPayload {
  remoteIp: string;
  remotePort: number;
  bytes: Uint8Array;
  /** The connection is a line-mode sender's (its first line was a port). */
  lineMode: boolean;
  /** Why the framer cut here: the sender closed, a line ended, or a quiet gap. */
  cause: FrameCause;
}

/** The connection a message came on: answers go back on it only while the sender keeps it open. */
export interface IncomingConnection {
  /** True while the sender has not closed its side: writing is allowed. */
  isOpen(): boolean;
  /** Writes a reply if the connection is still open; false when it was not written. */
  write(text: string): boolean;
  /** The sender proved to be a real peer: give the connection the longer idle allowance. */
  keepAlive(): void;
  /** A persistent sender's header: later writes that start with it are cut as new messages even
   *  when they arrive faster than the quiet gap. */
  setRecordPrefix(prefix: string): void;
  /** Facts about this connection that later messages on it need (e.g. it opened with `connect`). */
  readonly memo: Record<string, unknown>;
}

export interface ListenerHooks {
  onPayload(p: IncomingPayload, conn: IncomingConnection): void;
  /** A connection dropped for a reason worth logging (too big, idle, over a count limit). */
  onDrop(remote: string, reason: string): void;
  /** Bytes that trickled in (a slow-loris) were dropped instead of becoming a message. */
  onTrickle?(remote: string, reason: string): void;
  /**
   * A client that stayed silent got our banner and echoed it: a PeerChat node. The socket and
   * the bytes after the banner now belong to the native layer. Without this hook no banner is sent.
   */
  onNative?(socket: Connection, leftover: Buffer): void;
}

/** Accepts classic connections within the limits; one bad connection never affects another. */
export class ClassicListener {
  private server: Listening | undefined;
  private readonly sockets = new Set<Connection>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly transport: Transport,
    private readonly limits: Limits,
    private readonly hooks: ListenerHooks,
  ) {}

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Listens; resolves with the bound port. Errors carry the address and a plain reason. */
  async listen(host: string, port: number): Promise<number> {
    // The total is enforced in accept() (not server.maxConnections, which drops silently) so that
    // a refusal is logged with its reason.
    this.server = await this.transport.listen(host, port, (s) => this.accept(s));
    return this.server.port;
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.perIp.clear();
    return server ? server.close() : Promise.resolve();
  }

  private accept(socket: Connection): void {
    const ip = normalizeIp(socket.remoteAddress);
    const remote = `${ip}:${socket.remotePort ?? 0}`;
    socket.on('error', () => {
      /* a reset after the data arrived is normal for classroom senders */
    });
    if (this.sockets.size >= this.limits.maxIncomingConnections) {
      this.hooks.onDrop(remote, `over ${this.limits.maxIncomingConnections} simultaneous connections in all`);
      socket.destroy();
      return;
    }
    const count = (this.perIp.get(ip) ?? 0) + 1;
    if (count > this.limits.maxIncomingPerAddress) {
      this.hooks.onDrop(remote, `more than ${this.limits.maxIncomingPerAddress} simultaneous connections from ${ip}`);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count);
    this.sockets.add(socket);
    let size = 0;
    let done = false;
    let ended = false;
    // Only a silent client (never a classic one) is sent anything: see detect.ts.
    const detection = new ServerDetection(!!this.hooks.onNative);
    let bannerTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(bannerTimer);
      framer.dispose();
      this.sockets.delete(socket);
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    };
    const conn: IncomingConnection = {
      isOpen: () => !ended && !done && !socket.destroyed && socket.writable,
      write: (text) => {
        if (!conn.isOpen()) return false;
        socket.write(text);
        return true;
      },
      keepAlive: () => socket.setTimeout(this.limits.persistentIdleMs),
      setRecordPrefix: (prefix) => framer.setRecordPrefix(prefix),
      memo: {},
    };
    // Messages are cut when the sender closes, at line ends in line mode, or after a quiet gap, so
    // that senders which keep the socket open (waiting for an answer) are answered at once.
    const framer = new ClassicFramer({
      maxBytes: this.limits.maxIncomingBytes,
      maxConnectionBytes: this.limits.maxConnectionBytes,
      // Facing the network: a byte trickled in after each quiet gap must not become a message.
      trickle: DEFAULT_TRICKLE,
      onTrickle: (_bytes, why) => this.hooks.onTrickle?.(remote, why),
      onMessage: (bytes, info) => {
        if (done && info.cause !== 'close') return;
        this.hooks.onPayload({ remoteIp: ip, remotePort: socket.remotePort ?? 0, bytes, lineMode: info.lineMode, cause: info.cause }, conn);
      },
      onError: (reason) => {
        this.hooks.onDrop(remote, reason);
        finish();
        socket.destroy();
      },
    });
    if (this.hooks.onNative) {
      bannerTimer = setTimeout(() => {
        if (done || size > 0 || socket.destroyed) return;
        if (detection.silent()) socket.write(bannerBytes());
      }, BANNER_DELAY_MS);
    }
    socket.setTimeout(this.limits.incomingIdleMs, () => {
      this.hooks.onDrop(remote, `idle for ${Math.round(socket.timeout ?? this.limits.incomingIdleMs) / 1000} s after ${size} bytes`);
      framer.end();
      finish();
      socket.destroy();
    });
    const onData = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      const d = detection.push(chunk);
      if (d.kind === 'wait') return;
      if (d.kind === 'native' && this.hooks.onNative) {
        // Paused at once: what the client sends next (its TLS hello) must wait for the native side.
        socket.pause();
        finish();
        socket.removeListener('data', onData);
        socket.removeAllListeners('end');
        socket.removeAllListeners('timeout');
        socket.setTimeout(0);
        this.hooks.onNative(socket, d.leftover);
        return;
      }
      if (d.kind === 'classic') chunk = d.bytes;
      framer.push(chunk);
    };
    socket.on('data', onData);
    socket.on('end', () => {
      if (done) return;
      ended = true;
      // A bare connect-and-close is a liveness probe: the framer reports nothing for it.
      framer.end();
      finish();
      socket.end();
    });
    socket.on('close', () => {
      if (!done) framer.end();
      finish();
    });
  }
}
