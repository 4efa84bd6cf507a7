/** Plain data shared by the core, the extension, the webview protocol and the CLI. No imports. */

/** The conversation that holds broadcasts, and shows everything received. */
export const EVERYONE = 'everyone';

/** 'everyone' or a peer's "IP:PORT". */
export type ConversationId = string;

export type MessageDirection = 'in' | 'out' | 'system';

/** sending → sent (written to the peer's socket) → acked (the peer replied); or failed. */
export type DeliveryState = 'sending' | 'sent' | 'acked' | 'failed';

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
  /** Per-peer failures of a send or broadcast, shown beside a failed message. */
  error?: string;
}

export type PeerStateName = 'connected' | 'known' | 'inactive' | 'gone';

/** A peer as the views show it. */
export interface PeerView {
  address: string;
  name: string;
  state: PeerStateName;
  lastSeen?: number;
  lastError?: string;
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
