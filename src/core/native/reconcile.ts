/**
 * What a start makes of history and outbox together (pure). A crash can leave them out of step:
 * history shows a message as waiting but its add never reached the outbox's disk, or a receipt
 * was recorded in history but the outbox's remove was not. History is written first and is the
 * word on what the user saw; the outbox holds what is still to go. Re-sending is safe: the
 * receiver drops an id it already has.
 */
import { ChatMessage, nodeIdOfConversation } from '../chatTypes';
import type { OutboxEntry } from './outbox';

/** Not yet acknowledged: 'sending' (not stored yet), 'queued' (stored), 'sent' (written, no receipt). */
const WAITING = new Set(['sending', 'queued', 'sent']);

export interface ReconcilePlan {
  /** Waiting in history but not in the outbox: put back (to this node id) so they go. */
  requeue: { to: string; message: ChatMessage }[];
  /** In the outbox and waiting, but not shown as queued (their add was stored): now queued. */
  queued: ChatMessage[];
  /** In the outbox but done in history (delivered, read, cancelled, failed): their remove was lost. */
  drop: string[];
  /** In the outbox but not in history (trimmed, or a lost history): shown again, as queued. */
  restore: OutboxEntry[];
}

/** The node id a direct native message goes to, or undefined for any other message. */
export function nativeRecipient(m: Pick<ChatMessage, 'conversation' | 'direction'>): string | undefined {
  return m.direction === 'out' ? nodeIdOfConversation(m.conversation) : undefined;
}

export function planReconcile(history: Iterable<ChatMessage>, outbox: readonly OutboxEntry[]): ReconcilePlan {
  const plan: ReconcilePlan = { requeue: [], queued: [], drop: [], restore: [] };
  const inOutbox = new Map(outbox.map((e) => [e.message.id, e]));
  const inHistory = new Set<string>();
  for (const m of history) {
    inHistory.add(m.id);
    const to = nativeRecipient(m);
    if (!to) continue;
    const waiting = WAITING.has(m.state ?? '');
    if (inOutbox.has(m.id)) {
      if (!waiting) plan.drop.push(m.id);
      else if (m.state !== 'queued') plan.queued.push(m);
    } else if (waiting) plan.requeue.push({ to, message: m });
  }
  for (const e of outbox) if (!inHistory.has(e.message.id)) plan.restore.push(e);
  return plan;
}
