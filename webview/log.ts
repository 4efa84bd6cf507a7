/**
 * The message list of the conversation on screen: rows tracked by id, new messages appended in one
 * insertion per frame, paging of earlier history, and keeping the scroll place.
 */
import { EVERYONE, type ChatMessage } from '../src/protocol/webviewMessages';
import { ChatModel } from './chatModel';
import type { FrameScheduler } from './frame';
import type { Host } from './host';
import type { StateSaver } from './persist';
import type { CodeActions } from './markdownDom';
import { el, renderMessage, type MessageActions } from './render';

/** How many messages of a conversation are in the DOM at first; "Show earlier" adds more. */
const PAGE = 300;
/**
 * No message row is shorter than this (pixels: a head line and a text line). Of the rows drawn at
 * once, only as many as can be on screen are built as Markdown straight away; the others show
 * their text and become Markdown when scrolled to (a burst appends rows that scroll past unseen).
 */
const MIN_ROW_PX = 30;
/** Closer to the bottom than this (pixels), the log follows new messages. */
const STICK_PX = 30;

export class MessageLog {
  /** How many of the conversation's newest messages are in the DOM. */
  private shown = PAGE;
  /** The host holds older history than what it has sent so far. */
  private hostHasMore = false;
  private loadingEarlier = false;
  private stickToBottom = true;
  private needFull = true;
  /** Where to put the scroll after the first full render (the view keeps its place when re-shown). */
  private restoreFromBottom: number;
  /** Ids of new or changed messages since the last render. */
  private readonly pending: string[] = [];
  /** Ids in `pending` that the model had never seen (the rest are state changes). */
  private readonly pendingNew = new Set<string>();
  /** The rows in the log by message id (no DOM query per message during a burst). */
  private readonly rows = new Map<string, HTMLElement>();
  private readonly actions: MessageActions;

  constructor(
    private readonly logEl: HTMLElement,
    private readonly model: ChatModel,
    private readonly host: Host,
    private readonly frame: FrameScheduler,
    saver: StateSaver,
    code: CodeActions,
  ) {
    this.restoreFromBottom = model.persisted.fromBottom ?? 0;
    this.actions = {
      retry: (id) => host.post({ type: 'retry', id }),
      cancel: (id) => host.post({ type: 'cancel', id }),
      code,
    };
    logEl.addEventListener('scroll', () => {
      const fromBottom = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight;
      this.stickToBottom = fromBottom < STICK_PX;
      model.persisted.fromBottom = this.stickToBottom ? 0 : Math.round(fromBottom);
      saver.save();
    });
  }

  /** A full history arrived (`init`): everything is drawn again. */
  reset(more: boolean): void {
    this.hostHasMore = more;
    this.needFull = true;
  }

  /** Another conversation is on screen: its newest page, following new messages. */
  switched(): void {
    this.shown = PAGE;
    this.stickToBottom = true;
    this.model.persisted.fromBottom = 0;
    this.needFull = true;
  }

  /** A message was added (`isNew`) or changed; drawn on the next render. */
  queue(id: string, isNew: boolean): void {
    if (isNew) this.pendingNew.add(id);
    this.pending.push(id);
  }

  /** The user sent a message: show it arriving. */
  follow(): void {
    this.stickToBottom = true;
  }

  /** An older page of history arrived: shown above, keeping what is on screen in place. */
  earlier(messages: ChatMessage[], more: boolean): void {
    for (const m of messages) this.model.upsert(m);
    this.hostHasMore = more;
    this.loadingEarlier = false;
    this.shown += PAGE;
    this.needFull = true;
    this.stickToBottom = false;
    this.redrawKeepingPlace();
  }

  render(): void {
    if (this.needFull) this.renderFull();
    else this.appendPending();
    this.pending.length = 0;
    this.pendingNew.clear();
    this.needFull = false;
  }

  private redrawKeepingPlace(): void {
    const prevHeight = this.logEl.scrollHeight;
    this.frame.now();
    this.logEl.scrollTop = this.logEl.scrollHeight - prevHeight;
  }

  private showEarlier(available: number): void {
    if (available > this.shown) {
      this.shown += PAGE;
      this.needFull = true;
      this.redrawKeepingPlace();
    } else if (!this.loadingEarlier) {
      // Older history stays in the host until asked for: a long history opens fast.
      this.loadingEarlier = true;
      const oldest = this.model.all()[0];
      this.host.post({ type: 'loadEarlier', before: oldest ? oldest.ts : Date.now() });
      this.needFull = true;
      this.frame.schedule();
    }
  }

  private renderFull(): void {
    const current = this.model.current;
    const msgs = this.model.messagesOf(current);
    const frag = document.createDocumentFragment();
    if (msgs.length > this.shown || this.hostHasMore) frag.append(this.moreButton(msgs.length));
    if (msgs.length === 0) frag.append(this.emptyNote(current));
    const showPeer = current === EVERYONE;
    this.rows.clear();
    const page = msgs.slice(-this.shown);
    const eager = this.onScreenRows();
    for (const [i, m] of page.entries()) {
      const row = renderMessage(m, showPeer, this.actions, page.length - i > eager);
      this.rows.set(m.id, row);
      frag.append(row);
    }
    const logEl = this.logEl;
    logEl.replaceChildren(frag);
    if (this.restoreFromBottom > 0) {
      logEl.scrollTop = logEl.scrollHeight - logEl.clientHeight - this.restoreFromBottom;
      this.stickToBottom = false;
      this.restoreFromBottom = 0;
    } else if (this.stickToBottom) logEl.scrollTop = logEl.scrollHeight;
  }

  private moreButton(available: number): HTMLElement {
    const label =
      available > this.shown ? `Show earlier messages (${available - this.shown} more)` : this.loadingEarlier ? 'Loading earlier messages…' : 'Load earlier messages';
    const more = el('button', 'more', label);
    more.type = 'button';
    more.addEventListener('click', () => this.showEarlier(available));
    return more;
  }

  private emptyNote(current: string): HTMLElement {
    const empty = el('div', 'empty');
    empty.append(el('p', '', current === EVERYONE ? 'No messages yet.' : `No messages with ${this.model.title(current)} yet.`));
    if (current === EVERYONE) {
      const connect = el('button', 'link', 'Connect to a peer…');
      connect.type = 'button';
      connect.addEventListener('click', () => this.host.post({ type: 'command', command: 'connect' }));
      const copy = el('button', 'link', 'Copy my address');
      copy.type = 'button';
      copy.addEventListener('click', () => this.host.post({ type: 'command', command: 'copyMyAddress' }));
      empty.append(connect, copy);
    }
    return empty;
  }

  /** The most rows the log can show at once (read before this frame's changes: no extra layout). */
  private onScreenRows(): number {
    return Math.ceil(this.logEl.clientHeight / MIN_ROW_PX) + 2;
  }

  /** Appends new messages and replaces changed ones without rebuilding the whole log. */
  private appendPending(): void {
    if (this.pending.length === 0) return;
    const current = this.model.current;
    const showPeer = current === EVERYONE;
    const added = document.createDocumentFragment();
    const todo: [ChatMessage, HTMLElement | undefined][] = [];
    for (const id of new Set(this.pending)) {
      const m = this.model.get(id);
      if (!m || !ChatModel.belongs(m, current)) continue;
      const existing = this.rows.get(id);
      // A state change of a message that is not on screen (scrolled out of the DOM) waits for the
      // next full render; only messages seen for the first time are appended.
      if (!existing && !this.pendingNew.has(id)) continue;
      todo.push([m, existing]);
    }
    // Rows appended below a log the user scrolled up in are not on screen at all.
    const eager = this.stickToBottom ? this.onScreenRows() : 0;
    for (const [i, [m, existing]] of todo.entries()) {
      const id = m.id;
      const row = renderMessage(m, showPeer, this.actions, !existing && todo.length - i > eager);
      this.rows.set(id, row);
      if (existing) existing.replaceWith(row);
      else added.append(row);
    }
    this.pendingNew.clear();
    if (added.childNodes.length) {
      this.logEl.querySelector('.empty')?.remove();
      this.logEl.append(added); // one insertion, one layout, however many arrived
    }
    // Keep the DOM bounded while a burst streams in.
    let extra = this.rows.size - (this.shown + PAGE);
    for (const [id, row] of this.rows) {
      if (extra-- <= 0) break;
      row.remove();
      this.rows.delete(id);
    }
    if (this.stickToBottom) this.logEl.scrollTop = this.logEl.scrollHeight;
  }
}
