/**
 * Delivery state, pure: what a set of per-peer results makes of a message, which receipts may
 * move it, and what a message interrupted by a restart becomes. No I/O, no clock.
 */
import { ChatMessage, DeliveryState, nodeIdOfConversation } from '../chatTypes';
import type { PeerResult } from '../channel';

export interface DeliveryPatch {
  state: DeliveryState;
  error?: string;
}

/**
 * A classic send's (or a broadcast's) outcome: failed when nothing went (or everything failed),
 * acked when every peer answered, else sent; errors joined per peer.
 */
export function classicOutcome(results: readonly PeerResult[], running: boolean): DeliveryPatch {
  if (results.length === 0) return { state: 'failed', error: running ? 'no peers to send to yet' : 'the node is not running: start it to send' };
  const failed = results.filter((r) => !r.ok);
  const error = failed.length ? failed.map((f) => f.error).join('; ') : undefined;
  if (failed.length === results.length) return { state: 'failed', error };
  if (results.every((r) => r.acked)) return { state: 'acked', error };
  return { state: 'sent', error };
}

/** A receipt's new state for an outgoing message, or undefined when it must not change it. */
export function afterReceipt(m: Pick<ChatMessage, 'direction' | 'state'>, receipt: 'delivered' | 'read'): DeliveryState | undefined {
  if (m.direction !== 'out') return undefined;
  if (receipt === 'read') return m.state === 'read' ? undefined : 'read';
  return m.state === 'read' || m.state === 'delivered' || m.state === 'cancelled' ? undefined : 'delivered';
}

/** A broadcast's final state must not undo a receipt that already arrived from a neighbour. */
export function receiptArrived(state: DeliveryState | undefined): boolean {
  return state === 'delivered' || state === 'read';
}

/**
 * What a message in flight when the last run ended becomes: a classic send never got a result
 * (failed); a native one written but not acknowledged goes again (queued). A direct native
 * message not yet stored is left to the outbox's reconciliation (native/reconcile.ts), which
 * puts it back.
 */
export function recovered(m: Pick<ChatMessage, 'state'> & Partial<Pick<ChatMessage, 'conversation' | 'direction'>>, inOutbox: boolean): DeliveryPatch | undefined {
  if (m.state === 'sending' && m.direction === 'out' && m.conversation && nodeIdOfConversation(m.conversation)) return undefined;
  if (m.state === 'sending') return { state: 'failed', error: 'interrupted: PeerChat closed before it was sent' };
  if (m.state === 'sent' && inOutbox) return { state: 'queued' };
  return undefined;
}
