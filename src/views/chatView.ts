import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { ChatMessage } from '../core/chatTypes';
import { PeerNode } from '../core/node';
import { RateBudget } from '../core/rateBudget';
import { HostToWebview, isWebviewToHost } from '../protocol/webviewMessages';
import type { CodeActions } from './codeActions';
import { buildChatHtml } from './webviewHtml';

export interface ChatViewHandlers {
  send(conversation: string, text: string): Promise<void>;
  retry(id: string): Promise<void>;
  cancel(id: string): void;
  /** The user is looking at a conversation in a visible chat (read receipts). */
  viewing(conversation: string): void;
  command(name: 'connect' | 'copyMyAddress'): void;
}

/** One place the chat is shown: the side bar view or an editor panel. */
interface Surface {
  readonly webview: vscode.Webview;
  visible(): boolean;
  ready: boolean;
  /** The conversation the user is looking at there, or null when it is hidden. */
  viewing: string | null;
}

/**
 * The Chat webview, in the side bar and in editor panels at once (same conversations, same
 * state): waits for each webview's `ready`, then sends it the full state; afterwards batches
 * message updates (one post per ~30 ms however many arrive) to all of them.
 */
export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.WebviewPanelSerializer, vscode.Disposable {
  static readonly viewId = 'peerchat.chat';
  static readonly panelType = 'peerchat.chatPanel';
  private readonly surfaces = new Set<Surface>();
  private view: Surface | undefined;
  private panel: vscode.WebviewPanel | undefined;
  private pendingFocus: string | undefined;
  private batch = new Map<string, ChatMessage>();
  private batchTimer: NodeJS.Timeout | undefined;

  /** The conversation the user is looking at in a visible chat, or null. */
  get viewing(): string | null {
    for (const s of this.surfaces) if (s.visible() && s.viewing !== null) return s.viewing;
    return null;
  }

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly node: PeerNode,
    private readonly handlers: ChatViewHandlers,
    private readonly log: vscode.LogOutputChannel,
    private readonly code: CodeActions,
  ) {}

  get isVisible(): boolean {
    return [...this.surfaces].some((s) => s.visible());
  }

  private options(): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')] };
  }

  /** Same HTML, CSP and message guard for the view and every panel. */
  private attach(webview: vscode.Webview, visible: () => boolean, onDispose: (f: () => void) => void, onHidden: (f: () => void) => void): Surface {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    webview.options = this.options();
    webview.html = buildChatHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.css')).toString(),
      codiconUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'codicons', 'codicon.css')).toString(),
    });
    const surface: Surface = { webview, visible, ready: false, viewing: null };
    this.surfaces.add(surface);
    const sub = webview.onDidReceiveMessage((m: unknown) => this.onMessage(surface, m));
    onHidden(() => (surface.viewing = null));
    onDispose(() => {
      sub.dispose();
      this.surfaces.delete(surface);
    });
    return surface;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    const s = this.attach(view.webview, () => view.visible, (f) => view.onDidDispose(f), (f) => view.onDidChangeVisibility(() => !view.visible && f()));
    this.view = s;
    view.onDidDispose(() => this.view === s && (this.view = undefined));
  }

  /** A chat panel VS Code restores after a window reload. */
  deserializeWebviewPanel(panel: vscode.WebviewPanel): Thenable<void> {
    this.adoptPanel(panel);
    return Promise.resolve();
  }

  private adoptPanel(panel: vscode.WebviewPanel): void {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'peerchat.svg');
    this.attach(panel.webview, () => panel.visible, (f) => panel.onDidDispose(f), (f) => panel.onDidChangeViewState(() => !panel.visible && f()));
    this.panel = panel;
    panel.onDidDispose(() => this.panel === panel && (this.panel = undefined));
  }

  /** Opens (or reveals) the chat as an editor panel beside the code. */
  openPanel(conversation?: string): void {
    if (conversation) this.pendingFocus = conversation;
    if (this.panel) {
      this.panel.reveal(undefined, false);
    } else {
      const panel = vscode.window.createWebviewPanel(ChatViewProvider.panelType, 'PeerChat', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, { ...this.options(), retainContextWhenHidden: false });
      this.adoptPanel(panel);
    }
    if (conversation) this.focusReady(conversation);
  }

  /** Reveals the chat (the panel when one is open, else the side bar view) and shows one conversation. */
  async show(conversation?: string): Promise<void> {
    if (conversation) this.pendingFocus = conversation;
    if (this.panel) this.panel.reveal(undefined, false);
    else await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
    if (conversation) this.focusReady(conversation);
  }

  private focusReady(conversation: string): void {
    let told = false;
    for (const s of this.surfaces) {
      if (!s.ready) continue;
      void s.webview.postMessage({ type: 'focus', conversation } satisfies HostToWebview);
      told = true;
    }
    if (told) this.pendingFocus = undefined;
  }

  /** The conversation shown last in any chat (Share Selection offers it first). */
  get lastConversation(): string | undefined {
    return this.viewing ?? [...this.surfaces].map((s) => s.viewing).find((v) => v !== null) ?? this.lastViewed;
  }
  private lastViewed: string | undefined;

  /** Queues a new or changed message for the webview. */
  pushMessage(m: ChatMessage): void {
    if (!this.anyReady()) return; // the full state goes out on ready
    // A message arriving in the conversation the user is looking at has been seen.
    const viewing = this.viewing;
    if (m.direction === 'in' && viewing !== null && m.conversation === viewing) this.handlers.viewing(viewing);
    this.batch.set(m.id, { ...m });
    if (!this.batchTimer) this.batchTimer = setTimeout(() => this.flush(), 30);
  }

  pushPeers(): void {
    if (this.anyReady()) this.post({ type: 'peers', peers: this.node.peerViews() });
  }

  pushSelf(): void {
    if (this.anyReady()) this.post({ type: 'self', self: this.node.self() });
  }

  private anyReady(): boolean {
    for (const s of this.surfaces) if (s.ready) return true;
    return false;
  }

  private flush(): void {
    this.batchTimer = undefined;
    if (!this.anyReady() || this.batch.size === 0) return;
    const messages = [...this.batch.values()];
    this.batch.clear();
    this.post({ type: 'messages', messages });
  }

  /** To every chat that has its full state. */
  private post(msg: HostToWebview): void {
    for (const s of this.surfaces) if (s.ready) void s.webview.postMessage(msg);
  }

  private reply(s: Surface, msg: HostToWebview): void {
    void s.webview.postMessage(msg);
  }

  /** A runaway or hostile script in the webview must not make the host flood the network. */
  private budgetValue: RateBudget | undefined;
  private get budget(): RateBudget {
    this.budgetValue ??= new RateBudget(this.node.limits.maxWebviewMessagesPerSecond, Date.now, (n) =>
      this.log.warn(`chat view: dropped ${n} messages over the limit of ${this.node.limits.maxWebviewMessagesPerSecond}/s`),
    );
    return this.budgetValue;
  }

  private onMessage(surface: Surface, raw: unknown): void {
    if (!this.budget.take()) return;
    if (!isWebviewToHost(raw)) {
      this.log.warn(`chat view sent an invalid message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const m = raw;
    switch (m.type) {
      case 'ready': {
        // The others keep their batch: this one gets everything up to now in its init.
        if (!this.anyReady()) this.batch.clear();
        surface.ready = true;
        const page = this.node.historyPage(this.node.limits.webviewPageSize);
        this.reply(surface, { type: 'init', self: this.node.self(), peers: this.node.peerViews(), messages: page.messages, more: page.more, focus: this.pendingFocus });
        this.pendingFocus = undefined;
        break;
      }
      case 'send':
        void this.handlers.send(m.conversation, m.text);
        break;
      case 'retry':
        void this.handlers.retry(m.id);
        break;
      case 'cancel':
        this.handlers.cancel(m.id);
        break;
      case 'loadEarlier': {
        const page = this.node.historyPage(this.node.limits.webviewPageSize, m.before);
        this.reply(surface, { type: 'earlier', messages: page.messages, more: page.more });
        break;
      }
      case 'viewing':
        surface.viewing = m.conversation;
        if (m.conversation !== null) this.lastViewed = m.conversation;
        if (m.conversation !== null && surface.visible()) this.handlers.viewing(m.conversation);
        break;
      case 'command':
        this.handlers.command(m.command);
        break;
      case 'openLink':
        void this.code.openLink(m.url).catch((e: Error) => this.log.warn(`chat: could not open a link: ${e.message}`));
        break;
      case 'openLocation':
        void this.code.openLocation(m.location, m.code, m.lang).catch((e: Error) => this.log.warn(`chat: could not open ${m.location.path.slice(0, 100)}: ${e.message}`));
        break;
      case 'checkSnippet':
        void this.code.status(m.location, m.code).then(
          (r) => this.reply(surface, { type: 'snippetStatus', key: m.key, ...r }),
          (e: Error) => this.reply(surface, { type: 'snippetStatus', key: m.key, status: 'refused', detail: e.message.slice(0, 300) }),
        );
        break;
      case 'compareSnippet':
        void this.code.compare(m.location, m.code, m.lang).catch((e: Error) => this.log.warn(`chat: could not compare with ${m.location.path.slice(0, 100)}: ${e.message}`));
        break;
      case 'openUntitled':
        void this.code.openUntitled(m.code, m.lang);
        break;
      case 'insertCode':
        void this.code.insert(m.code);
        break;
      case 'copy':
        void this.code.copy(m.text);
        break;
      case 'paste':
        this.reply(surface, { type: 'pasteLanguage', id: m.id, lang: this.code.pasteLanguage(m.text) });
        break;
      default: {
        const never: never = m;
        void never;
      }
    }
  }

  dispose(): void {
    clearTimeout(this.batchTimer);
  }
}
