/**
 * DOM building for the chat: elements, one message row, folding. Peer text only ever goes
 * through textContent or text nodes (Markdown through its tree of allowed elements): never parsed
 * as HTML.
 */
import type { ChatMessage, DeliveryState } from '../src/protocol/webviewMessages';
import { looksLikeMarkdown, renderMarkdown } from './markdown';
import { appendBreakable, type CodeActions, mdDom, whenVisible } from './markdownDom';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function icon(name: string): HTMLElement {
  return el('i', `codicon codicon-${name}`);
}

// One formatter each: toLocaleTimeString builds a new one per call, which showed in profiles.
const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat([], { year: 'numeric', month: 'numeric', day: 'numeric' });

export function formatTime(ts: number): string {
  const d = new Date(ts);
  const hm = timeFormat.format(d);
  return d.toDateString() === new Date().toDateString() ? hm : `${dateFormat.format(d)} ${hm}`;
}

/** Icon and label of each delivery state (a state the host adds later shows as a question mark). */
const STATE_LABEL: Record<DeliveryState, [string, string]> = {
  sending: ['loading codicon-modifier-spin', 'sending'],
  queued: ['clock', 'queued: waits for the peer'],
  sent: ['check', 'sent'],
  acked: ['check-all', 'acknowledged'],
  delivered: ['check-all', 'delivered'],
  read: ['eye', 'read'],
  failed: ['error', 'failed'],
  cancelled: ['circle-slash', 'cancelled'],
};

export interface MessageActions {
  retry(id: string): void;
  cancel(id: string): void;
  code: CodeActions;
}

/** Puts plain `text` into `host` (long words get break opportunities, see appendBreakable). */
export function setBreakableText(host: HTMLElement, text: string): void {
  host.replaceChildren();
  appendBreakable(host, text);
}

/**
 * Message text: Markdown when it has any of its marks, else plain text (the fast path of a burst).
 * `lazy`: plain text now and Markdown once the row is on screen. A burst appends hundreds of rows
 * a second that scroll past unseen; only the newest are built as Markdown at once.
 */
function setMessageText(host: HTMLElement, text: string, code: CodeActions, lazy = false): void {
  if (!looksLikeMarkdown(text)) return setBreakableText(host, text);
  if (lazy) {
    setBreakableText(host, text);
    whenVisible(host, () => setMessageText(host, text, code));
    return;
  }
  host.replaceChildren();
  host.classList.add('md');
  mdDom(renderMarkdown(text), host, code);
}

const FOLD_CHARS = 1500;
const FOLD_LINES = 15;

function foldedText(text: string): string {
  return text.slice(0, FOLD_CHARS).split('\n').slice(0, FOLD_LINES).join('\n');
}

/** One message's row; `lazy` defers its Markdown until the row is on screen (see setMessageText). */
export function renderMessage(m: ChatMessage, showPeer: boolean, actions: MessageActions, lazy = false): HTMLElement {
  if (m.direction === 'system') {
    const row = el('div', 'msg system');
    row.dataset.id = m.id;
    row.append(icon('info'), el('span', 'text', m.text), el('time', 'time', formatTime(m.ts)));
    return row;
  }
  const row = el('div', `msg ${m.direction}`);
  row.dataset.id = m.id;
  const head = el('div', 'head');
  const who = m.direction === 'out' ? 'You' : m.name;
  head.append(el('span', 'name', who));
  if (showPeer && m.peer) head.append(el('span', 'peer', m.direction === 'out' ? `→ ${m.peer}` : m.peer));
  if (m.direction === 'out' && !m.peer) head.append(el('span', 'peer', '→ everyone'));
  head.append(el('time', 'time', formatTime(m.ts)));
  const long = m.text.length > FOLD_CHARS || m.text.split('\n', FOLD_LINES + 1).length > FOLD_LINES;
  // A long text is folded and only its start is laid out: a 60 KB word costs seconds of layout.
  const body = el('div', long ? 'text folded' : 'text');
  setMessageText(body, long ? foldedText(m.text) : m.text, actions.code, lazy);
  row.append(head, body);
  if (long) {
    const toggle = el('button', 'more-text', `Show all (${m.text.length.toLocaleString()} characters)`);
    toggle.type = 'button';
    toggle.addEventListener('click', () => {
      const folded = body.classList.toggle('folded');
      setMessageText(body, folded ? foldedText(m.text) : m.text, actions.code);
      toggle.textContent = folded ? `Show all (${m.text.length.toLocaleString()} characters)` : 'Show less';
    });
    row.append(toggle);
  }
  if (m.direction === 'out' && m.state) {
    const [ic, label] = Object.hasOwn(STATE_LABEL, m.state) ? STATE_LABEL[m.state] : ['question', m.state];
    const st = el('div', `state state-${m.state}`);
    st.title = m.error ?? label;
    st.append(icon(ic), el('span', '', label));
    if (m.state === 'failed') {
      if (m.error) st.append(el('span', 'error', `: ${m.error}`));
      const retry = el('button', 'retry', 'Retry');
      retry.type = 'button';
      retry.addEventListener('click', () => actions.retry(m.id));
      st.append(retry);
    } else if (m.state === 'queued') {
      const cancel = el('button', 'retry', 'Cancel');
      cancel.type = 'button';
      cancel.title = 'Take this message out of the outbox';
      cancel.addEventListener('click', () => actions.cancel(m.id));
      st.append(cancel);
    } else if (m.error) {
      st.append(el('span', 'error', ` (${m.error})`));
    }
    row.append(st);
  }
  return row;
}
