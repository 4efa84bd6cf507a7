/**
 * Classic TCP transport: a listener that turns each incoming connection into one byte payload,
 * and a sender that writes one payload per connection. No peer semantics here.
 */
import * as net from 'node:net';
import { normalizeIp } from '../address';
import { describeSocketError, PeerChatError } from '../errors';
import { Limits } from '../limits';
import { BANNER } from '../native/frames';
import { ClassicFramer, FrameCause } from './framing';

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
  /**
   * A client that stayed silent got our banner and echoed it: a PeerChat node. The socket and
   * the bytes after the banner now belong to the native layer. Without this hook no banner is sent.
   */
  onNative?(socket: net.Socket, leftover: Buffer): void;
}

/** How long a silent client waits before a PeerChat server sends its banner. */
export const BANNER_DELAY_MS = 100;

/** Accepts classic connections within the limits; one bad connection never affects another. */
export class ClassicListener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly limits: Limits,
    private readonly hooks: ListenerHooks,
  ) {}

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Listens; resolves with the bound port. Errors carry the address and a plain reason. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      // The total is enforced in accept() (not server.maxConnections, which drops silently) so that
      // a refusal is logged with its reason.
      const server = net.createServer((s) => this.accept(s));
      const onError = (err: NodeJS.ErrnoException) => {
        server.close();
        const where = `${host}:${port}`;
        const code = err.code === 'EADDRINUSE' ? 'ERR_PORT_IN_USE' : 'ERR_LISTEN';
        reject(new PeerChatError(code, `could not listen on ${where}: ${describeSocketError(err)}`, err));
      };
      server.once('error', onError);
      // A large backlog so that bursts of one-connection-per-message senders are not dropped.
      server.listen({ host, port, backlog: 1024, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', () => {
          /* after listening, errors are per connection and handled there */
        });
        this.server = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.perIp.clear();
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
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
    const head: Buffer[] = [];
    // Detection: classic clients speak at once; a client silent for BANNER_DELAY_MS gets the banner,
    // and a PeerChat client answers with the same banner. Classic servers never read it: only a
    // silent client (never a classic one) is sent anything.
    let bannerSent = false;
    let decided = !this.hooks.onNative;
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
        bannerSent = true;
        socket.write(BANNER);
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
      if (!decided) {
        if (!bannerSent) {
          decided = true; // spoke first: classic
        } else {
          head.push(chunk);
          const got = Buffer.concat(head);
          const want = Buffer.from(BANNER);
          if (got.length < want.length && want.subarray(0, got.length).equals(got)) return; // wait for the rest
          decided = true;
          if (got.subarray(0, want.length).equals(want) && this.hooks.onNative) {
            finish();
            socket.removeListener('data', onData);
            socket.removeAllListeners('end');
            socket.removeAllListeners('timeout');
            socket.setTimeout(0);
            this.hooks.onNative(socket, got.subarray(want.length));
            return;
          }
          chunk = got; // a slow classic sender: everything so far is classic
        }
      }
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

export interface SendResult {
  ok: boolean;
  /** Why it failed, in plain words with the address. */
  error?: string;
  /** Whatever the receiver wrote back before closing (acknowledging senders), if anything. */
  reply?: string;
}

export interface SendOptions {
  timeoutMs: number;
  /** How long to wait for a reply after the write before closing our side. */
  replyWaitMs: number;
  retries: number;
  retryBaseMs: number;
}

/** One connection, one write, half-close, read any reply briefly. Never throws. */
export function sendOnce(
  host: string,
  port: number,
  payload: Buffer,
  opt: SendOptions,
  connected?: net.Socket,
): Promise<SendResult & { retryable?: boolean }> {
  return new Promise((resolve) => {
    let written = false;
    let settled = false;
    let reply = '';
    let replyTimer: NodeJS.Timeout | undefined;
    const socket = connected ?? net.connect({ host, port });
    const settle = (r: SendResult & { retryable?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(replyTimer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      settle(written ? { ok: true } : { ok: false, error: `sending to ${host}:${port} timed out after ${opt.timeoutMs} ms` });
    }, opt.timeoutMs);
    socket.setNoDelay(true);
    const write = () =>
      socket.end(payload, () => {
        written = true;
        replyTimer = setTimeout(() => settle({ ok: true, reply: reply || undefined }), opt.replyWaitMs);
      });
    if (connected) write();
    else socket.on('connect', write);
    socket.on('data', (d: Buffer) => {
      if (reply.length < 4096) reply += d.toString('utf8');
    });
    socket.on('close', () => {
      if (written) settle({ ok: true, reply: reply || undefined });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (written) {
        settle({ ok: true, reply: reply || undefined });
        return;
      }
      settle({
        ok: false,
        error: `could not send to ${host}:${port}: ${describeSocketError(err)}`,
        retryable: err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET',
      });
    });
  });
}

/** sendOnce with retries on refused/reset connections: classroom listeners use listen(5). */
export async function sendWithRetry(host: string, port: number, payload: Buffer, opt: SendOptions & { signal?: AbortSignal }): Promise<SendResult> {
  let last: SendResult & { retryable?: boolean } = { ok: false, error: 'not sent' };
  for (let attempt = 0; attempt <= opt.retries; attempt++) {
    if (attempt > 0) {
      if (opt.signal?.aborted) return { ok: false, error: `${last.error ?? 'not sent'} (the node stopped)` };
      // The wait ends at once when the node stops, and then no new connection is made.
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, opt.retryBaseMs * 2 ** (attempt - 1));
        function done() {
          clearTimeout(t);
          opt.signal?.removeEventListener('abort', done);
          resolve();
        }
        opt.signal?.addEventListener('abort', done, { once: true });
      });
      if (opt.signal?.aborted) return { ok: false, error: `${last.error ?? 'not sent'} (the node stopped)` };
    }
    last = await sendOnce(host, port, payload, opt);
    if (last.ok || !last.retryable) break;
  }
  return { ok: last.ok, error: last.error, reply: last.reply };
}

/**
 * Runs tasks for one key one after another (one connection at a time to a classic peer),
 * tasks for different keys in parallel.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

export type ProbeResult =
  | { kind: 'native'; socket: net.Socket; leftover: Buffer }
  | { kind: 'classic'; socket: net.Socket }
  | { kind: 'error'; error: string; retryable: boolean };

/**
 * Dials and waits briefly for a PeerChat banner. Banner: echo it, the socket is native.
 * Silence: a classic server (they never speak first); the open socket is handed back untouched
 * so the classic text goes on this same connection.
 */
export function probeDial(host: string, port: number, waitMs: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    let got = Buffer.alloc(0);
    const want = Buffer.from(BANNER);
    let waitTimer: NodeJS.Timeout | undefined;
    const connectTimer = setTimeout(() => fail(`connecting to ${host}:${port} timed out after ${timeoutMs} ms`, false), timeoutMs);
    const cleanup = () => {
      clearTimeout(waitTimer);
      clearTimeout(connectTimer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(r);
    };
    const fail = (error: string, retryable: boolean) => {
      socket.destroy();
      done({ kind: 'error', error, retryable });
    };
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < want.length && want.subarray(0, got.length).equals(got)) return;
      if (got.subarray(0, want.length).equals(want)) {
        socket.write(want);
        done({ kind: 'native', socket, leftover: got.subarray(want.length) });
      } else {
        // A server that speaks first but not our banner: not PeerChat. Treat as classic.
        done({ kind: 'classic', socket });
      }
    };
    const onError = (err: NodeJS.ErrnoException) =>
      fail(`could not connect to ${host}:${port}: ${describeSocketError(err)}`, err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET');
    const onClose = () => fail(`${host}:${port} closed the connection`, true);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      waitTimer = setTimeout(() => done({ kind: 'classic', socket }), waitMs);
    });
  });
}
