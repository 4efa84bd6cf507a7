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

/**
 * The Chat webview: waits for the webview's `ready`, then sends the full state; afterwards
 * batches message updates (one post per ~30 ms however many arrive).
 */
export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'peerchat.chat';
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private pendingFocus: string | undefined;
  private batch = new Map<string, ChatMessage>();
  private batchTimer: NodeJS.Timeout | undefined;
  /** The conversation the user is looking at, or null when the view is hidden. */
  viewing: string | null = null;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly node: PeerNode,
    private readonly handlers: ChatViewHandlers,
    private readonly log: vscode.LogOutputChannel,
    private readonly code: CodeActions,
  ) {}

  get isVisible(): boolean {
    return !!this.view?.visible;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    view.webview.html = buildChatHtml({
      cspSource: view.webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.css')).toString(),
      codiconUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'codicons', 'codicon.css')).toString(),
    });
    const subs: vscode.Disposable[] = [];
    subs.push(view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)));
    subs.push(
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.viewing = null;
      }),
    );
    view.onDidDispose(() => {
      subs.forEach((d) => d.dispose());
      if (this.view === view) {
        this.view = undefined;
        this.ready = false;
        this.viewing = null;
      }
    });
  }

  /** Reveals the view and shows one conversation. */
  async show(conversation?: string): Promise<void> {
    if (conversation) this.pendingFocus = conversation;
    await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
    if (this.ready && conversation) {
      this.post({ type: 'focus', conversation });
      this.pendingFocus = undefined;
    }
  }

  /** Queues a new or changed message for the webview. */
  pushMessage(m: ChatMessage): void {
    if (!this.ready) return; // the full state goes out on ready
    // A message arriving in the conversation the user is looking at has been seen.
    if (m.direction === 'in' && this.viewing !== null && this.view?.visible && (m.conversation === this.viewing)) this.handlers.viewing(this.viewing);
    this.batch.set(m.id, { ...m });
    if (!this.batchTimer) this.batchTimer = setTimeout(() => this.flush(), 30);
  }

  pushPeers(): void {
    if (this.ready) this.post({ type: 'peers', peers: this.node.peerViews() });
  }

  pushSelf(): void {
    if (this.ready) this.post({ type: 'self', self: this.node.self() });
  }

  private flush(): void {
    this.batchTimer = undefined;
    if (!this.ready || this.batch.size === 0) return;
    const messages = [...this.batch.values()];
    this.batch.clear();
    this.post({ type: 'messages', messages });
  }

  private post(msg: HostToWebview): void {
    void this.view?.webview.postMessage(msg);
  }

  /** A runaway or hostile script in the webview must not make the host flood the network. */
  private budgetValue: RateBudget | undefined;
  private get budget(): RateBudget {
    this.budgetValue ??= new RateBudget(this.node.limits.maxWebviewMessagesPerSecond, Date.now, (n) =>
      this.log.warn(`chat view: dropped ${n} messages over the limit of ${this.node.limits.maxWebviewMessagesPerSecond}/s`),
    );
    return this.budgetValue;
  }

  private onMessage(raw: unknown): void {
    if (!this.budget.take()) return;
    if (!isWebviewToHost(raw)) {
      this.log.warn(`chat view sent an invalid message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const m = raw;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.batch.clear();
        {
          const page = this.node.historyPage(this.node.limits.webviewPageSize);
          this.post({ type: 'init', self: this.node.self(), peers: this.node.peerViews(), messages: page.messages, more: page.more, focus: this.pendingFocus });
        }
        this.pendingFocus = undefined;
        break;
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
        this.post({ type: 'earlier', messages: page.messages, more: page.more });
        break;
      }
      case 'viewing':
        this.viewing = m.conversation;
        if (m.conversation !== null && this.view?.visible) this.handlers.viewing(m.conversation);
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
          (r) => this.post({ type: 'snippetStatus', key: m.key, ...r }),
          (e: Error) => this.post({ type: 'snippetStatus', key: m.key, status: 'refused', detail: e.message.slice(0, 300) }),
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
        this.post({ type: 'pasteLanguage', id: m.id, lang: this.code.pasteLanguage(m.text) });
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
