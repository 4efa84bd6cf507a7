/** What both protocols offer the node: the same three operations, whatever the peer speaks. */
import type { ChatMessage } from './chatTypes';
import type { PeerRecord } from './peers/table';

/** The outcome of an operation for one peer. */
export interface PeerResult {
  peer: string;
  ok: boolean;
  error?: string;
  /** A classic peer answered on the socket. */
  acked?: boolean;
  /** Native peer offline: the message waits in the outbox. */
  queued?: boolean;
}

export interface SendOutcome {
  message: ChatMessage;
  result: PeerResult;
}

export interface Channel {
  /** Sends a direct text (or sends `existing` again), recording it in history. */
  send(peer: PeerRecord, text: string, existing?: ChatMessage): Promise<SendOutcome>;
  /** Whether the peer answers now; `error` says why not. */
  probe(peer: PeerRecord): Promise<{ alive: boolean; error?: string }>;
  /** Stops treating the peer as connected; tells it when `tell` is set. */
  disconnect(peer: PeerRecord, tell: boolean): Promise<PeerResult>;
}
