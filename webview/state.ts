/** The chat webview's model: messages by conversation, unread counts, what the user looks at. */
import type { ChatMessage, PeerView, SelfInfo } from '../src/protocol/webviewMessages';

export const EVERYONE = 'everyone';

/** What survives the webview being hidden and shown again (vscode.setState). */
export interface PersistedState {
  conversation: string;
  drafts: Record<string, string>;
  lastRead: Record<string, number>;
  /** Pixels from the bottom of the log when the view was hidden (0 = following new messages). */
  fromBottom?: number;
}

export class ChatModel {
  self: SelfInfo | undefined;
  peers = new Map<string, PeerView>();
  private readonly byId = new Map<string, ChatMessage>();
  private ordered: ChatMessage[] = [];
  private dirtyOrder = false;

  constructor(public persisted: PersistedState) {}

  reset(messages: ChatMessage[]): void {
    this.byId.clear();
    for (const m of messages) this.byId.set(m.id, m);
    this.dirtyOrder = true;
  }

  /** Adds or replaces; returns true when the message is new. */
  upsert(m: ChatMessage): boolean {
    const isNew = !this.byId.has(m.id);
    this.byId.set(m.id, m);
    if (isNew) {
      const last = this.ordered[this.ordered.length - 1];
      if (!this.dirtyOrder && (!last || last.ts <= m.ts)) this.ordered.push(m);
      else this.dirtyOrder = true;
    } else {
      const i = this.ordered.findIndex((x) => x.id === m.id);
      if (i >= 0) this.ordered[i] = m;
    }
    return isNew;
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
    const set = new Set<string>();
    for (const m of this.all()) if (m.conversation !== EVERYONE) set.add(m.conversation);
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

  /** Unread counts of every conversation, in one pass over the messages. */
  unreadCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    const read = this.persisted.lastRead;
    for (const m of this.all()) {
      if (m.direction !== 'in') continue;
      if (m.ts > (read[EVERYONE] ?? 0)) counts.set(EVERYONE, (counts.get(EVERYONE) ?? 0) + 1);
      if (m.conversation !== EVERYONE && m.ts > (read[m.conversation] ?? 0)) counts.set(m.conversation, (counts.get(m.conversation) ?? 0) + 1);
    }
    return counts;
  }

  markRead(conversation: string): void {
    const msgs = this.messagesOf(conversation);
    const last = msgs[msgs.length - 1];
    if (last) this.persisted.lastRead[conversation] = Math.max(this.persisted.lastRead[conversation] ?? 0, last.ts);
  }
}
