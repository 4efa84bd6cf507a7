import { EventEmitter } from 'node:events';
import { addressKey, PeerAddress } from '../address';
import { DialectName, isDialectName } from '../classic/dialects/types';
import { sanitizePeerName } from '../names';

/**
 * connected: we greeted it or it greeted us; known: it wrote to us or we learned it;
 * inactive: a probe or send failed; gone: it said exit.
 */
export type PeerState = 'connected' | 'known' | 'inactive' | 'gone';

/** How the peer came to be in the table. */
export type PeerSource = 'message' | 'connect' | 'settings' | 'restored' | 'exchange' | 'lan' | 'machine';

/**
 * A peer that is in the table only because it announces itself nearby (LAN or this machine):
 * never in a session, never wanted or verified. It leaves the table when it stops announcing and
 * is not stored; once talked to it is a peer like any other.
 */
export function discoveredOnly(p: PeerRecord): boolean {
  return (p.source === 'lan' || p.source === 'machine') && !p.proven && !p.wanted && !p.verified && p.lastSeen === undefined;
}

export interface PeerRecord {
  /** "IP:PORT" of its listening address: the table key. */
  address: string;
  host: string;
  port: number;
  name: string;
  state: PeerState;
  /** Epoch ms of the last thing it sent us, or undefined when it never did. */
  lastSeen?: number;
  lastError?: string;
  source: PeerSource;
  protocol?: 'classic' | 'native';
  nodeId?: string;
  /** Set when learned through peer exchange: the neighbour's name. */
  learnedVia?: string;
  /** The user connected to it: keep reconnecting (native) until they disconnect. */
  wanted?: boolean;
  /** The classic form it speaks, learned from what it sent or set by the user. */
  dialect?: DialectName;
  /** The user chose the dialect: what the peer sends no longer changes it. */
  dialectManual?: boolean;
  /** The user compared safety numbers and marked this key verified. */
  verified?: boolean;
  /** Another key answered at this pinned address (its node id): refused until the user trusts it. */
  newIdentity?: string;
  /** The node id was proven here in a session (TLS): the address is pinned to it. A learned id
   *  (peer exchange, a relayed message) is only a hint, replaced by whatever key answers. */
  proven?: boolean;
  /** This key uses the name of another peer whose key was proven: the id of that other peer. */
  namesake?: string;
}

/** What persists of a peer: state comes back as known (nobody is connected after a restart). */
export type StoredPeer = Pick<PeerRecord, 'address' | 'host' | 'port' | 'name' | 'lastSeen' | 'source'> &
  Partial<Pick<PeerRecord, 'lastError' | 'protocol' | 'nodeId' | 'learnedVia' | 'wanted' | 'dialect' | 'dialectManual' | 'verified' | 'newIdentity' | 'proven' | 'namesake'>>;

export interface PeerTableEvents {
  changed: [];
}

/** The node's single source of truth on peers, keyed by listening address. */
export class PeerTable extends EventEmitter<PeerTableEvents> {
  private readonly peers = new Map<string, PeerRecord>();
  /** A change of "last seen" alone is announced at most this often: a burst of messages from one
   *  peer must not redraw every view once per message. */
  static readonly LAST_SEEN_EMIT_MS = 2000;
  private lastSeenTimer: NodeJS.Timeout | undefined;

  /** Peers the table must keep past its cap (the node: those with queued messages). */
  protect: (p: PeerRecord) => boolean = () => false;

  constructor(private readonly maxPeers = 1000) {
    super();
  }

  get size(): number {
    return this.peers.size;
  }

  get(address: string): PeerRecord | undefined {
    return this.peers.get(address);
  }

  list(): PeerRecord[] {
    return [...this.peers.values()].sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address));
  }

  /** Adds the peer or updates what is given; returns the record. */
  upsert(addr: PeerAddress, patch: Partial<Omit<PeerRecord, 'address' | 'host' | 'port'>>): PeerRecord {
    const key = addressKey(addr);
    let rec = this.peers.get(key);
    const before = rec ? JSON.stringify({ ...rec, lastSeen: 0 }) : undefined;
    if (!rec) {
      rec = {
        address: key,
        host: addr.host,
        port: addr.port,
        name: addr.host,
        state: 'known',
        source: patch.source ?? 'message',
      };
      this.peers.set(key, rec);
    }
    if (patch.name !== undefined) rec.name = sanitizePeerName(patch.name);
    if (patch.state !== undefined) rec.state = patch.state;
    if (patch.lastSeen !== undefined) rec.lastSeen = patch.lastSeen;
    if ('lastError' in patch) rec.lastError = patch.lastError;
    if (patch.protocol !== undefined) rec.protocol = patch.protocol;
    if (patch.nodeId !== undefined) rec.nodeId = patch.nodeId;
    if (patch.learnedVia !== undefined) rec.learnedVia = patch.learnedVia;
    if (patch.wanted !== undefined) rec.wanted = patch.wanted;
    if (patch.dialect !== undefined) rec.dialect = patch.dialect;
    if (patch.dialectManual !== undefined) rec.dialectManual = patch.dialectManual;
    if (patch.verified !== undefined) rec.verified = patch.verified;
    if ('newIdentity' in patch) rec.newIdentity = patch.newIdentity;
    if (patch.proven !== undefined) rec.proven = patch.proven;
    if ('namesake' in patch) rec.namesake = patch.namesake;
    this.evict(key);
    if (before !== undefined && before === JSON.stringify({ ...rec, lastSeen: 0 })) {
      // Only "last seen" moved: say so later, once.
      this.lastSeenTimer ??= setTimeout(() => {
        this.lastSeenTimer = undefined;
        this.emit('changed');
      }, PeerTable.LAST_SEEN_EMIT_MS);
      this.lastSeenTimer.unref?.();
    } else {
      this.emit('changed');
    }
    return rec;
  }

  /** In the table only as a nearby node (discoveredOnly), with nothing queued for it. */
  nearbyOnly(p: PeerRecord): boolean {
    return discoveredOnly(p) && !this.protect(p);
  }

  get pendingTimers(): number {
    return this.lastSeenTimer ? 1 : 0;
  }

  /** Drops a pending "last seen" announcement (the node is stopping). */
  clearPending(): void {
    clearTimeout(this.lastSeenTimer);
    this.lastSeenTimer = undefined;
  }

  setState(address: string, state: PeerState, lastError?: string): void {
    const rec = this.peers.get(address);
    if (!rec) return;
    rec.state = state;
    if (lastError !== undefined) rec.lastError = lastError;
    this.emit('changed');
  }

  byNodeId(nodeId: string): PeerRecord | undefined {
    for (const p of this.peers.values()) if (p.nodeId === nodeId) return p;
    return undefined;
  }

  remove(address: string): boolean {
    const had = this.peers.delete(address);
    if (had) this.emit('changed');
    return had;
  }

  toStored(): StoredPeer[] {
    // A nearby node nobody talked to is not kept: it is back as soon as it announces itself.
    return this.list().filter((p) => !this.nearbyOnly(p)).map(({ address, host, port, name, lastSeen, lastError, source, protocol, nodeId, learnedVia, wanted, dialect, dialectManual, verified, newIdentity, proven, namesake }) => ({
      address,
      host,
      port,
      name,
      lastSeen,
      lastError,
      source,
      protocol,
      nodeId,
      learnedVia,
      wanted,
      dialect,
      dialectManual,
      verified,
      newIdentity,
      proven,
      namesake,
    }));
  }

  /** Loads peers from storage as known; invalid entries are skipped. */
  restore(stored: unknown): void {
    if (!Array.isArray(stored)) return;
    for (const s of stored as Partial<StoredPeer>[]) {
      if (!s || typeof s.host !== 'string' || typeof s.port !== 'number') continue;
      if (this.peers.has(addressKey({ host: s.host, port: s.port }))) continue;
      this.upsert(
        { host: s.host, port: s.port },
        {
          name: typeof s.name === 'string' ? s.name : s.host,
          state: 'known',
          lastSeen: typeof s.lastSeen === 'number' ? s.lastSeen : undefined,
          lastError: typeof s.lastError === 'string' ? s.lastError : undefined,
          source: 'restored',
          protocol: s.protocol === 'native' || s.protocol === 'classic' ? s.protocol : undefined,
          nodeId: typeof s.nodeId === 'string' ? s.nodeId : undefined,
          learnedVia: typeof s.learnedVia === 'string' ? s.learnedVia : undefined,
          wanted: s.wanted === true,
          dialect: isDialectName(s.dialect) ? s.dialect : undefined,
          dialectManual: s.dialectManual === true,
          verified: s.verified === true,
          proven: s.proven === true,
          namesake: typeof s.namesake === 'string' && /^[0-9a-f]{64}$/.test(s.namesake) ? s.namesake : undefined,
          newIdentity: typeof s.newIdentity === 'string' && /^[0-9a-f]{64}$/.test(s.newIdentity) ? s.newIdentity : undefined,
        },
      );
    }
  }

  /**
   * Past the cap, forget the peers seen longest ago (never-seen first), connected ones last:
   * the cap holds even against a flood of greetings.
   */
  private evict(keep: string): void {
    if (this.peers.size <= this.maxPeers) return;
    // Learned peers go first; peers the user connected to or has messages for never go.
    const victims = [...this.peers.values()]
      .filter((p) => p.address !== keep && !p.wanted && !this.protect(p))
      .sort(
        (a, b) =>
          Number(discoveredOnly(b)) - Number(discoveredOnly(a)) ||
          Number(b.source === 'exchange') - Number(a.source === 'exchange') ||
          Number(a.state === 'connected') - Number(b.state === 'connected') ||
          (a.lastSeen ?? 0) - (b.lastSeen ?? 0),
      );
    for (const v of victims) {
      if (this.peers.size <= this.maxPeers) break;
      this.peers.delete(v.address);
    }
  }
}
