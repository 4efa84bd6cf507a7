/**
 * The chat history: every message in arrival order with an index by id, kept within maxHistory
 * messages and maxBytes (about the size of their records: the oldest are trimmed beyond either),
 * persisted through the store (append; compaction when the store asks), paged for the views.
 */
import { randomUUID } from 'node:crypto';
import { ChatMessage, EVERYONE } from '../chatTypes';
import { DEFAULT_LIMITS } from '../limits';
import type { Store } from '../store';
import { recovered } from './delivery';

export type NewMessage = Omit<ChatMessage, 'id' | 'ts'> & { id?: string; ts?: number };

export class MessageLog {
  private messages: ChatMessage[] = [];
  private readonly index = new Map<string, ChatMessage>();
  /** Sizes of the kept messages (see messageBytes), and their sum. */
  private readonly sizes = new WeakMap<ChatMessage, number>();
  private bytes = 0;

  constructor(
    private readonly store: Store,
    private readonly maxHistory: number,
    private readonly now: () => number,
    /** Told of every new or changed message (same id = same message). */
    private readonly onChange: (m: ChatMessage) => void,
    /** Limits.maxHistoryMemoryBytes. */
    private readonly maxBytes: number = DEFAULT_LIMITS.maxHistoryMemoryBytes,
  ) {}

  /** Bytes the kept messages take, about (the size of their records). */
  get memoryBytes(): number {
    return this.bytes;
  }

  /** Reads the stored history; messages interrupted by the last shutdown get their final state. */
  load(inOutbox: (id: string) => boolean): void {
    this.messages = this.store.loadHistory().slice(-this.maxHistory);
    this.index.clear();
    this.bytes = 0;
    for (const m of this.messages) {
      this.index.set(m.id, m);
      this.track(m);
      const patch = recovered(m, inOutbox(m.id));
      if (!patch) continue;
      m.state = patch.state;
      if (patch.error) m.error = patch.error;
    }
    this.trim(true);
  }

  get(id: string): ChatMessage | undefined {
    return this.index.get(id);
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  add(m: NewMessage): ChatMessage {
    const message: ChatMessage = { ...m, id: m.id ?? randomUUID(), ts: m.ts ?? this.now() };
    this.messages.push(message);
    this.index.set(message.id, message);
    this.track(message);
    this.trim(false);
    this.persist(message);
    return message;
  }

  update(m: ChatMessage, patch: Partial<Pick<ChatMessage, 'state' | 'error'>>): void {
    Object.assign(m, patch);
    if ('error' in patch && patch.error === undefined) delete m.error;
    this.persist(m);
  }

  /** The kept history (at most maxHistory messages), oldest first. */
  all(): ChatMessage[] {
    return this.messages.slice(-this.maxHistory);
  }

  /** The newest `count` messages older than `beforeTs` (all when undefined), oldest first. */
  page(count: number, beforeTs?: number): { messages: ChatMessage[]; more: boolean } {
    let end = this.messages.length;
    if (beforeTs !== undefined) {
      // Arrival order is timestamp order but for clamped native ones: scan from the end.
      while (end > 0 && this.messages[end - 1].ts >= beforeTs) end--;
    }
    const start = Math.max(0, end - count);
    return { messages: this.messages.slice(start, end), more: start > 0 };
  }

  /** Incoming messages of one conversation, oldest first. */
  *incoming(conversation: string): IterableIterator<ChatMessage> {
    for (const m of this.messages) if (m.conversation === conversation && m.direction === 'in') yield m;
  }

  /** Whether any message of this conversation is kept. */
  hasConversation(conversation: string): boolean {
    return this.messages.some((m) => m.conversation === conversation && m.direction !== 'system');
  }

  /** Everyone messages a neighbour may have missed: newer than `since`, newest `max`. */
  everyoneSince(since: number, max: number): ChatMessage[] {
    return this.messages.filter((m) => m.conversation === EVERYONE && m.ts > since && m.direction !== 'system' && (m.origin || m.direction === 'out')).slice(-max);
  }

  /** Time stamp of the newest Everyone message that came from the mesh, if any. */
  newestMeshTs(): number | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const m = this.messages[i];
      if (m.conversation === EVERYONE && m.origin && m.direction === 'in') return m.ts;
    }
    return undefined;
  }

  private track(m: ChatMessage): void {
    const n = messageBytes(m);
    this.sizes.set(m, n);
    this.bytes += n;
  }

  /**
   * Trims the oldest messages beyond maxHistory or maxBytes, in steps of a tenth, not one message
   * at a time: splicing a full array on every message cost more than everything else a message
   * does. `exact` trims to the bounds themselves (after load).
   */
  private trim(exact: boolean): void {
    const countSlack = exact ? 0 : Math.max(1, Math.floor(this.maxHistory / 10));
    const overCount = this.messages.length > this.maxHistory + countSlack;
    const overBytes = this.bytes > this.maxBytes;
    if (!overCount && !overBytes) return;
    const byteGoal = exact ? this.maxBytes : this.maxBytes - Math.floor(this.maxBytes / 10);
    let cut = Math.max(0, this.messages.length - this.maxHistory);
    let bytes = this.bytes;
    for (let i = 0; i < cut; i++) bytes -= this.sizes.get(this.messages[i]) ?? 0;
    // Never the newest message: it was just added (and a single one is always kept).
    while (bytes > byteGoal && cut < this.messages.length - 1) bytes -= this.sizes.get(this.messages[cut++]) ?? 0;
    if (cut === 0) return;
    for (const c of this.messages.splice(0, cut)) this.index.delete(c.id);
    this.bytes = bytes;
  }

  private persist(m: ChatMessage): void {
    this.store.appendHistory([m]);
    const fs = this.store as { needsCompaction?: () => boolean };
    if (fs.needsCompaction?.()) this.store.rewriteHistory(this.messages);
    this.onChange(m);
  }
}

/** About the bytes a message takes: its stored record's length (strings count one byte a character). */
export function messageBytes(m: ChatMessage): number {
  let n = 96; // the field names, numbers and punctuation of a record
  for (const v of Object.values(m)) if (typeof v === 'string') n += v.length;
  return n;
}
