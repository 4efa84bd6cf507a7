/**
 * Native PeerChat frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
 * Every frame has a `type`; unknown types are ignored so newer nodes can add frames.
 */

/** Protocol version: a different major is refused with a clear error. */
export const PROTOCOL_VERSION = 2;
/** The line a PeerChat server writes to a client that stayed silent, and the client echoes back. */
export const BANNER = `PEERCHAT/${PROTOCOL_VERSION}\n`;

export interface HelloFrame {
  type: 'hello';
  v: number;
  nodeId: string;
  name: string;
  /** "IP:PORT" the sender listens on. */
  listen: string;
}

/** A chat message. conv 'everyone' floods the mesh; 'direct' is for the receiving node only. */
export interface ChatFrame {
  type: 'chat';
  id: string;
  origin: string;
  originName: string;
  /** The origin's listening address, so a receiver two hops away can still show where it came from. */
  originAddress?: string;
  ts: number;
  conv: 'everyone' | 'direct';
  text: string;
  /** Hops left for flooding; 0 = do not forward. */
  hops: number;
  /** Everyone frames: the origin's public key (SPKI DER, base64) and its signature (see signing.ts). */
  key?: string;
  sig?: string;
}

export interface AckFrame {
  type: 'ack';
  id: string;
}
export interface ReadFrame {
  type: 'read';
  ids: string[];
}
export interface PingFrame {
  type: 'ping';
}
export interface PongFrame {
  type: 'pong';
}
export interface PeerInfo {
  nodeId: string;
  address: string;
  name: string;
  lastSeen?: number;
}
export interface PeersFrame {
  type: 'peers';
  peers: PeerInfo[];
}
/** Ask for Everyone messages newer than `since` (catch-up after being away). */
export interface SyncFrame {
  type: 'sync';
  since: number;
}
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
}
/** The sender leaves for good (the user disconnected): do not reconnect. */
export interface ByeFrame {
  type: 'bye';
}

export type Frame = HelloFrame | ChatFrame | AckFrame | ReadFrame | PingFrame | PongFrame | PeersFrame | SyncFrame | ErrorFrame | ByeFrame;

const str = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Validates a decoded frame. Returns the frame, 'unknown' for a well-formed frame of a type this
 * version does not know (ignored), or undefined when it is malformed (the session is closed).
 */
export function checkFrame(v: unknown): Frame | 'unknown' | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const f = v as Record<string, unknown>;
  switch (f.type) {
    case 'hello':
      return num(f.v) && str(f.nodeId, 64) && str(f.name, 200) && str(f.listen, 100) ? (f as unknown as HelloFrame) : undefined;
    case 'chat':
      return str(f.id, 64) &&
        str(f.origin, 64) &&
        str(f.originName, 200) &&
        (f.originAddress === undefined || str(f.originAddress, 100)) &&
        num(f.ts) &&
        (f.conv === 'everyone' || f.conv === 'direct') &&
        str(f.text, 256 * 1024) &&
        num(f.hops) &&
        (f.key === undefined || str(f.key, 400)) &&
        (f.sig === undefined || str(f.sig, 400))
        ? (f as unknown as ChatFrame)
        : undefined;
    case 'ack':
      return str(f.id, 64) ? (f as unknown as AckFrame) : undefined;
    case 'read':
      return Array.isArray(f.ids) && f.ids.length <= 1000 && f.ids.every((x) => str(x, 64)) ? (f as unknown as ReadFrame) : undefined;
    case 'ping':
    case 'pong':
    case 'bye':
      return f as unknown as Frame;
    case 'peers':
      return Array.isArray(f.peers) &&
        f.peers.length <= 500 &&
        f.peers.every((p) => typeof p === 'object' && p !== null && str((p as PeerInfo).nodeId, 64) && str((p as PeerInfo).address, 100) && str((p as PeerInfo).name, 200))
        ? (f as unknown as PeersFrame)
        : undefined;
    case 'sync':
      return num(f.since) ? (f as unknown as SyncFrame) : undefined;
    case 'error':
      return str(f.code, 64) && str(f.message, 1000) ? (f as unknown as ErrorFrame) : undefined;
    default:
      return typeof f.type === 'string' ? 'unknown' : undefined;
  }
}

export function encodeFrame(f: Frame): Buffer {
  const body = Buffer.from(JSON.stringify(f), 'utf8');
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * Incremental decoder: feed it chunks, it calls back with each whole frame. A frame over the size
 * limit or that is not JSON is an error: the caller closes that one session.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes: number) {}

  /** Returns the frames completed by this chunk; throws a RangeError/SyntaxError on bad input. */
  push(chunk: Buffer): unknown[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: unknown[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > this.maxFrameBytes) throw new RangeError(`frame of ${len} bytes is over the ${this.maxFrameBytes}-byte limit`);
      if (this.buf.length - off - 4 < len) break;
      const body = this.buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      out.push(JSON.parse(body.toString('utf8')));
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }

  get buffered(): number {
    return this.buf.length;
  }
}
