/**
 * Messages waiting for a native peer's acknowledgement, by the peer's node id. Kept on disk so
 * that nothing is lost across restarts of either side; removed only when acked or cancelled.
 */
import type { ChatMessage } from '../chatTypes';

export interface OutboxEntry {
  to: string;
  message: ChatMessage;
}

export interface OutboxStore {
  loadOutbox(): OutboxEntry[];
  saveOutbox(entries: OutboxEntry[]): void;
}

export class Outbox {
  private readonly byPeer = new Map<string, Map<string, ChatMessage>>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: OutboxStore,
    private readonly maxPerPeer: number,
  ) {
    for (const e of store.loadOutbox()) {
      if (e && typeof e.to === 'string' && e.message && typeof e.message.id === 'string') this.peer(e.to).set(e.message.id, e.message);
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

  /** Adds a message for a peer; false when that peer's outbox is full. */
  add(nodeId: string, message: ChatMessage): boolean {
    const q = this.peer(nodeId);
    if (q.size >= this.maxPerPeer) return false;
    q.set(message.id, message);
    this.scheduleSave();
    return true;
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
    for (const [peer, q] of this.byPeer) {
      if (q.delete(id)) {
        if (q.size === 0) this.byPeer.delete(peer);
        this.scheduleSave();
        return peer;
      }
    }
    return undefined;
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
    let n = 0;
    for (const q of this.byPeer.values()) n += q.size;
    return n;
  }

  /** Writes now (shutdown). */
  flush(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.store.saveOutbox(this.all());
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    // Coalesce bursts (a hundred queued messages = one write), but keep the window short:
    // a queued message is only safe once it is on disk.
    this.saveTimer = setTimeout(() => this.flush(), 20);
    this.saveTimer.unref?.();
  }
}
