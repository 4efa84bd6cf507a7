import * as vscode from 'vscode';
import { PeerNode } from './core/node';

/** `PeerChat :PORT · N peers`, or the error; opens the chat. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('peerchat.status', vscode.StatusBarAlignment.Right, 100);

  constructor(private readonly node: PeerNode) {
    this.item.name = 'PeerChat';
    this.item.command = 'peerchat.openChat';
    this.update();
    this.item.show();
  }

  update(): void {
    const s = this.node.status;
    const peers = this.node.peers.list().filter((p) => p.state !== 'gone').length;
    const tip = new vscode.MarkdownString(undefined, false);
    tip.isTrusted = false;
    this.item.backgroundColor = undefined;
    switch (s.state) {
      case 'listening': {
        this.item.text = `$(comment-discussion) PeerChat :${this.node.listeningPort} · ${peers} peer${peers === 1 ? '' : 's'}`;
        const host = s.address.slice(0, s.address.lastIndexOf(':'));
        const exposure =
          host === '0.0.0.0' || host === '::'
            ? 'every network this machine is on: anyone who can reach it can send you messages'
            : host.startsWith('127.') || host === '::1'
              ? 'this machine only'
              : `the network of ${host} only`;
        tip.appendText(`Listening on ${s.address} (${exposure}).\nPeers reach you at ${this.node.address} as ${this.node.name}.\nClick to open the chat.`);
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

  dispose(): void {
    this.item.dispose();
  }
}
