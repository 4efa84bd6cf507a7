/**
 * Direct native messages: every one goes through the outbox (on disk) and leaves it only on a
 * receipt, so a connection that dies mid-write loses nothing. Per peer, the messages not yet
 * written on its current session wait in `unsent`, so a send costs O(1), not a scan.
 */
import type { PeerResult, SendOutcome } from '../channel';
import { ChatMessage, EVERYONE, nativeConversation } from '../chatTypes';
import type { NodeContext } from '../context';
import { afterReceipt, receiptArrived } from '../history/delivery';
import type { PeerRecord } from '../peers/table';
import type { Store } from '../store';
import { toChatFrame } from './chatFrame';
import { Outbox, OutboxRefusal } from './outbox';
import { planReconcile } from './reconcile';
import type { Sessions } from './sessions';

export class NativeDelivery {
  readonly outbox: Outbox;
  private readonly unsent = new Map<string, Set<string>>();
  private readonly readSent = new Set<string>();

  constructor(
    private readonly ctx: NodeContext,
    store: Store,
    private readonly sessions: Sessions,
  ) {
    this.outbox = new Outbox(store, { perPeer: ctx.limits.maxOutboxPerPeer, messages: ctx.limits.maxOutboxMessages, bytes: ctx.limits.maxOutboxBytes }, (msg) => ctx.log('error', msg));
  }

  /**
   * Queues a direct message (or `existing` again) for a native peer and writes it if it can. It
   * is reported queued, and goes out, only once it is on disk (one fsync per tick's batch).
   */
  async send(peer: PeerRecord, text: string, existing?: ChatMessage): Promise<SendOutcome> {
    const { ctx } = this;
    const nodeId = peer.nodeId as string;
    if (existing) ctx.history.update(existing, { error: undefined });
    const message =
      existing ?? ctx.history.add({ conversation: nativeConversation(nodeId), direction: 'out', peer: peer.address, name: ctx.self.name, text, state: 'sending', origin: ctx.nodeId });
    if (!this.outbox.has(message.id)) {
      const refused = this.outbox.refusal(nodeId, message);
      const error = refused ? this.refusalText(refused, peer.name) : await this.store(nodeId, message);
      if (error) {
        ctx.history.update(message, { state: 'failed', error });
        return { message, result: { peer: peer.address, ok: false, error } };
      }
      if (!this.outbox.has(message.id)) {
        // Cancelled while it was being stored.
        return { message, result: { peer: peer.address, ok: false, error: 'cancelled' } };
      }
    }
    this.queued(nodeId, message);
    if (!this.sessions.isReady(nodeId)) void this.sessions.dial(peer.address);
    const result: PeerResult = { peer: peer.address, ok: true, queued: ctx.history.get(message.id)?.state === 'queued' };
    return { message, result };
  }

  /** Stores a message in the outbox; resolves to why it could not be, or undefined once it is on disk. */
  private store(nodeId: string, message: ChatMessage): Promise<string | undefined> {
    return this.outbox.add(nodeId, { ...message, state: 'queued' }).then(
      () => undefined,
      (err: Error) => `could not store it in the outbox: ${err.message}`,
    );
  }

  /** A message is on disk: shown as queued, and written to the peer's session if there is one. */
  private queued(nodeId: string, message: ChatMessage): void {
    if (message.state !== 'queued' && !receiptArrived(message.state) && message.state !== 'cancelled') this.ctx.history.update(message, { state: 'queued' });
    this.markUnsent(nodeId, message.id);
    this.flush(nodeId);
  }

  private refusalText(r: OutboxRefusal, peerName: string): string {
    switch (r.kind) {
      case 'peer':
        return `the outbox for ${peerName} is full (${r.limit} messages wait already)`;
      case 'messages':
        return `the outbox is full: ${r.limit} messages waiting (PeerChat's limit); cancel some in Show Outbox`;
      case 'bytes':
        return `the outbox is full: ${formatBytes(r.limit)} of messages waiting (PeerChat's limit); cancel some in Show Outbox`;
      default: {
        const never: never = r;
        return never;
      }
    }
  }

  /**
   * At start, after history is loaded: history and outbox agree again (see planReconcile). A
   * message history shows as waiting that the outbox lost is put back, or failed with the reason
   * when the outbox is full.
   */
  reconcile(): void {
    const { ctx } = this;
    const plan = planReconcile(ctx.history.all(), this.outbox.all());
    for (const id of plan.drop) this.outbox.remove(id);
    for (const m of plan.queued) ctx.history.update(m, { state: 'queued' });
    for (const e of plan.restore) ctx.history.add({ ...e.message, state: 'queued' });
    let back = 0;
    for (const { to, message } of plan.requeue) {
      const refused = this.outbox.refusal(to, message);
      if (refused) {
        ctx.history.update(message, { state: 'failed', error: `not sent: PeerChat stopped before it was stored, and ${this.refusalText(refused, ctx.peers.byNodeId(to)?.name ?? `node ${to.slice(0, 12)}…`)}` });
        continue;
      }
      back++;
      void this.store(to, message).then((error) => {
        if (error) ctx.history.update(message, { state: 'failed', error });
        else if (this.outbox.has(message.id)) this.queued(to, message);
      });
    }
    if (back) ctx.log('info', `put ${back} message(s) back into the outbox: PeerChat stopped before they were stored`);
    if (plan.restore.length) ctx.log('info', `${plan.restore.length} message(s) in the outbox were missing from history: shown again as queued`);
  }

  /** Writes what waits for a peer onto its session, until the session is behind. */
  flush(nodeId: string): void {
    const s = this.sessions.get(nodeId);
    const ids = this.unsent.get(nodeId);
    if (!s?.isReady || !ids) return;
    const me = { nodeId: this.ctx.nodeId, name: this.ctx.self.name, address: this.ctx.self.address };
    for (const id of ids) {
      const m = this.ctx.history.get(id) ?? this.outbox.get(nodeId, id);
      if (!m) {
        ids.delete(id); // acknowledged or cancelled meanwhile
        continue;
      }
      if (!s.trySend(toChatFrame(m, me, 'direct', 0))) break; // resumes on drain
      ids.delete(id);
      if (m.state === 'queued') this.ctx.history.update(m, { state: 'sent' });
    }
  }

  /** A new session: everything not yet acknowledged goes again (the receiver drops duplicates). */
  resend(nodeId: string): void {
    this.unsent.delete(nodeId);
    for (const m of this.outbox.iterate(nodeId)) this.markUnsent(nodeId, m.id);
    this.flush(nodeId);
  }

  /** A receipt counts only from the node the message went to (any neighbour, for Everyone). */
  onAck(fromNodeId: string, id: string): boolean {
    if (!this.from(fromNodeId, id)) return false;
    this.outbox.remove(id);
    this.unsent.get(fromNodeId)?.delete(id);
    this.receipt(id, 'delivered');
    return true;
  }

  /** Read receipts are for direct messages: only their recipient sends them. false when any was not. */
  onRead(fromNodeId: string, ids: readonly string[]): boolean {
    let all = true;
    for (const id of ids) {
      const m = this.ctx.history.get(id) ?? this.outbox.get(fromNodeId, id);
      if (!m || m.conversation !== nativeConversation(fromNodeId)) {
        all = false;
        continue;
      }
      this.outbox.remove(id);
      this.receipt(id, 'read');
    }
    return all;
  }

  private from(nodeId: string, id: string): boolean {
    if (this.outbox.get(nodeId, id)) return true;
    const m = this.ctx.history.get(id);
    return !!m && (m.conversation === nativeConversation(nodeId) || (m.conversation === EVERYONE && m.direction === 'out'));
  }

  /** Removes a queued message; true when it was still waiting. */
  cancel(messageId: string): boolean {
    const to = this.outbox.remove(messageId);
    if (!to) return false;
    this.unsent.get(to)?.delete(messageId);
    const m = this.ctx.history.get(messageId);
    if (m) this.ctx.history.update(m, { state: 'cancelled', error: undefined });
    return true;
  }

  /** The user has seen a conversation: read receipts to the native authors in it. */
  markRead(conversation: string): void {
    if (conversation === EVERYONE) return;
    const byOrigin = new Map<string, string[]>();
    for (const m of this.ctx.history.incoming(conversation)) {
      if (!m.origin || this.readSent.has(m.id)) continue;
      const ids = byOrigin.get(m.origin) ?? [];
      ids.push(m.id);
      byOrigin.set(m.origin, ids);
    }
    for (const [origin, ids] of byOrigin) {
      const s = this.sessions.get(origin);
      if (!s?.isReady) continue;
      for (let i = 0; i < ids.length; i += 500) s.sendControl({ type: 'read', ids: ids.slice(i, i + 500) });
      ids.forEach((id) => this.readSent.add(id));
    }
  }

  hasQueued(nodeId: string): boolean {
    return this.outbox.count(nodeId) > 0;
  }

  private receipt(id: string, kind: 'delivered' | 'read'): void {
    const m = this.ctx.history.get(id);
    const next = m && afterReceipt(m, kind);
    if (m && next) this.ctx.history.update(m, { state: next, error: undefined });
  }

  private markUnsent(nodeId: string, id: string): void {
    let ids = this.unsent.get(nodeId);
    if (!ids) {
      ids = new Set();
      this.unsent.set(nodeId, ids);
    }
    ids.add(id);
  }
}

function formatBytes(bytes: number): string {
  const unit = (n: number, name: string) => `${Number.isInteger(n) ? n : n.toFixed(1)} ${name}`;
  if (bytes >= 1024 * 1024) return unit(bytes / (1024 * 1024), 'MiB');
  if (bytes >= 1024) return unit(bytes / 1024, 'KiB');
  return `${bytes} bytes`;
}
