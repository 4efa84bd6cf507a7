import * as vscode from 'vscode';
import { PeerNode } from './core/node';
import { Disposable } from './lifecycle';
import { coalesce, onNodeEvent } from './nodeEvents';

/** `PeerChat :PORT · N peers`, or the error; opens the chat. Follows the node by itself. */
export class StatusBar extends Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('peerchat.status', vscode.StatusBarAlignment.Right, 100));

  constructor(private readonly node: PeerNode) {
    super();
    this.register(onNodeEvent(node, 'status', () => this.update()));
    // Every message of a burst touches the peer table (last seen): the count is redrawn at most
    // every 100 ms, not once per message.
    const peersChanged = this.register(coalesce(100, () => this.update()));
    this.register(onNodeEvent(node, 'peers', peersChanged));
    this.register(onNodeEvent(node, 'nearby', peersChanged));
    this.item.name = 'PeerChat';
    this.item.command = 'peerchat.openChat';
    this.update();
    this.item.show();
  }

  update(): void {
    const s = this.node.status;
    // A nearby node nobody talked to is not a peer yet: it is counted as nearby.
    const peers = this.node.peers.list().filter((p) => p.state !== 'gone' && !this.node.peers.nearbyOnly(p)).length;
    const fresh = this.node.nearby().filter((n) => !n.known).length;
    const tip = new vscode.MarkdownString(undefined, false);
    tip.isTrusted = false;
    this.item.backgroundColor = undefined;
    switch (s.state) {
      case 'listening': {
        this.item.text = `$(comment-discussion) PeerChat :${this.node.listeningPort} · ${peers} peer${peers === 1 ? '' : 's'}${fresh ? ` · ${fresh} nearby` : ''}`;
        const host = s.address.slice(0, s.address.lastIndexOf(':'));
        const exposure =
          host === '0.0.0.0' || host === '::'
            ? 'every network this machine is on: anyone who can reach it can send you messages'
            : host.startsWith('127.') || host === '::1'
              ? 'this machine only'
              : `the network of ${host} only`;
        tip.appendText(
          `Listening on ${s.address} (${exposure}).\nPeers reach you at ${this.node.address} as ${this.node.name}.\nYour fingerprint: ${this.node.fingerprint} (PeerChat: Copy My Fingerprint).\n${this.nearbyLine()}\nClick to open the chat.`,
        );
        break;
      }
      case 'starting':
        this.item.text = `$(loading~spin) PeerChat :${this.node.listeningPort}`;
        tip.appendText(`Starting on ${s.address}…`);
        break;
      case 'stopped':
        this.item.text = '$(circle-slash) PeerChat stopped';
        tip.appendText('The node is stopped. Run "PeerChat: Start Node" to listen.');
        break;
      case 'error':
        this.item.text = `$(error) PeerChat: ${s.code === 'ERR_PORT_IN_USE' ? `port ${this.node.listeningPort} in use` : 'error'}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        tip.appendText(s.reason);
        break;
    }
    this.item.tooltip = tip;
  }

  /** How many PeerChat nodes are nearby, and where discovery looks. */
  private nearbyLine(): string {
    const mode = this.node.discoveryMode;
    if (mode === 'off') return 'Discovery is off (peerchat.discovery): peers only by address.';
    const all = this.node.nearby();
    const fresh = all.filter((n) => !n.known).length;
    const where = mode === 'lan' ? 'on this machine and your LAN' : 'on this machine';
    const count = all.length === 0 ? 'No PeerChat nodes nearby' : `${all.length} PeerChat node${all.length === 1 ? '' : 's'} nearby`;
    return `${count} ${where}${fresh ? ` (${fresh} new: Peers view → Nearby)` : ''}.`;
  }
}
