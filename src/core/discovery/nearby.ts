/**
 * The Nearby table: which PeerChat nodes announce themselves around us, and whether the key that
 * answers at each announced address is the announced one. A pure reducer with the clock passed in
 * every action: no I/O, no timers. Bounded: anyone on the LAN can send announcements, so the table
 * holds at most `maxEntries` (and `maxPerHost` from one LAN address), and a new, unchecked entry
 * never pushes out one whose key was proven.
 */
import { formatHostPort } from '../address';
import type { Announcement } from './announcement';

/** Where an announcement was heard: multicast DNS on the LAN, or the per-machine folder. */
export type DiscoveryChannelKind = 'lan' | 'machine';

/**
 * unchecked: not yet connected to; checking: a TLS handshake is under way; proven: the announced
 * key answered; spoofed: another key answered (the announcement lied); unreachable: nothing
 * answered (checked again at retryAt).
 */
export type Proof =
  | { state: 'unchecked' }
  | { state: 'checking' }
  | { state: 'proven' }
  | { state: 'spoofed'; answeredBy?: string; reason: string }
  | { state: 'unreachable'; error: string; retryAt: number };

export interface NearbyEntry {
  /** channel, node id and address: one announcement source. */
  readonly key: string;
  readonly channel: DiscoveryChannelKind;
  readonly nodeId: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** "IP:PORT" to dial. */
  readonly address: string;
  readonly firstHeard: number;
  readonly lastHeard: number;
  /** It leaves the table at this time unless heard again. */
  readonly expires: number;
  readonly proof: Proof;
}

export interface NearbyState {
  readonly entries: ReadonlyMap<string, NearbyEntry>;
}

export interface NearbyLimits {
  expireMs: number;
  maxEntries: number;
  /** Entries heard on the LAN from one address (the per-machine folder is ours alone). */
  maxPerHost: number;
  /** An unreachable announcement is checked again after this long. */
  retryMs: number;
}

export type NearbyAction =
  | { type: 'heard'; channel: DiscoveryChannelKind; ann: Announcement; host: string; now: number }
  | { type: 'goodbye'; channel: DiscoveryChannelKind; nodeId: string; host: string; port: number }
  | { type: 'checking'; key: string }
  /** peerId: the id the TLS handshake proved; error: no handshake could be made. */
  | { type: 'proved'; key: string; peerId?: string; error?: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'clear' };

export interface NearbyResult {
  state: NearbyState;
  /** Whether anything a view shows may have changed. */
  changed: boolean;
  /** Why a heard announcement was not taken (for a rate-limited log line). */
  refused?: string;
}

export const EMPTY_NEARBY: NearbyState = Object.freeze({ entries: new Map<string, NearbyEntry>() });

export function entryKey(channel: DiscoveryChannelKind, nodeId: string, address: string): string {
  return `${channel}|${nodeId}|${address}`;
}

/** Lower ranks go first when the table is full: a proven entry is never pushed out by an unchecked one. */
function rank(p: Proof): number {
  switch (p.state) {
    case 'spoofed':
      return 0;
    case 'unreachable':
      return 1;
    case 'unchecked':
    case 'checking':
      return 2;
    case 'proven':
      return 3;
    default: {
      const never: never = p;
      return never;
    }
  }
}

const same = (state: NearbyState): NearbyResult => ({ state, changed: false });

export function reduceNearby(state: NearbyState, action: NearbyAction, limits: NearbyLimits): NearbyResult {
  switch (action.type) {
    case 'heard':
      return heard(state, action, limits);
    case 'goodbye': {
      const key = entryKey(action.channel, action.nodeId, formatHostPort(action.host, action.port));
      if (!state.entries.has(key)) return same(state);
      const entries = new Map(state.entries);
      entries.delete(key);
      return { state: { entries }, changed: true };
    }
    case 'checking': {
      const e = state.entries.get(action.key);
      if (!e) return same(state);
      return { state: put(state, { ...e, proof: { state: 'checking' } }), changed: false };
    }
    case 'proved': {
      const e = state.entries.get(action.key);
      if (!e) return same(state);
      const proof: Proof =
        action.peerId === undefined
          ? { state: 'unreachable', error: action.error ?? 'no answer', retryAt: action.now + limits.retryMs }
          : action.peerId === e.nodeId
            ? { state: 'proven' }
            : { state: 'spoofed', answeredBy: action.peerId, reason: `another key answered at ${e.address}` };
      return { state: put(state, { ...e, proof }), changed: true };
    }
    case 'tick': {
      let entries: Map<string, NearbyEntry> | undefined;
      for (const [key, e] of state.entries) {
        if (e.expires > action.now) continue;
        entries ??= new Map(state.entries);
        entries.delete(key);
      }
      return entries ? { state: { entries }, changed: true } : same(state);
    }
    case 'clear':
      return state.entries.size ? { state: EMPTY_NEARBY, changed: true } : same(state);
    default: {
      const never: never = action;
      return never;
    }
  }
}

function heard(state: NearbyState, a: Extract<NearbyAction, { type: 'heard' }>, limits: NearbyLimits): NearbyResult {
  const address = formatHostPort(a.host, a.ann.port);
  const key = entryKey(a.channel, a.ann.nodeId, address);
  const old = state.entries.get(key);
  const expires = a.now + limits.expireMs;
  if (old) {
    // Heard again: it stays; what was proven about this key at this address still holds.
    const next = { ...old, name: a.ann.name, lastHeard: a.now, expires };
    return { state: put(state, next), changed: old.name !== a.ann.name };
  }
  const entries = new Map(state.entries);
  if (a.channel === 'lan') {
    const fromHost = [...entries.values()].filter((e) => e.channel === 'lan' && e.host === a.host).length;
    if (fromHost >= limits.maxPerHost) return { state, changed: false, refused: `${a.host} announces more than ${limits.maxPerHost} nodes` };
  }
  if (entries.size >= limits.maxEntries) {
    const victim = [...entries.values()].filter((e) => rank(e.proof) <= 2).sort((x, y) => rank(x.proof) - rank(y.proof) || x.lastHeard - y.lastHeard)[0];
    if (!victim) return { state, changed: false, refused: `Nearby is full (${limits.maxEntries} nodes whose keys were proven)` };
    entries.delete(victim.key);
  }
  entries.set(key, {
    key,
    channel: a.channel,
    nodeId: a.ann.nodeId,
    name: a.ann.name,
    host: a.host,
    port: a.ann.port,
    address,
    firstHeard: a.now,
    lastHeard: a.now,
    expires,
    proof: { state: 'unchecked' },
  });
  return { state: { entries }, changed: true };
}

function put(state: NearbyState, e: NearbyEntry): NearbyState {
  const entries = new Map(state.entries);
  entries.set(e.key, e);
  return { entries };
}

// ---------------------------------------------------------------- what the rest reads

/**
 * The nodes whose announced key answered: one entry per node id, the per-machine one first (it
 * needs no network), then the one heard last. Sorted by name.
 */
export function provenNodes(state: NearbyState): NearbyEntry[] {
  const best = new Map<string, NearbyEntry>();
  for (const e of state.entries.values()) {
    if (e.proof.state !== 'proven') continue;
    const cur = best.get(e.nodeId);
    if (!cur || better(e, cur)) best.set(e.nodeId, e);
  }
  return [...best.values()].sort((a, b) => a.name.localeCompare(b.name) || a.nodeId.localeCompare(b.nodeId));
}

function better(a: NearbyEntry, b: NearbyEntry): boolean {
  if (a.channel !== b.channel) return a.channel === 'machine';
  return a.lastHeard > b.lastHeard;
}

/** Announcements another key answered for. */
export function spoofedEntries(state: NearbyState): NearbyEntry[] {
  return [...state.entries.values()].filter((e) => e.proof.state === 'spoofed');
}

/** Entries whose key should be checked now: never checked, or unreachable and due again. */
export function toCheck(state: NearbyState, now: number): NearbyEntry[] {
  return [...state.entries.values()].filter((e) => e.proof.state === 'unchecked' || (e.proof.state === 'unreachable' && e.proof.retryAt <= now));
}

/** The earliest time something changes by itself (an expiry, a retry), or undefined. */
export function nextDeadline(state: NearbyState): number | undefined {
  let t: number | undefined;
  for (const e of state.entries.values()) {
    t = t === undefined ? e.expires : Math.min(t, e.expires);
    if (e.proof.state === 'unreachable') t = Math.min(t, e.proof.retryAt);
  }
  return t;
}
