/** The header (who and where this node is) and the conversation tabs with their unread counts. */
import { EVERYONE, type PeerView, type SelfInfo } from '../src/protocol/webviewMessages';
import type { ChatModel } from './chatModel';
import { el } from './render';

/** The tab strip: rebuilt only when what it shows changed (not once per frame of a burst). */
export class Tabs {
  private lastKey = '';

  constructor(
    private readonly host: HTMLElement,
    private readonly model: ChatModel,
    private readonly onSelect: (conversation: string) => void,
  ) {}

  render(visible: boolean): void {
    const model = this.model;
    const current = model.current;
    const unread = model.unreadCounts();
    const convs = model.conversations();
    const key = JSON.stringify([current, visible, convs.map((c) => [c, model.title(c), model.peerOf(c)?.state, unread.get(c) ?? 0])]);
    if (key === this.lastKey) return;
    this.lastKey = key;
    const frag = document.createDocumentFragment();
    for (const c of convs) {
      const tab = el('button', `tab${c === current ? ' active' : ''}`);
      tab.type = 'button';
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-selected', String(c === current));
      tab.dataset.conversation = c;
      const peer = model.peerOf(c);
      if (peer) tab.append(el('span', `dot dot-${peer.state}`));
      tab.append(el('span', 'label', model.title(c)));
      tab.title = c === EVERYONE ? 'Broadcasts and everything you receive' : `${model.title(c)} — ${peer?.address ?? c}${peer ? ` (${peer.protocol ?? 'classic'}, ${peer.state})` : ''}`;
      const n = c === current && visible ? 0 : unread.get(c) ?? 0;
      if (n > 0) tab.append(el('span', 'badge', n > 99 ? '99+' : String(n)));
      tab.addEventListener('click', () => this.onSelect(c));
      frag.append(tab);
    }
    this.host.replaceChildren(frag);
  }
}

/** The header line: `name @ address` and the node's status; left alone while unchanged. */
export function renderSelf(host: HTMLElement, self: SelfInfo | undefined): void {
  const key = JSON.stringify(self ?? null);
  if (host.dataset.key === key) return;
  host.dataset.key = key;
  host.replaceChildren();
  if (!self) return;
  const s = self.status;
  const dot = el('span', `dot dot-${s.state}`);
  const who = el('span', 'who', `${self.name} @ ${self.address}`);
  let what = '';
  if (s.state === 'listening') what = 'listening';
  else if (s.state === 'starting') what = 'starting…';
  else if (s.state === 'stopped') what = 'stopped';
  else what = s.reason;
  host.append(dot, who, el('span', `status status-${s.state}`, what));
}

/**
 * Under the tabs: whether the open conversation is private. Native peers are encrypted (and
 * maybe verified); classic programs send plain text anyone on the network can read.
 */
export function renderConversationInfo(host: HTMLElement, conversation: string, peer: PeerView | undefined): void {
  let cls = 'none';
  let text = '';
  let title = '';
  if (conversation === EVERYONE) {
    text = '';
  } else if (peer?.identityChanged) {
    cls = 'warning';
    text = 'New identity: not the key you talked to before';
    title = 'Nothing is sent to the new key until you choose Trust New Identity in the Peers view.';
  } else if (peer?.encrypted === true) {
    cls = peer.verified ? 'verified' : 'encrypted';
    text = peer.verified ? 'Encrypted · verified ✓' : 'Encrypted · not verified';
    title = `TLS 1.3 with ${peer.name}'s key (fingerprint ${peer.fingerprint ?? '?'}).${peer.verified ? ' You compared safety numbers.' : ' PeerChat: Verify Peer… compares safety numbers.'}`;
  } else if (peer?.encrypted === false) {
    cls = 'unencrypted';
    text = 'Unencrypted: a classic program; anyone on the network can read this conversation';
    title = 'Classic programs cannot encrypt. Do not send secrets here.';
  }
  const key = `${cls}|${text}|${title}`;
  if (host.dataset.key === key) return;
  host.dataset.key = key;
  host.className = `conv-info conv-${cls}`;
  // A codicon, not an emoji: it draws with the editor's own icon font everywhere.
  const icon = cls === 'encrypted' || cls === 'verified' ? 'lock' : cls === 'unencrypted' ? 'unlock' : cls === 'warning' ? 'warning' : '';
  host.replaceChildren(...(icon ? [el('i', `codicon codicon-${icon}`)] : []), document.createTextNode(text ? ` ${text}` : ''));
  host.title = title;
}
