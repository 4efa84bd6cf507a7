/**
 * Enforcing the block list where bytes enter and leave: the transport the node is built on is
 * wrapped, so a connection from a blocked IP is closed before the listener (classic or native)
 * sees it, and no part of the node (a send, a probe, a redial, a dial-back, an auto-connect) can
 * dial a blocked address. The checks that need more than an IP (a header's address, a proven
 * node id) call refuse(). Every refusal is logged once per window.
 */
import * as net from 'node:net';
import { formatHostPort, normalizeIp } from '../address';
import { PeerChatError } from '../errors';
import type { Store } from '../store';
import type { Connection, Transport } from '../transport';
import { BlockEntry, BlockKind, BlockList, BlockQuery, BlockTarget, formatBlock, MAX_PEERS_PER_ENTRY } from './blocklist';
import type { PeerRecord, PeerTable } from './table';

/** An entry as the views and the terminal peer show it. */
export interface BlockedView {
  /** What `unblock` takes: `node:ID`, `IP` or `HOST:PORT`. */
  target: string;
  kind: BlockKind;
  /** The peer's name when it was blocked (peer-supplied). */
  label?: string;
  added: number;
}

export function toBlockedView(e: BlockEntry): BlockedView {
  return { target: formatBlock(e), kind: e.kind, ...(e.label ? { label: e.label } : {}), added: e.added };
}

/** What block() did: the entry, the peers it took out of the Peers view, the messages still queued for them. */
export interface BlockResult extends BlockedView {
  removed: string[];
  /** Messages in the outbox for the blocked node(s): they stay until the user cancels them. */
  queued: number;
}

/** The parts of the node that blocking acts on. */
export interface BlockParts {
  peers: PeerTable;
  /** Ready native sessions by remote node id. */
  sessions(): Iterable<[string, { remoteIp: string }]>;
  /** Closes a node's session and stops redialing it. */
  forget(nodeId: string): void;
  /** Messages queued in the outbox for any of these nodes. */
  queuedFor(nodeIds: Set<string>): number;
}

/** Logs a refusal, rate-limited per remote IP and reason (the node's logDrop). */
type LogDrop = (remote: string, reason: string, line: string) => void;

export class Blocking {
  readonly list: BlockList;
  /** Accepted connections still open, so that blocking an IP closes the ones it already has. */
  private readonly inbound = new Set<Connection>();

  constructor(
    private readonly store: Store,
    max: number,
    private readonly logDrop: LogDrop,
  ) {
    this.list = new BlockList(max);
    this.list.restore(store.loadBlocked?.());
  }

  /**
   * True when any of these facts is blocked; the refusal is logged (once per window per remote
   * IP and kind). `what` names what was refused and where from, for the log line.
   */
  refuse(q: BlockQuery, remote: string, what: string): boolean {
    const e = this.list.match(q);
    if (!e) return false;
    this.logDrop(remote, `blocked ${what}`, `refused ${what}: ${formatBlock(e)} is blocked`);
    return true;
  }

  /** Throws ERR_BLOCKED when a user operation names a blocked peer (by address, id, or its record). */
  assertAllowed(target: string, rec: PeerRecord | undefined): void {
    const q: BlockQuery = target.startsWith('node:') ? { nodeId: target.slice(5) } : { address: target };
    const e = this.list.match(q) ?? (rec ? this.list.match({ address: rec.address, nodeId: rec.nodeId }) : undefined);
    if (e) throw new PeerChatError('ERR_BLOCKED', `${target} is blocked (${formatBlock(e)}): unblock it first (PeerChat: Unblock Peer…, or /unblock ${formatBlock(e)})`);
  }

  /** The node's transport with the block list in front of it, both ways. */
  guard(t: Transport): Transport {
    return {
      listen: (host, port, onConnection) =>
        t.listen(host, port, (c) => {
          const ip = normalizeIp(c.remoteAddress);
          if (this.refuse({ ip }, `${ip}:${c.remotePort ?? 0}`, `a connection from ${ip}`)) {
            c.on('error', () => undefined);
            c.destroy();
            return;
          }
          this.inbound.add(c);
          c.once('close', () => this.inbound.delete(c));
          onConnection(c);
        }),
      connect: (host, port) => {
        const address = formatHostPort(host, port);
        if (!this.refuse({ address }, address, `to dial ${address}`)) return t.connect(host, port);
        return refusedConnection(`${address} is blocked`);
      },
    };
  }

  /** Closes the open incoming connections that an IP entry now covers; how many. */
  closeInbound(t: BlockTarget): number {
    if (t.kind !== 'ip') return 0;
    let n = 0;
    for (const c of this.inbound) {
      if (BlockList.covers(t, { address: '', host: normalizeIp(c.remoteAddress) })) {
        c.destroy();
        n++;
      }
    }
    return n;
  }

  /**
   * Adds an entry and applies it at once: the peers it covers leave the table (remembered in the
   * entry for unblock), their sessions and redials end, and open connections from a blocked IP
   * are closed. Queued messages stay in the outbox.
   */
  block(t: BlockTarget, now: number, parts: BlockParts): BlockResult {
    const victims = parts.peers.list().filter((p) => BlockList.covers(t, p));
    const entry = this.list.add(t, now, victims[0]?.name);
    const addresses = new Set(victims.map((p) => p.address));
    const stored = parts.peers.toStored().filter((p) => addresses.has(p.address));
    entry.peers = [...(entry.peers ?? []), ...stored].slice(0, MAX_PEERS_PER_ENTRY);
    const ids = new Set<string>(victims.flatMap((p) => (p.nodeId ? [p.nodeId] : [])));
    if (t.kind === 'node') ids.add(t.value);
    for (const [id, s] of parts.sessions()) {
      if (BlockList.covers(t, { address: parts.peers.byNodeId(id)?.address ?? '', host: s.remoteIp, nodeId: id })) ids.add(id);
    }
    for (const id of ids) parts.forget(id);
    for (const a of addresses) parts.peers.remove(a);
    this.closeInbound(t);
    this.save();
    return { ...toBlockedView(entry), removed: [...addresses], queued: parts.queuedFor(ids) };
  }

  /** Removes an entry; the peers it took out come back as known (those no other entry covers). */
  unblock(t: BlockTarget, parts: BlockParts): (BlockedView & { restored: string[] }) | undefined {
    const entry = this.list.remove(t);
    if (!entry) return undefined;
    const back = (entry.peers ?? []).filter((p) => typeof p?.address === 'string' && !this.list.match({ address: p.address, nodeId: p.nodeId }));
    parts.peers.restore(back);
    this.save();
    return { ...toBlockedView(entry), restored: back.map((p) => p.address) };
  }

  /**
   * Takes out of the table the peers the list covers: peers.json is saved a moment after
   * blocked.json, so a crash in between must not bring a blocked peer back at the next start.
   */
  dropCovered(peers: PeerTable): void {
    if (this.list.size === 0) return;
    for (const p of peers.list()) if (this.list.match({ address: p.address, nodeId: p.nodeId })) peers.remove(p.address);
  }

  save(): void {
    this.store.saveBlocked?.(this.list.toStored());
  }
}

/** A connection that fails at once, as a refused dial does, with the reason as its error. */
function refusedConnection(reason: string): Connection {
  const s = new net.Socket();
  process.nextTick(() => s.destroy(Object.assign(new Error(reason), { code: 'ERR_BLOCKED' })));
  return s;
}
