/** Composition root: builds the node, the views and the commands; everything goes into subscriptions. */
import * as net from 'node:net';
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { PeerChatConfig, readConfig, SECTION } from './config';
import { ChatMessage, EVERYONE } from './core/chatTypes';
import { PeerChatError } from './core/errors';
import { PeerNode } from './core/node';
import { FileStore } from './core/store';
import { createLog, writeLog } from './log';
import { StatusBar } from './statusBar';
import { ChatViewProvider } from './views/chatView';
import { PeersTreeProvider } from './views/peersTree';

/** What activate() returns: lets integration tests reach the live node and views. */
export interface PeerChatApi {
  node: PeerNode;
  chatView: ChatViewProvider;
  peersTree: PeersTreeProvider;
  /** Resolves once the node has started (or failed to). */
  started: Promise<void>;
  /** Where history and peers are kept. */
  storageDir: string;
  /**
   * Runs deactivate then activate again in this extension host (everything disposed and rebuilt,
   * files re-read): what a window reload does to PeerChat, without killing the test runner.
   */
  reload(): Promise<PeerChatApi>;
}

let current: { node: PeerNode; disposables: vscode.Disposable[] } | undefined;
const exported = {} as PeerChatApi;

export function activate(context: vscode.ExtensionContext): PeerChatApi {
  const disposables: vscode.Disposable[] = [];
  context.subscriptions.push({ dispose: () => disposables.forEach((d) => d.dispose()) });
  return activateInto(context, disposables);
}

function activateInto(context: vscode.ExtensionContext, subscriptions: vscode.Disposable[]): PeerChatApi {
  const t0 = performance.now();
  const log = createLog();
  subscriptions.push(log);
  let config = readConfig();
  if (config.nameProblem) void vscode.window.showWarningMessage(`PeerChat: ${config.nameProblem}`);

  const storageDir = (context.storageUri ?? context.globalStorageUri).fsPath;
  const store = new FileStore(storageDir, config.historyLimit, (msg) => log.error(msg));
  const node = new PeerNode({ ...nodeSettings(config), store, limits: { maxHistory: config.historyLimit } });
  current = { node, disposables: subscriptions };
  node.on('log', (level, text) => writeLog(log, level, text));

  const statusBar = new StatusBar(node);
  const peersTree = new PeersTreeProvider(node);
  const treeView = vscode.window.createTreeView('peerchat.peers', { treeDataProvider: peersTree, showCollapseAll: false });
  treeView.description = peersTree.describeSelf();
  subscriptions.push(statusBar, peersTree, treeView);

  const showChat = (conversation?: string) => chatView.show(conversation);
  const send = async (conversation: string, text: string) => {
    try {
      if (conversation === EVERYONE) await node.broadcast(text);
      else await node.send(conversation, text);
    } catch (err) {
      void vscode.window.showErrorMessage(`PeerChat: ${(err as Error).message}`);
    }
  };
  const chatView = new ChatViewProvider(
    context.extensionUri,
    node,
    {
      send,
      retry: async (id) => {
        try {
          await node.retry(id);
        } catch (err) {
          void vscode.window.showErrorMessage(`PeerChat: ${(err as Error).message}`);
        }
      },
      cancel: (id) => {
        if (!node.cancel(id)) void vscode.window.showInformationMessage('PeerChat: that message is no longer waiting.');
      },
      viewing: (conversation) => node.markRead(conversation),
      command: (name) => void vscode.commands.executeCommand(name === 'connect' ? 'peerchat.connect' : 'peerchat.copyMyAddress'),
    },
    log,
  );
  subscriptions.push(chatView, vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chatView));

  const notifier = new MessageNotifier(chatView, () => config);
  node.on('message', (m) => {
    chatView.pushMessage(m);
    notifier.onMessage(m);
  });
  // A burst of messages changes the peer table (last seen) on every one: refresh the views at
  // most every 100 ms, not once per message.
  let peersTimer: NodeJS.Timeout | undefined;
  node.on('peers', () => {
    peersTimer ??= setTimeout(() => {
      peersTimer = undefined;
      peersTree.refresh();
      statusBar.update();
      chatView.pushPeers();
    }, 100);
  });
  subscriptions.push({ dispose: () => clearTimeout(peersTimer) });
  node.on('status', () => {
    statusBar.update();
    treeView.description = peersTree.describeSelf();
    chatView.pushSelf();
  });

  const startNode = async () => {
    try {
      await node.start();
    } catch (err) {
      await offerAnotherPort(err, config);
      return;
    }
    for (const p of config.knownPeers) void node.connect(p).catch((e: Error) => log.warn(`knownPeers: ${e.message}`));
  };

  subscriptions.push(...registerCommands({ node, config: () => config, showChat, startNode, log }));

  subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      config = readConfig();
      if (config.nameProblem) void vscode.window.showWarningMessage(`PeerChat: ${config.nameProblem}`);
      try {
        await node.reconfigure(nodeSettings(config));
      } catch (err) {
        await offerAnotherPort(err, config);
      }
      treeView.description = peersTree.describeSelf();
      statusBar.update();
      chatView.pushSelf();
    }),
  );

  const started = config.autoStart ? startNode() : Promise.resolve();
  log.info(`activated in ${(performance.now() - t0).toFixed(1)} ms; ${node.getHistory().length} messages of history, ${node.peers.size} peers, node ${node.nodeId.slice(0, 8)}`);
  const reload = async () => {
    await deactivate();
    const fresh: vscode.Disposable[] = [];
    context.subscriptions.push({ dispose: () => fresh.forEach((d) => d.dispose()) });
    return activateInto(context, fresh);
  };
  // One exported object for the extension's lifetime: after a reload it points at the new node.
  return Object.assign(exported, { node, chatView, peersTree, started, storageDir, reload });
}

/** Says exit to connected peers (bounded), stops listening, saves everything, disposes the views. */
export async function deactivate(): Promise<void> {
  const c = current;
  current = undefined;
  if (!c) return;
  await c.node.shutdown();
  c.disposables.forEach((d) => d.dispose());
  c.disposables.length = 0;
}

/** The node options that come from settings (and change without a reload). */
function nodeSettings(c: PeerChatConfig) {
  return {
    host: c.host,
    port: c.port,
    name: c.name,
    advertisedIp: c.advertisedIp,
    inactiveAfterSeconds: c.inactiveAfterSeconds,
    readReceipts: c.readReceipts,
  };
}

/** A port in use: say so plainly and offer a free port nearby. */
async function offerAnotherPort(err: unknown, config: PeerChatConfig): Promise<void> {
  const e = err as PeerChatError;
  if (e?.code !== 'ERR_PORT_IN_USE') {
    void vscode.window.showErrorMessage(`PeerChat: ${e?.message ?? String(err)}`);
    return;
  }
  const free = await findFreePort(config.host, config.port + 1);
  const use = free ? `Use Port ${free}` : undefined;
  const choice = await vscode.window.showErrorMessage(
    `PeerChat: ${e.message}. Another program (or another VS Code window) uses it.`,
    ...(use ? [use] : []),
    'Open Settings',
  );
  if (choice === use && free) {
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration(SECTION).update('port', free, target);
  } else if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'peerchat.port');
  }
}

function findFreePort(host: string, from: number): Promise<number | undefined> {
  const tryPort = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
    });
  return (async () => {
    for (let p = from; p < from + 50 && p <= 65535; p++) if (await tryPort(p)) return p;
    return undefined;
  })();
}

/** One notification at a time for messages that arrive while the chat is hidden. */
class MessageNotifier {
  private showing = false;
  private missed = 0;

  constructor(
    private readonly chat: ChatViewProvider,
    private readonly config: () => PeerChatConfig,
  ) {}

  onMessage(m: ChatMessage): void {
    if (m.direction !== 'in' || !this.config().notifications) return;
    if (this.chat.isVisible) return; // the user can see it already
    if (this.showing) {
      this.missed++;
      return;
    }
    this.showing = true;
    const text = m.text.length > 120 ? `${m.text.slice(0, 120)}…` : m.text;
    void vscode.window
      .showInformationMessage(`PeerChat — ${m.name}: ${text.replace(/\s+/g, ' ')}`, 'Open Chat')
      .then((choice) => {
        this.showing = false;
        if (choice) void this.chat.show(m.conversation);
        if (this.missed > 0) {
          const n = this.missed;
          this.missed = 0;
          void vscode.window.showInformationMessage(`PeerChat: ${n} more message${n === 1 ? '' : 's'} arrived.`, 'Open Chat').then((c) => {
            if (c) void this.chat.show();
          });
        }
      });
  }
}
