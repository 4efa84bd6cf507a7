// A hand-driven native client: the `PEERCHAT/…` banner exchange, TLS 1.3 with a key of its own
// (as a real node: the accepting node is the TLS server), then length-prefixed JSON frames
// (4-byte big-endian length, UTF-8 JSON body; see src/core/native/frames.ts). It writes whatever it
// is told, valid or not, so that tests can play a well-behaved, a slow or a hostile native peer.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Identity } from '../../src/core/identity/identity';
import { BANNER } from '../../src/core/native/frames';
import { until } from './until';

export { BANNER };

/** A frame of any body: a Buffer or string as is, anything else as JSON. No checks (fuzzing). */
export function frame(body: Buffer | string | object): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return Buffer.concat([lengthPrefix(b.length), b]);
}

/** The 4-byte big-endian length prefix alone (for frames that claim a length they do not have). */
export function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The whole frames in `buf` (a leading banner is skipped); a body that is not JSON is undefined. */
export function decodeFrames(buf: Buffer): unknown[] {
  const out: unknown[] = [];
  let off = buf.subarray(0, BANNER.length).toString('latin1') === BANNER ? BANNER.length : 0;
  while (buf.length - off >= 4) {
    const len = buf.readUInt32BE(off);
    if (buf.length - off - 4 < len) break;
    try {
      out.push(JSON.parse(buf.subarray(off + 4, off + 4 + len).toString('utf8')));
    } catch {
      out.push(undefined);
    }
    off += 4 + len;
  }
  return out;
}

export interface FakeNativePeer {
  /** The stream frames go on: the TLS socket (or the raw one with `tls: false`). */
  readonly socket: net.Socket;
  /** The TCP connection under it. */
  readonly raw: net.Socket;
  /** The id its key proves (what its hello must name). */
  readonly nodeId: string;
  readonly identity: Identity;
  /** Everything the node wrote, banner included. */
  data(): Buffer;
  /** The frames the node wrote after its banner, so far. */
  frames(): unknown[];
  closed(): boolean;
  /** Date.now() when the node closed the connection, undefined while it is open. */
  closedAt(): number | undefined;
  /** Writes one frame (any body, see frame()). */
  send(body: Buffer | string | object): void;
  /** Writes raw bytes. */
  write(b: Buffer | string): void;
  /** Resolves with the first frame the node wrote that satisfies pred (bounded). */
  waitFrame<F = unknown>(pred: (f: F) => boolean, what: string, timeoutMs?: number): Promise<F>;
  /** true once the node closed the connection, false if it did not within ms. */
  waitClose(ms: number): Promise<boolean>;
  /** Half-close; `destroy()` on the socket for an abrupt one. */
  end(): void;
}

export interface FakeNativeOptions {
  host?: string;
  /** Source address to bind (any of 127/8 on Linux). */
  localAddress?: string;
  /** How long to wait for the node's banner; default 1500 ms. */
  bannerTimeoutMs?: number;
  /** Answer the banner (default true); false leaves the session un-negotiated. */
  echoBanner?: boolean;
  /** Run TLS after the banner (default true, as every node does); false speaks plaintext frames. */
  tls?: boolean;
  /** Its key (default: a new one). */
  identity?: Identity;
}

/**
 * Connects to a node and waits for its banner, then (by default) sends the banner back. Resolves
 * undefined when the connection cannot be made, or when the node closed or sent something other
 * than the banner first (it refused the connection).
 */
export async function fakeNativePeer(port: number, o: FakeNativeOptions = {}): Promise<FakeNativePeer | undefined> {
  const raw = await new Promise<net.Socket | undefined>((resolve) => {
    const s = net.connect({ host: o.host ?? '127.0.0.1', port, localAddress: o.localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
  if (!raw) return undefined;
  raw.on('error', () => undefined);
  const identity = o.identity ?? Identity.create();
  const head: Buffer[] = [];
  let rawClosed = false;
  const onHead = (d: Buffer) => head.push(d);
  raw.on('data', onHead);
  raw.once('close', () => (rawClosed = true));
  const gotBanner = await until('the banner', () => Buffer.concat(head).length >= BANNER.length || rawClosed, o.bannerTimeoutMs ?? 1500, undefined, 5).then(
    () => Buffer.concat(head).subarray(0, BANNER.length).toString('latin1') === BANNER,
    () => false,
  );
  raw.off('data', onHead);
  if (!gotBanner) {
    raw.destroy();
    return undefined;
  }
  if (o.echoBanner === false) return wrap(raw, raw, identity);
  raw.write(BANNER);
  if (o.tls === false) return wrap(raw, raw, identity);
  const creds = await identity.tls();
  const secured = await new Promise<tls.TLSSocket | undefined>((resolve) => {
    // A node that refuses after the banner closes the raw socket, maybe before TLS starts on it:
    // a TLS socket over a closed one never says anything, so the raw close ends the wait too.
    if (rawClosed || raw.destroyed) return resolve(undefined);
    raw.once('close', () => resolve(undefined));
    const t = tls.connect({ socket: raw, key: creds.key, cert: creds.cert, minVersion: 'TLSv1.3', rejectUnauthorized: false, checkServerIdentity: () => undefined });
    t.once('secureConnect', () => resolve(t));
    t.once('error', () => resolve(undefined));
    t.once('close', () => resolve(undefined));
  });
  if (!secured) {
    raw.destroy();
    return undefined;
  }
  return wrap(secured, raw, identity);
}

function wrap(socket: net.Socket, raw: net.Socket, identity: Identity): FakeNativePeer {
  const chunks: Buffer[] = [];
  let size = 0;
  let isClosed = false;
  let closedAt: number | undefined;
  const closeWaiters: (() => void)[] = [];
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => {
    if (size < 1 << 20) {
      chunks.push(d);
      size += d.length;
    }
  });
  socket.on('close', () => {
    isClosed = true;
    closedAt = Date.now();
    closeWaiters.splice(0).forEach((w) => w());
  });
  const data = () => Buffer.concat(chunks);
  const peer: FakeNativePeer = {
    socket,
    raw,
    nodeId: identity.nodeId,
    identity,
    data,
    frames: () => decodeFrames(data()),
    closed: () => isClosed,
    closedAt: () => closedAt,
    send: (body) => void socket.write(frame(body)),
    write: (b) => void socket.write(b),
    waitFrame: <F>(pred: (f: F) => boolean, what: string, timeoutMs = 5000) =>
      until(what, () => (peer.frames() as F[]).find((f) => f !== undefined && pred(f)), timeoutMs, () => `frames so far: ${JSON.stringify(peer.frames())}${isClosed ? ' (closed)' : ''}`),
    waitClose: (ms) =>
      isClosed
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(false), ms);
            closeWaiters.push(() => {
              clearTimeout(t);
              resolve(true);
            });
          }),
    end: () => void socket.end(),
  };
  return peer;
}
