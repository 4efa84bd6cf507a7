/** Plain data shared by the core, the extension, the webview protocol and the CLI. No imports. */

/** The conversation that holds broadcasts, and shows everything received. */
export const EVERYONE = 'everyone';

/** 'everyone' or a peer's "IP:PORT". */
export type ConversationId = string;

export type MessageDirection = 'in' | 'out' | 'system';

/**
 * Classic: sending → sent (written to the peer's socket) → acked (the peer replied); or failed.
 * Native: queued (waiting for the peer, kept on disk) → sent → delivered (receipt) → read; or
 * cancelled by the user.
 */
export type DeliveryState = 'sending' | 'queued' | 'sent' | 'acked' | 'delivered' | 'read' | 'failed' | 'cancelled';

/** The conversation id of a native peer: stable whatever address it uses. */
export function nativeConversation(nodeId: string): ConversationId {
  return `node:${nodeId}`;
}

/** The node id of a native peer's conversation, or undefined for any other conversation. */
export function nodeIdOfConversation(conversation: ConversationId): string | undefined {
  return conversation.startsWith('node:') ? conversation.slice('node:'.length) : undefined;
}

export interface ChatMessage {
  id: string;
  conversation: ConversationId;
  direction: MessageDirection;
  /** "IP:PORT" of the peer it came from or went to; absent on broadcasts and own system lines. */
  peer?: string;
  /** Display name of the author (own name on outgoing messages). */
  name: string;
  text: string;
  /** Epoch ms. */
  ts: number;
  state?: DeliveryState;
  /** Native messages: the node id of the author. */
  origin?: string;
  /** Per-peer failures of a send or broadcast, shown beside a failed message. */
  error?: string;
  /** Everyone messages: the origin's signature and public key (base64), kept for catch-up. */
  sig?: string;
  key?: string;
}

export type PeerStateName = 'connected' | 'known' | 'inactive' | 'gone';

/** A peer as the views show it. */
export interface PeerView {
  address: string;
  name: string;
  state: PeerStateName;
  lastSeen?: number;
  lastError?: string;
  /** classic, native, or undefined until we know. */
  protocol?: 'classic' | 'native';
  nodeId?: string;
  /** How the peer was learned: "message", "connect", "settings", "restored", "via NAME". */
  learnedFrom?: string;
  /** Its conversation id: its address, or node:ID for a native peer. */
  conversation: string;
  /** The classic form it speaks (standard, lineMode, bracket, pipe, json, …), when known. */
  dialect?: string;
  /** true for a native peer (TLS), false for a classic one (plain text on the network). */
  encrypted?: boolean;
  /** The user compared safety numbers with this key. */
  verified?: boolean;
  /** Short form of its key, for people (native peers). */
  fingerprint?: string;
  /** Another key answered at this address: shown as a warning until the user trusts or removes it. */
  identityChanged?: boolean;
  /** Discovered nearby (LAN or this machine) and not talked to yet: the Peers view shows it under
   *  Nearby, not in the main list. */
  nearby?: boolean;
}

/** Which setting of discovery: LAN and this machine, this machine only, or none. */
export type DiscoveryMode = 'lan' | 'machine' | 'off';

/** A PeerChat node that announces itself nearby and whose announced key answered (TLS). */
export interface NearbyView {
  nodeId: string;
  name: string;
  /** "IP:PORT" it was announced at. */
  address: string;
  fingerprint: string;
  /** "lan" (multicast DNS) or "machine" (the per-machine folder). */
  learnedFrom: 'lan' | 'machine';
  /** Its conversation id (node:ID). */
  conversation: string;
  /** Talked to before (it is also in the main peer list): the Nearby group leaves it out. */
  known: boolean;
}

/** An announcement another key answered for: shown as spoofed, never trusted. */
export interface SpoofedView {
  /** The node id the announcement claimed. */
  nodeId: string;
  name: string;
  address: string;
  learnedFrom: 'lan' | 'machine';
  /** The node id that really answered there, when one did. */
  answeredBy?: string;
}

export type NodeStatus =
  | { state: 'stopped' }
  | { state: 'starting'; address: string }
  | { state: 'listening'; address: string }
  | { state: 'error'; address: string; code: string; reason: string };

/** Who this node is, as shown in the views: `name @ IP:PORT`. */
export interface SelfInfo {
  name: string;
  address: string;
  status: NodeStatus;
}
