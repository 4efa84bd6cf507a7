import * as vscode from 'vscode';
import { PeerView, SpoofedView } from '../core/chatTypes';
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

/** The Nearby group: discovered PeerChat nodes not talked to yet, and spoofed announcements. */
interface NearbyGroup {
  kind: 'nearby';
  count: number;
}

interface SpoofedItem {
  kind: 'spoofed';
  view: SpoofedView;
}

/** A row of the Peers view: a peer (main list or Nearby), the Nearby group, a spoofed announcement. */
export type PeersElement = PeerView | NearbyGroup | SpoofedItem;

function isPeer(e: PeersElement): e is PeerView {
  return !('kind' in e);
}

function ago(ts: number | undefined): string {
  if (!ts) return 'never';
  const s = Math.round((Date.now() - ts) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(ts).toLocaleString();
}

const whereFound = (learnedFrom: string | undefined) => (learnedFrom === 'machine' ? 'this machine' : 'the LAN');

/**
 * The Peers view: Nearby first (PeerChat nodes that announce themselves and that you have not
 * talked to), then one row per peer; redrawn when the peer table or Nearby changes. The view's
 * description shows who you are.
 */
export class PeersTreeProvider extends Disposable implements vscode.TreeDataProvider<PeersElement> {
  private readonly changed = this.register(new vscode.EventEmitter<PeersElement | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  /** Every message of a burst touches the peer table (last seen): one redraw per 100 ms at most. */
  readonly refresh = this.register(coalesce(100, () => this.changed.fire(undefined)));

  constructor(private readonly node: PeerNode) {
    super();
    this.register(onNodeEvent(node, 'peers', this.refresh));
    this.register(onNodeEvent(node, 'nearby', this.refresh));
  }

  getChildren(element?: PeersElement): PeersElement[] {
    const views = this.node.peerViews();
    if (element) {
      if (isPeer(element) || element.kind !== 'nearby') return [];
      return [...views.filter((p) => p.nearby), ...this.node.spoofedAnnouncements().map((view): SpoofedItem => ({ kind: 'spoofed', view }))];
    }
    const near = views.filter((p) => p.nearby).length + this.node.spoofedAnnouncements().length;
    return [...(near ? [{ kind: 'nearby', count: views.filter((p) => p.nearby).length } as NearbyGroup] : []), ...views.filter((p) => !p.nearby)];
  }

  /** The peer rows of the main list (not Nearby), as shown. */
  peerRows(): PeerView[] {
    return this.getChildren().filter(isPeer);
  }

  /** The rows under Nearby: nearby peers, then spoofed announcements. */
  nearbyRows(): PeersElement[] {
    const group = this.getChildren().find((e) => !isPeer(e) && e.kind === 'nearby');
    return group ? this.getChildren(group) : [];
  }

  getTreeItem(e: PeersElement): vscode.TreeItem {
    if (isPeer(e)) return e.nearby ? this.nearbyItem(e) : this.peerItem(e);
    if (e.kind === 'nearby') {
      const item = new vscode.TreeItem('Nearby', vscode.TreeItemCollapsibleState.Expanded);
      item.id = 'peerchat.nearby';
      item.description = `${e.count} PeerChat node${e.count === 1 ? '' : 's'}`;
      item.iconPath = new vscode.ThemeIcon('broadcast');
      item.tooltip = 'PeerChat nodes that announce themselves on this machine or your LAN, and whose key was checked. Click one to open its conversation: a message connects natively (encrypted).';
      item.contextValue = 'nearbyGroup';
      return item;
    }
    const s = e.view;
    const item = new vscode.TreeItem(`⚠ spoofed: ${s.name}`, vscode.TreeItemCollapsibleState.None);
    item.id = `spoofed:${s.learnedFrom}:${s.address}:${s.nodeId}`;
    item.description = s.address;
    item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    item.tooltip = [
      `Spoofed announcement at ${s.address} (${whereFound(s.learnedFrom)})`,
      `It claims to be ${s.name} (node ${s.nodeId.slice(0, 16)}…), but ${s.answeredBy ? `another key (node ${s.answeredBy.slice(0, 16)}…)` : 'another key'} answered there.`,
      'PeerChat ignores it: nothing is sent to it.',
    ].join('\n');
    item.contextValue = 'spoofed';
    return item;
  }

  /** A nearby node: name, short fingerprint and address; a click opens its conversation. */
  private nearbyItem(p: PeerView): vscode.TreeItem {
    const item = new vscode.TreeItem(p.name, vscode.TreeItemCollapsibleState.None);
    item.id = p.address;
    item.description = [p.fingerprint ? p.fingerprint.split('-').slice(0, 2).join('-') : undefined, p.address].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon('radio-tower', new vscode.ThemeColor('charts.blue'));
    item.tooltip = [
      `${p.name} — ${p.address}`,
      `Found on ${whereFound(p.learnedFrom)}: a PeerChat node you have not talked to yet.`,
      `Its key answered at this address (TLS): fingerprint ${p.fingerprint ?? '?'}. Not verified: PeerChat: Verify Peer… compares safety numbers.`,
      ...(p.nodeId ? [`Node id: ${p.nodeId.slice(0, 16)}…`] : []),
      'Click to open its conversation; a message connects natively (encrypted).',
    ].join('\n');
    item.contextValue = `peer.${p.state}.native.nearby`;
    item.command = { command: 'peerchat.openConversation', title: 'Open Conversation', arguments: [p.conversation] };
    return item;
  }

  private peerItem(p: PeerView): vscode.TreeItem {
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
