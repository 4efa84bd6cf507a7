/** Composition root: builds the node, the views and the commands, and owns everything it builds. */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { registerTrustCommands } from './trustCommands';
import { registerBlockCommands } from './blockCommands';
import { PeerChatConfig, readConfig, SECTION } from './config';
import { EVERYONE } from './core/chatTypes';
import { PeerNode } from './core/node';
import { FileStore } from './core/store';
import { errorText, withErrorToast } from './errorToast';
import { Disposable } from './lifecycle';
import { createLog, writeLog } from './log';
import { coalesce, onNodeEvent } from './nodeEvents';
import { MessageNotifier } from './notifier';
import { handleListenError } from './portConflict';
import { StatusBar } from './statusBar';
import { registerShareCommands } from './shareCommands';
import { CodeActions } from './views/codeActions';
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

/** The node and everything built around it by one activation. */
let current: { node: PeerNode; owner: Disposable } | undefined;
const exported = {} as PeerChatApi;

export function activate(context: vscode.ExtensionContext): PeerChatApi {
  const t0 = performance.now();
  const owner = new Disposable();
  // Also handed to VS Code: if it disposes the subscriptions without awaiting deactivate(),
  // nothing of ours is left behind. Disposing twice is harmless.
  context.subscriptions.push(owner);
  const log = owner.register(createLog());
  let config = readConfig();
  const warnName = () => {
    if (config.nameProblem) void vscode.window.showWarningMessage(`PeerChat: ${config.nameProblem}`);
  };
  warnName();

  const storageDir = (context.storageUri ?? context.globalStorageUri).fsPath;
  const store = new FileStore(storageDir, config.historyLimit, (msg) => log.error(msg));
  const node = new PeerNode({ ...nodeSettings(config), store, limits: { maxHistory: config.historyLimit } });
  current = { node, owner };
  owner.register(onNodeEvent(node, 'log', (level, text) => writeLog(log, level, text)));

  const statusBar = owner.register(new StatusBar(node));
  const peersTree = owner.register(new PeersTreeProvider(node));
  const treeView = owner.register(vscode.window.createTreeView('peerchat.peers', { treeDataProvider: peersTree, showCollapseAll: false }));
  const describeSelf = () => (treeView.description = peersTree.describeSelf());
  describeSelf();

  const chatView = owner.register(
    new ChatViewProvider(
      context.extensionUri,
      node,
      {
        send: withErrorToast('send', log, async (conversation: string, text: string) => {
          if (conversation === EVERYONE) await node.broadcast(text);
          else await node.send(conversation, text);
        }),
        retry: withErrorToast('retry', log, async (id: string) => void (await node.retry(id))),
        cancel: (id) => {
          if (!node.cancel(id)) void vscode.window.showInformationMessage('PeerChat: that message is no longer waiting.');
        },
        viewing: (conversation) => node.markRead(conversation),
        command: (name) => void vscode.commands.executeCommand(name === 'connect' ? 'peerchat.connect' : 'peerchat.copyMyAddress'),
      },
      log,
      owner.register(new CodeActions(log)),
    ),
  );
  owner.register(vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chatView));
  owner.register(vscode.window.registerWebviewPanelSerializer(ChatViewProvider.panelType, chatView));

  const notifier = owner.register(new MessageNotifier(chatView, () => config.notifications));
  owner.register(
    onNodeEvent(node, 'message', (m) => {
      chatView.pushMessage(m);
      notifier.onMessage(m);
    }),
  );
  // Every message of a burst touches the peer table (last seen): one push per 100 ms at most.
  const peersChanged = owner.register(coalesce(100, () => chatView.pushPeers()));
  owner.register(onNodeEvent(node, 'peers', peersChanged));
  const selfChanged = () => {
    describeSelf();
    chatView.pushSelf();
  };
  owner.register(onNodeEvent(node, 'status', selfChanged));

  const listenError = (err: unknown) => handleListenError(err, config, log);
  const startNode = async () => {
    try {
      await node.start();
    } catch (err) {
      await listenError(err);
      return;
    }
    for (const p of config.knownPeers) void node.connect(p).catch((e: unknown) => log.warn(`greeting ${p} from peerchat.knownPeers: ${errorText(e)}`));
  };

  const commandContext = { node, config: () => config, showChat: (conversation?: string) => chatView.show(conversation), startNode, log };
  owner.register(registerCommands(commandContext));
  owner.register(registerTrustCommands(commandContext));
  owner.register(registerBlockCommands(commandContext));
  owner.register(registerShareCommands({ ...commandContext, chat: chatView }));

  owner.register(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      config = readConfig();
      warnName();
      try {
        await node.reconfigure(nodeSettings(config));
      } catch (err) {
        await listenError(err);
      }
      // A new name or advertised address changes what we show without a status event.
      selfChanged();
      statusBar.update();
    }),
  );

  const started = config.autoStart ? startNode() : Promise.resolve();
  log.info(`activated in ${(performance.now() - t0).toFixed(1)} ms; ${node.getHistory().length} messages of history, ${node.peers.size} peers, node ${node.nodeId.slice(0, 8)}`);
  const reload = async () => {
    await deactivate();
    return activate(context);
  };
  // One exported object for the extension's lifetime: after a reload it points at the new node.
  return Object.assign(exported, { node, chatView, peersTree, started, storageDir, reload });
}

/** Says exit to connected peers (bounded), stops listening, saves everything, disposes the views. */
export async function deactivate(): Promise<void> {
  const c = current;
  current = undefined;
  if (!c) return;
  // The views stay up while the node shuts down: its last status events still have somewhere to go.
  await c.node.shutdown();
  c.owner.dispose();
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
    // The per-machine folder is the same for every window and terminal peer of this user
    // (PEERCHAT_DISCOVERY_DIR, else ~/.peerchat/nearby).
    discovery: { mode: c.discovery },
  };
}
