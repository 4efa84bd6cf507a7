/** The chat webview's model: messages by conversation, unread counts, what the user looks at. */
import { EVERYONE, type ChatMessage, type PeerView, type SelfInfo } from '../src/protocol/webviewMessages';
import type { PersistedState } from './persist';

export class ChatModel {
  self: SelfInfo | undefined;
  peers = new Map<string, PeerView>();
  private readonly byId = new Map<string, ChatMessage>();
  private ordered: ChatMessage[] = [];
  private dirtyOrder = false;
  // Kept up to date message by message, so a frame during a burst costs O(new messages), not
  // O(history): conversations with messages, the newest time in each, unread counts.
  private readonly convs = new Set<string>();
  private readonly newest = new Map<string, number>();
  private readonly unread = new Map<string, number>();

  constructor(readonly persisted: PersistedState) {}

  /** The conversation on screen. */
  get current(): string {
    return this.persisted.conversation;
  }

  reset(messages: ChatMessage[]): void {
    this.byId.clear();
    this.convs.clear();
    this.newest.clear();
    this.unread.clear();
    this.ordered = [];
    this.dirtyOrder = true;
    for (const m of messages) {
      this.byId.set(m.id, m);
      this.count(m);
    }
  }

  /** Adds or replaces (a state change updates the same object); returns true when new. */
  upsert(m: ChatMessage): boolean {
    const existing = this.byId.get(m.id);
    if (existing) {
      Object.assign(existing, m);
      if (m.error === undefined) delete existing.error;
      return false;
    }
    this.byId.set(m.id, m);
    const last = this.ordered[this.ordered.length - 1];
    if (!this.dirtyOrder && (!last || last.ts <= m.ts)) this.ordered.push(m);
    else this.dirtyOrder = true;
    this.count(m);
    return true;
  }

  private count(m: ChatMessage): void {
    if (m.conversation !== EVERYONE) this.convs.add(m.conversation);
    for (const c of ChatModel.conversationsOf(m)) {
      if (m.ts > (this.newest.get(c) ?? 0)) this.newest.set(c, m.ts);
      if (m.direction === 'in' && m.ts > (this.persisted.lastRead[c] ?? 0)) this.unread.set(c, (this.unread.get(c) ?? 0) + 1);
    }
  }

  /** The conversations a message shows in (see belongs). */
  private static conversationsOf(m: ChatMessage): string[] {
    const inEveryone = m.conversation === EVERYONE || m.direction === 'in' || m.direction === 'system';
    if (m.conversation === EVERYONE) return [EVERYONE];
    return inEveryone ? [EVERYONE, m.conversation] : [m.conversation];
  }

  get(id: string): ChatMessage | undefined {
    return this.byId.get(id);
  }

  all(): ChatMessage[] {
    if (this.dirtyOrder) {
      this.ordered = [...this.byId.values()].sort((a, b) => a.ts - b.ts);
      this.dirtyOrder = false;
    }
    return this.ordered;
  }

  /** Everyone shows broadcasts, everything received and system lines; a peer's shows its own. */
  static belongs(m: ChatMessage, conversation: string): boolean {
    if (conversation === EVERYONE) return m.conversation === EVERYONE || m.direction === 'in' || m.direction === 'system';
    return m.conversation === conversation;
  }

  messagesOf(conversation: string): ChatMessage[] {
    return this.all().filter((m) => ChatModel.belongs(m, conversation));
  }

  /** Conversations to show as tabs: Everyone, then peers with messages or a live connection. */
  conversations(): string[] {
    const set = new Set<string>(this.convs);
    for (const p of this.peers.values()) if (p.state === 'connected') set.add(p.conversation);
    if (this.persisted.conversation !== EVERYONE) set.add(this.persisted.conversation);
    return [EVERYONE, ...[...set].sort((a, b) => this.title(a).localeCompare(this.title(b)))];
  }

  /** The peer a conversation is with (by address, or node id for native peers). */
  peerOf(conversation: string): PeerView | undefined {
    for (const p of this.peers.values()) if (p.conversation === conversation) return p;
    return undefined;
  }

  title(conversation: string): string {
    if (conversation === EVERYONE) return 'Everyone';
    return this.peerOf(conversation)?.name ?? conversation;
  }

  /** Unread counts by conversation. */
  unreadCounts(): ReadonlyMap<string, number> {
    return this.unread;
  }

  markRead(conversation: string): void {
    const last = this.newest.get(conversation);
    if (last === undefined) return;
    this.persisted.lastRead[conversation] = Math.max(this.persisted.lastRead[conversation] ?? 0, last);
    this.unread.set(conversation, 0);
  }
}
