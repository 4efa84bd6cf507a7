/**
 * The block list, pure: what a user string means (`HOST:PORT`, an IP, a node id), one canonical
 * spelling for each, and whether a connection, an address or a node id is blocked. No I/O; the
 * node stores it and enforces it (see blocking.ts).
 */
import * as net from 'node:net';
import { formatHostPort, normalizeIp, tryParseAddress } from '../address';
import { PeerChatError } from '../errors';
import type { StoredPeer } from './table';

/** ip: every connection from (and every address at) that IP; address: one listening address;
 *  node: one PeerChat key, whatever address it uses. */
export type BlockKind = 'ip' | 'address' | 'node';

export interface BlockTarget {
  kind: BlockKind;
  /** Canonical: a normalized IP, `host:port` (IPv6 in brackets, host lower case), or 64 lower-case hex. */
  value: string;
}

export interface BlockEntry extends BlockTarget {
  /** Epoch ms when it was blocked. */
  added: number;
  /** Who it was when blocked (a peer's name), for the list; peer-supplied, clean it before printing. */
  label?: string;
  /** The peers that blocking took out of the table, put back (as known, with their keys and
   *  verification) when the entry is removed. */
  peers?: StoredPeer[];
}

/** What may be asked: any of the three facts known about a connection or a peer. */
export interface BlockQuery {
  /** The remote IP of a connection, or the host of a peer's address. */
  ip?: string;
  /** A listening address `host:port`. */
  address?: string;
  nodeId?: string;
}

/** Peers one entry remembers for its unblock: an IP may have many ports, the file stays small. */
export const MAX_PEERS_PER_ENTRY = 32;

const NODE_ID = /^[0-9a-f]{64}$/i;

/**
 * The one spelling of an IP: IPv4-mapped IPv6 as IPv4, IPv6 compressed and lower case (RFC 5952,
 * as the URL parser writes it), brackets dropped. Undefined when it is not an IP.
 */
export function canonicalIp(text: string): string | undefined {
  const s = normalizeIp(text.trim().replace(/^\[(.*)\]$/, '$1'));
  if (net.isIPv4(s)) return s;
  if (!net.isIPv6(s)) return undefined;
  let host: string;
  try {
    host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return s.toLowerCase(); // a zone id (fe80::1%eth0): no URL form, matched as written
  }
  // The URL form of ::ffff:1.2.3.4 is ::ffff:102:304; sockets report it as 1.2.3.4.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return host;
}

/** `host:port` in its one spelling (IP canonical, name lower case), or undefined. */
export function canonicalAddress(text: string): string | undefined {
  const a = tryParseAddress(text);
  if (!a) return undefined;
  return formatHostPort(canonicalIp(a.host) ?? a.host.toLowerCase(), a.port);
}

/**
 * Reads what the user typed: `HOST:PORT` (`[v6]:PORT`), an IP (v4 or v6), a node id (64 hex
 * digits) or `node:NODEID`. Throws ERR_BAD_INPUT saying what is expected.
 */
export function parseBlockTarget(text: string): BlockTarget {
  const s = text.trim();
  const id = s.toLowerCase().startsWith('node:') ? s.slice(5) : s;
  if (NODE_ID.test(id)) return { kind: 'node', value: id.toLowerCase() };
  if (s.toLowerCase().startsWith('node:')) throw new PeerChatError('ERR_BAD_INPUT', `"${s.slice(0, 80)}" is not a node id: expected 64 hex digits after node:`);
  const address = canonicalAddress(s);
  if (address) return { kind: 'address', value: address };
  const ip = canonicalIp(s);
  if (ip) return { kind: 'ip', value: ip };
  throw new PeerChatError('ERR_BAD_INPUT', `"${s.slice(0, 80)}" cannot be blocked: expected HOST:PORT, an IP, or a node id (64 hex digits, or node:ID)`);
}

/** How an entry is written for people and for `/unblock`: `node:ID`, `IP` or `HOST:PORT`. */
export function formatBlock(t: BlockTarget): string {
  return t.kind === 'node' ? `node:${t.value}` : t.value;
}

function keyOf(kind: BlockKind, value: string): string {
  return `${kind} ${value}`;
}

/** The block list: bounded, looked up in constant time per fact. */
export class BlockList {
  private readonly entries = new Map<string, BlockEntry>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Oldest first. */
  list(): BlockEntry[] {
    return [...this.entries.values()];
  }

  get(t: BlockTarget): BlockEntry | undefined {
    return this.entries.get(keyOf(t.kind, t.value));
  }

  /** Adds an entry (an existing one is returned as it is). Throws ERR_TOO_LARGE past the cap. */
  add(t: BlockTarget, added: number, label?: string): BlockEntry {
    const have = this.get(t);
    if (have) return have;
    if (this.entries.size >= this.max) throw new PeerChatError('ERR_TOO_LARGE', `cannot block ${formatBlock(t)}: the block list holds at most ${this.max} entries; unblock some first`);
    const e: BlockEntry = { kind: t.kind, value: t.value, added, ...(label ? { label } : {}) };
    this.entries.set(keyOf(t.kind, t.value), e);
    return e;
  }

  remove(t: BlockTarget): BlockEntry | undefined {
    const e = this.get(t);
    if (e) this.entries.delete(keyOf(t.kind, t.value));
    return e;
  }

  /**
   * The entry that blocks any of these facts, or undefined. An address is also blocked by an
   * entry for its host's IP (a blocked IP covers every port on it).
   */
  match(q: BlockQuery): BlockEntry | undefined {
    if (this.entries.size === 0) return undefined;
    if (q.nodeId) {
      const e = this.entries.get(keyOf('node', q.nodeId.toLowerCase()));
      if (e) return e;
    }
    if (q.ip) {
      const ip = canonicalIp(q.ip);
      const e = ip ? this.entries.get(keyOf('ip', ip)) : undefined;
      if (e) return e;
    }
    if (q.address) {
      const a = tryParseAddress(q.address);
      if (a) {
        const ip = canonicalIp(a.host);
        const e = this.entries.get(keyOf('address', formatHostPort(ip ?? a.host.toLowerCase(), a.port))) ?? (ip ? this.entries.get(keyOf('ip', ip)) : undefined);
        if (e) return e;
      }
    }
    return undefined;
  }

  /** Whether this entry covers a peer of the table (by its address, host or node id). */
  static covers(t: BlockTarget, p: { address: string; host: string; nodeId?: string }): boolean {
    if (t.kind === 'node') return p.nodeId?.toLowerCase() === t.value;
    if (t.kind === 'ip') return canonicalIp(p.host) === t.value;
    return canonicalAddress(p.address) === t.value;
  }

  /** Entries from storage; malformed ones and those past the cap are skipped. */
  restore(stored: unknown): void {
    if (!Array.isArray(stored)) return;
    for (const s of stored as Partial<BlockEntry>[]) {
      if (this.entries.size >= this.max) return;
      if (!s || typeof s.value !== 'string' || (s.kind !== 'ip' && s.kind !== 'address' && s.kind !== 'node')) continue;
      let t: BlockTarget;
      try {
        t = parseBlockTarget(s.kind === 'node' ? `node:${s.value}` : s.value);
      } catch {
        continue;
      }
      if (t.kind !== s.kind) continue;
      const e = this.add(t, typeof s.added === 'number' ? s.added : 0, typeof s.label === 'string' ? s.label.slice(0, 200) : undefined);
      if (Array.isArray(s.peers)) e.peers = s.peers.slice(0, MAX_PEERS_PER_ENTRY);
    }
  }

  toStored(): BlockEntry[] {
    return this.list().map((e) => ({ ...e }));
  }
}
