import * as vscode from 'vscode';
import { PeerView } from '../core/chatTypes';
import { DIALECT_LABELS, DialectName } from '../core/classic/dialects';
import { PeerNode } from '../core/node';
import { Disposable } from '../lifecycle';
import { coalesce, onNodeEvent } from '../nodeEvents';

const ICONS: Record<PeerView['state'], [string, string]> = {
  connected: ['pass-filled', 'testing.iconPassed'],
  known: ['circle-filled', 'charts.blue'],
  inactive: ['circle-outline', 'charts.yellow'],
  gone: ['circle-slash', 'disabledForeground'],
};

function ago(ts: number | undefined): string {
  if (!ts) return 'never';
  const s = Math.round((Date.now() - ts) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(ts).toLocaleString();
}

/** The Peers view: one row per peer, redrawn when the node's peer table changes; the view's description shows who you are. */
export class PeersTreeProvider extends Disposable implements vscode.TreeDataProvider<PeerView> {
  private readonly changed = this.register(new vscode.EventEmitter<PeerView | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  /** Every message of a burst touches the peer table (last seen): one redraw per 100 ms at most. */
  readonly refresh = this.register(coalesce(100, () => this.changed.fire(undefined)));

  constructor(private readonly node: PeerNode) {
    super();
    this.register(onNodeEvent(node, 'peers', this.refresh));
  }

  getChildren(element?: PeerView): PeerView[] {
    return element ? [] : this.node.peerViews();
  }

  getTreeItem(p: PeerView): vscode.TreeItem {
    const item = new vscode.TreeItem(p.name, vscode.TreeItemCollapsibleState.None);
    item.id = p.address;
    const protocol = p.protocol === 'classic' && p.dialect && p.dialect !== 'standard' ? p.dialect : p.protocol ?? '?';
    const security = p.identityChanged ? '⚠ new identity' : p.encrypted === true ? (p.verified ? 'encrypted · verified ✓' : 'encrypted') : p.encrypted === false ? 'unencrypted' : '';
    item.description = [p.address, protocol, p.state, security].filter(Boolean).join(' · ');
    const [icon, color] = p.identityChanged ? ['warning', 'problemsWarningIcon.foreground'] : ICONS[p.state];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    // A plain string: a peer's name must never become markdown or a command link.
    item.tooltip = [
      `${p.name} — ${p.address}`,
      `State: ${p.state}`,
      `Protocol: ${p.protocol === 'native' ? 'PeerChat native (receipts, offline delivery)' : p.protocol === 'classic' ? 'classic (one connection per message)' : 'not known yet'}`,
      ...(p.identityChanged ? ['⚠ New identity: not the key you talked to before. Nothing is sent to it until you choose Trust New Identity (right-click).'] : []),
      p.encrypted === true
        ? `Encrypted (TLS 1.3, key proven). Fingerprint ${p.fingerprint ?? '?'}. ${p.verified ? 'Verified: you compared safety numbers.' : 'Not verified: PeerChat: Verify Peer… compares safety numbers.'}`
        : p.encrypted === false
          ? 'Unencrypted: classic programs send plain text, which anyone on the network can read.'
          : 'Encryption: not known yet',
      ...(p.nodeId ? [`Node id: ${p.nodeId.slice(0, 16)}…`] : []),
      ...(p.protocol !== 'native' ? [`Dialect: ${p.dialect ? DIALECT_LABELS[p.dialect as DialectName] ?? p.dialect : 'not known yet (standard is used)'}`] : []),
      `Learned: ${p.learnedFrom ?? 'message'}`,
      `Last seen: ${ago(p.lastSeen)}`,
      ...(p.lastError ? [`Last error: ${p.lastError}`] : []),
    ].join('\n');
    // peer.STATE, then .native for a key to verify, .newIdentity for a key change to decide on.
    item.contextValue = `peer.${p.state}${p.protocol === 'native' ? '.native' : ''}${p.identityChanged ? '.newIdentity' : ''}`;
    item.command = { command: 'peerchat.openConversation', title: 'Open Conversation', arguments: [p.conversation] };
    return item;
  }

  /**
   * `name @ IP:PORT · listening · key ABCD-…` for the view's description, beside its title (a
   * tree view's title has no tooltip, so the fingerprint is shown where people look for "me").
   */
  describeSelf(): string {
    const s = this.node.status;
    const state = s.state === 'error' ? (s.code === 'ERR_PORT_IN_USE' ? 'port in use' : 'error') : s.state;
    return `${this.node.name} @ ${this.node.address} · ${state} · key ${this.node.fingerprint}`;
  }
}
