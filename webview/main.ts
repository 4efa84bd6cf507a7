/** Chat webview entry: talks to the host only through typed, validated messages. */
import { isHostToWebview, type HostToWebview, type WebviewToHost, MAX_COMPOSER_TEXT } from '../src/protocol/webviewMessages';
import { el, renderMessage, renderSelf } from './render';
import { ChatModel, EVERYONE, type PersistedState } from './state';

interface VsCodeApi {
  postMessage(msg: WebviewToHost): void;
  getState(): unknown;
  setState(s: PersistedState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** How many messages of a conversation are in the DOM at first; "Show earlier" adds more. */
const PAGE = 300;

const vscode = acquireVsCodeApi();
const saved = vscode.getState() as Partial<PersistedState> | undefined;
const model = new ChatModel({
  conversation: typeof saved?.conversation === 'string' ? saved.conversation : EVERYONE,
  drafts: typeof saved?.drafts === 'object' && saved.drafts ? saved.drafts : {},
  lastRead: typeof saved?.lastRead === 'object' && saved.lastRead ? saved.lastRead : {},
  fromBottom: typeof saved?.fromBottom === 'number' ? saved.fromBottom : 0,
});
/** Where to put the scroll after the first full render (the view keeps its place when re-shown). */
let restoreFromBottom = model.persisted.fromBottom ?? 0;

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const selfEl = $('self');
const tabsEl = $('tabs');
const logEl = $('log');
const input = $('input') as HTMLTextAreaElement;
const form = $('composer') as HTMLFormElement;

let shown = PAGE;
/** The host holds older history than what it has sent so far. */
let hostHasMore = false;
let loadingEarlier = false;
let stickToBottom = true;
let scheduled = false;
let needFullLog = true;
const pendingAppend: string[] = [];
/** Ids in pendingAppend that the model had never seen (the rest are state changes). */
const pendingNew = new Set<string>();

function post(msg: WebviewToHost): void {
  vscode.postMessage(msg);
}

let lastSaved = '';
let saveTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Saves what must survive the view being hidden. setState goes through the workbench, which in
 * code-server shares this thread: during a burst, saving once per frame slowed every message, so
 * it is saved only when it changed and at most twice a second.
 */
function persist(now = false): void {
  const doSave = () => {
    saveTimer = undefined;
    const json = JSON.stringify(model.persisted);
    if (json === lastSaved) return;
    lastSaved = json;
    vscode.setState(model.persisted);
  };
  if (now) {
    clearTimeout(saveTimer);
    doSave();
  } else {
    saveTimer ??= setTimeout(doSave, 500);
  }
}

function current(): string {
  return model.persisted.conversation;
}

function visible(): boolean {
  return document.visibilityState === 'visible';
}

/** Renders on the next frame, at most once per frame, however many messages arrived. */
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

let firstRender = true;

function render(): void {
  renderSelf(selfEl, model.self);
  if (visible()) model.markRead(current());
  renderTabs();
  if (needFullLog) renderLog();
  else appendPending();
  pendingAppend.length = 0;
  pendingNew.clear();
  needFullLog = false;
  const placeholder = `Message ${model.title(current())} (Enter to send, Shift+Enter for a new line)`;
  if (input.placeholder !== placeholder) input.placeholder = placeholder;
  persist();
  if (firstRender && model.self) {
    firstRender = false;
    performance.mark('peerchat:first-render'); // for the benchmarks: time to first paint
  }
}

let lastTabsKey = '';

function renderTabs(): void {
  const unread = model.unreadCounts();
  const convs = model.conversations();
  // Rebuild the tabs only when what they show changed (not once per frame of a burst).
  const key = JSON.stringify([current(), visible(), convs.map((c) => [c, model.title(c), model.peerOf(c)?.state, unread.get(c) ?? 0])]);
  if (key === lastTabsKey) return;
  lastTabsKey = key;
  const frag = document.createDocumentFragment();
  for (const c of convs) {
    const tab = el('button', `tab${c === current() ? ' active' : ''}`);
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-selected', String(c === current()));
    tab.dataset.conversation = c;
    const peer = model.peerOf(c);
    if (peer) tab.append(el('span', `dot dot-${peer.state}`));
    tab.append(el('span', 'label', model.title(c)));
    tab.title = c === EVERYONE ? 'Broadcasts and everything you receive' : `${model.title(c)} — ${peer?.address ?? c}${peer ? ` (${peer.protocol ?? 'classic'}, ${peer.state})` : ''}`;
    const n = c === current() && visible() ? 0 : unread.get(c) ?? 0;
    if (n > 0) tab.append(el('span', 'badge', n > 99 ? '99+' : String(n)));
    tab.addEventListener('click', () => select(c));
    frag.append(tab);
  }
  tabsEl.replaceChildren(frag);
}

function renderLog(): void {
  const msgs = model.messagesOf(current());
  const frag = document.createDocumentFragment();
  if (msgs.length > shown || hostHasMore) {
    const label = msgs.length > shown ? `Show earlier messages (${msgs.length - shown} more)` : loadingEarlier ? 'Loading earlier messages…' : 'Load earlier messages';
    const more = el('button', 'more', label);
    more.type = 'button';
    more.addEventListener('click', () => {
      if (msgs.length > shown) {
        shown += PAGE;
        needFullLog = true;
        const prevHeight = logEl.scrollHeight;
        render();
        logEl.scrollTop = logEl.scrollHeight - prevHeight;
      } else if (!loadingEarlier) {
        // Older history stays in the host until asked for: a long history opens fast.
        loadingEarlier = true;
        const oldest = model.all()[0];
        post({ type: 'loadEarlier', before: oldest ? oldest.ts : Date.now() });
        needFullLog = true;
        schedule();
      }
    });
    frag.append(more);
  }
  if (msgs.length === 0) {
    const empty = el('div', 'empty');
    empty.append(el('p', '', current() === EVERYONE ? 'No messages yet.' : `No messages with ${model.title(current())} yet.`));
    if (current() === EVERYONE) {
      const connect = el('button', 'link', 'Connect to a peer…');
      connect.type = 'button';
      connect.addEventListener('click', () => post({ type: 'command', command: 'connect' }));
      const copy = el('button', 'link', 'Copy my address');
      copy.type = 'button';
      copy.addEventListener('click', () => post({ type: 'command', command: 'copyMyAddress' }));
      empty.append(connect, copy);
    }
    frag.append(empty);
  }
  const showPeer = current() === EVERYONE;
  rows.clear();
  for (const m of msgs.slice(-shown)) {
    const row = renderMessage(m, showPeer, actions);
    rows.set(m.id, row);
    frag.append(row);
  }
  logEl.replaceChildren(frag);
  if (restoreFromBottom > 0) {
    logEl.scrollTop = logEl.scrollHeight - logEl.clientHeight - restoreFromBottom;
    stickToBottom = false;
    restoreFromBottom = 0;
  } else if (stickToBottom) logEl.scrollTop = logEl.scrollHeight;
}

/** The rows in the log by message id (no DOM query per message during a burst). */
const rows = new Map<string, HTMLElement>();

/** Appends new messages and replaces changed ones without rebuilding the whole log. */
function appendPending(): void {
  if (pendingAppend.length === 0) return;
  const showPeer = current() === EVERYONE;
  const added = document.createDocumentFragment();
  for (const id of new Set(pendingAppend)) {
    const m = model.get(id);
    if (!m || !ChatModel.belongs(m, current())) continue;
    const existing = rows.get(id);
    // A state change of a message that is not on screen (scrolled out of the DOM) waits for the
    // next full render; only messages seen for the first time are appended.
    if (!existing && !pendingNew.has(id)) continue;
    const row = renderMessage(m, showPeer, actions);
    rows.set(id, row);
    if (existing) existing.replaceWith(row);
    else added.append(row);
  }
  pendingNew.clear();
  if (added.childNodes.length) {
    logEl.querySelector('.empty')?.remove();
    logEl.append(added); // one insertion, one layout, however many arrived
  }
  // Keep the DOM bounded while a burst streams in.
  let extra = rows.size - (shown + PAGE);
  for (const [id, row] of rows) {
    if (extra-- <= 0) break;
    row.remove();
    rows.delete(id);
  }
  if (stickToBottom) logEl.scrollTop = logEl.scrollHeight;
}

function select(c: string): void {
  if (c === current()) return;
  model.persisted.drafts[current()] = input.value;
  model.persisted.conversation = c;
  input.value = model.persisted.drafts[c] ?? '';
  shown = PAGE;
  stickToBottom = true;
  model.persisted.fromBottom = 0;
  needFullLog = true;
  post({ type: 'viewing', conversation: c });
  schedule();
  input.focus();
}

const actions = {
  retry: (id: string) => post({ type: 'retry', id }),
  cancel: (id: string) => post({ type: 'cancel', id }),
};

function send(): void {
  const text = input.value;
  if (text.trim() === '') return;
  if (text.length > MAX_COMPOSER_TEXT) {
    input.setCustomValidity(`At most ${MAX_COMPOSER_TEXT} characters`);
    input.reportValidity();
    return;
  }
  input.setCustomValidity('');
  post({ type: 'send', conversation: current(), text });
  input.value = '';
  model.persisted.drafts[current()] = '';
  stickToBottom = true;
  persist();
}

function onHost(msg: HostToWebview): void {
  switch (msg.type) {
    case 'init':
      performance.mark('peerchat:init-received');
      model.self = msg.self;
      model.peers = new Map(msg.peers.map((p) => [p.address, p]));
      model.reset(msg.messages);
      hostHasMore = msg.more;
      if (msg.focus) model.persisted.conversation = msg.focus;
      needFullLog = true;
      break;
    case 'earlier': {
      const prevHeight = logEl.scrollHeight;
      for (const m of msg.messages) model.upsert(m);
      hostHasMore = msg.more;
      loadingEarlier = false;
      shown += PAGE;
      needFullLog = true;
      stickToBottom = false;
      render();
      logEl.scrollTop = logEl.scrollHeight - prevHeight;
      return;
    }
    case 'messages':
      for (const m of msg.messages) {
        if (model.upsert(m)) pendingNew.add(m.id);
        pendingAppend.push(m.id);
      }
      break;
    case 'peers':
      model.peers = new Map(msg.peers.map((p) => [p.address, p]));
      break;
    case 'self':
      model.self = msg.self;
      break;
    case 'focus':
      select(msg.conversation);
      return;
    default: {
      const never: never = msg;
      void never;
    }
  }
  schedule();
}

window.addEventListener('message', (e: MessageEvent) => {
  if (isHostToWebview(e.data)) onHost(e.data);
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});

input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});

input.addEventListener('input', () => {
  model.persisted.drafts[current()] = input.value;
});

logEl.addEventListener('scroll', () => {
  const fromBottom = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight;
  stickToBottom = fromBottom < 30;
  model.persisted.fromBottom = stickToBottom ? 0 : Math.round(fromBottom);
  persist();
});

document.addEventListener('visibilitychange', () => {
  if (!visible()) persist(true);
  post({ type: 'viewing', conversation: visible() ? current() : null });
  schedule();
});

input.value = model.persisted.drafts[current()] ?? '';
post({ type: 'ready' });
post({ type: 'viewing', conversation: visible() ? current() : null });
