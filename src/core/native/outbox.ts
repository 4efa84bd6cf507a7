/**
 * Messages waiting for a native peer's acknowledgement, by the peer's node id. Kept on disk so
 * that nothing is lost across restarts or crashes of either side; removed only when acked or
 * cancelled. Changes are group-committed: every add of one tick goes to the store in one write
 * and one fsync, and only then does the add's promise resolve (a message is *queued* only once
 * it is on disk). Removes ride along without an fsync of their own: a lost remove only means a
 * message the receiver drops as a duplicate, or one start-up reconciliation takes out again.
 */
import type { ChatMessage } from '../chatTypes';

export interface OutboxEntry {
  to: string;
  message: ChatMessage;
}

/** One change of the outbox, as a journal keeps it. */
export type OutboxRecord = { op: 'add'; to: string; message: ChatMessage } | { op: 'remove'; id: string };

export interface OutboxStore {
  loadOutbox(): OutboxEntry[];
  /** Rewrites the whole outbox durably (compaction; every commit for a store without a journal). */
  saveOutbox(entries: OutboxEntry[]): void;
  /**
   * Appends changes; with `durable`, they are on disk when it returns. Throws when they could not
   * be written. Returns true when the journal should be compacted (saveOutbox). A store without
   * it gets saveOutbox at every commit.
   */
  appendOutbox?(records: OutboxRecord[], durable: boolean): boolean;
}

export interface OutboxCaps {
  /** Limits.maxOutboxPerPeer */
  perPeer: number;
  /** Limits.maxOutboxMessages */
  messages: number;
  /** Limits.maxOutboxBytes (UTF-8 bytes of the texts) */
  bytes: number;
}

/** Why an add is refused: that peer's share, or the outbox as a whole, is full. */
export type OutboxRefusal = { kind: 'peer'; limit: number } | { kind: 'messages'; limit: number } | { kind: 'bytes'; limit: number };

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Outbox {
  private readonly byPeer = new Map<string, Map<string, ChatMessage>>();
  private total = 0;
  private totalBytes = 0;
  private pendingRecords: OutboxRecord[] = [];
  private pendingWaiters: Waiter[] = [];
  private commitTimer: NodeJS.Immediate | undefined;

  constructor(
    private readonly store: OutboxStore,
    private readonly caps: OutboxCaps,
    private readonly onError: (msg: string) => void = () => {},
  ) {
    for (const e of store.loadOutbox()) {
      if (e && typeof e.to === 'string' && e.message && typeof e.message.id === 'string' && typeof e.message.text === 'string') this.put(e.to, e.message);
    }
  }

  private peer(nodeId: string): Map<string, ChatMessage> {
    let m = this.byPeer.get(nodeId);
    if (!m) {
      m = new Map();
      this.byPeer.set(nodeId, m);
    }
    return m;
  }

  /** Why this message cannot be added now, or undefined when it can. */
  refusal(nodeId: string, message: ChatMessage): OutboxRefusal | undefined {
    if (this.count(nodeId) >= this.caps.perPeer) return { kind: 'peer', limit: this.caps.perPeer };
    if (this.total >= this.caps.messages) return { kind: 'messages', limit: this.caps.messages };
    if (this.totalBytes + textBytes(message) > this.caps.bytes) return { kind: 'bytes', limit: this.caps.bytes };
    return undefined;
  }

  /**
   * Adds a message for a peer (check refusal first: this does not). It counts, and is sent, at
   * once; the promise resolves when it is on disk, and rejects when it could not be stored (it
   * is then taken out again).
   */
  add(nodeId: string, message: ChatMessage): Promise<void> {
    this.takeOut(message.id); // a message added again counts once, where it was added last
    this.put(nodeId, message);
    this.pendingRecords.push({ op: 'add', to: nodeId, message });
    return new Promise<void>((resolve, reject) => {
      this.pendingWaiters.push({ resolve, reject });
      this.scheduleCommit();
    });
  }

  /** The messages for a peer, oldest first. */
  pending(nodeId: string): ChatMessage[] {
    return [...this.iterate(nodeId)];
  }

  /** The same without copying (for the send loop, which must not remove while iterating). */
  iterate(nodeId: string): IterableIterator<ChatMessage> {
    return (this.byPeer.get(nodeId) ?? new Map<string, ChatMessage>()).values();
  }

  get(nodeId: string, id: string): ChatMessage | undefined {
    return this.byPeer.get(nodeId)?.get(id);
  }

  count(nodeId: string): number {
    return this.byPeer.get(nodeId)?.size ?? 0;
  }

  /** Removes a message wherever it waits; returns the peer it was for. */
  remove(id: string): string | undefined {
    const peer = this.takeOut(id);
    if (peer === undefined) return undefined;
    this.pendingRecords.push({ op: 'remove', id });
    this.scheduleCommit();
    return peer;
  }

  has(id: string): boolean {
    for (const q of this.byPeer.values()) if (q.has(id)) return true;
    return false;
  }

  all(): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const [to, q] of this.byPeer) for (const message of q.values()) out.push({ to, message });
    return out;
  }

  get size(): number {
    return this.total;
  }

  /** UTF-8 bytes of the texts waiting. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Writes what is pending now (shutdown, or the end of a tick). */
  flush(): void {
    clearImmediate(this.commitTimer);
    this.commitTimer = undefined;
    const records = this.pendingRecords;
    const waiters = this.pendingWaiters;
    if (records.length === 0) return;
    this.pendingRecords = [];
    this.pendingWaiters = [];
    try {
      if (this.store.appendOutbox) {
        if (this.store.appendOutbox(records, waiters.length > 0)) this.store.saveOutbox(this.all());
      } else this.store.saveOutbox(this.all());
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.onError(error.message);
      // Those adds are not on disk: they must not stay as if they were.
      for (const r of records) if (r.op === 'add') this.takeOut(r.message.id);
      for (const w of waiters) w.reject(error);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  private put(nodeId: string, message: ChatMessage): void {
    const q = this.peer(nodeId);
    const had = q.get(message.id);
    if (had) {
      this.total--;
      this.totalBytes -= textBytes(had);
    }
    q.set(message.id, message);
    this.total++;
    this.totalBytes += textBytes(message);
  }

  /** Removes without recording it (an add that never reached the disk); returns the peer it was for. */
  private takeOut(id: string): string | undefined {
    for (const [peer, q] of this.byPeer) {
      const m = q.get(id);
      if (!m) continue;
      q.delete(id);
      if (q.size === 0) this.byPeer.delete(peer);
      this.total--;
      this.totalBytes -= textBytes(m);
      return peer;
    }
    return undefined;
  }

  private scheduleCommit(): void {
    if (this.commitTimer) return;
    // One tick's adds (a burst of sends) share one write and one fsync.
    this.commitTimer = setImmediate(() => this.flush());
  }
}

function textBytes(m: ChatMessage): number {
  return Buffer.byteLength(m.text, 'utf8');
}

/** How Show Outbox and the terminal peer name an entry's recipient, known or not. */
export function outboxRecipient(nodeId: string, peer: { name: string; address: string } | undefined): string {
  return peer ? `${peer.name} (${peer.address})` : `node ${nodeId.slice(0, 12)}… (not in the peer list)`;
}
