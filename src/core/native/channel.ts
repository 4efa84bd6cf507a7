/**
 * Talking to PeerChat peers: the native protocol's face to the node. It owns the sessions,
 * delivery, the mesh and peer exchange, and routes each frame to the part that handles it.
 */
import type { Channel, PeerResult, SendOutcome } from '../channel';
import type { ChatMessage } from '../chatTypes';
import type { NodeContext } from '../context';
import type { PeerRecord } from '../peers/table';
import { conversationOf } from '../peers/views';
import type { Store } from '../store';
import { NativeDelivery } from './delivery';
import { PeerExchange } from './exchange';
import type { Frame } from './frames';
import { Mesh } from './mesh';
import type { Connection } from '../transport';
import type { NativeSession } from './session';
import { Sessions } from './sessions';

export class NativeChannel implements Channel {
  readonly sessions: Sessions;
  readonly delivery: NativeDelivery;
  readonly mesh: Mesh;
  private readonly exchange: PeerExchange;

  constructor(
    private readonly ctx: NodeContext,
    store: Store,
  ) {
    this.sessions = new Sessions(ctx, (id) => this.delivery.hasQueued(id));
    this.delivery = new NativeDelivery(ctx, store, this.sessions);
    this.mesh = new Mesh(ctx, this.sessions);
    this.exchange = new PeerExchange(ctx, this.sessions);
    this.sessions.handle({
      ready: (s, rec, metBefore) => {
        const id = rec.nodeId as string;
        if (metBefore) this.mesh.knownSession(s);
        this.exchange.introduce(s, id);
        s.sendControl({ type: 'sync', since: this.mesh.catchupSince() });
        this.delivery.resend(id);
      },
      frame: (s, f) => this.onFrame(s, f),
      drain: (s) => this.delivery.flush(s.remote!.nodeId),
    });
  }

  send(peer: PeerRecord, text: string, existing?: ChatMessage): Promise<SendOutcome> {
    return this.delivery.send(peer, text, existing);
  }

  async probe(peer: PeerRecord): Promise<{ alive: boolean; error?: string }> {
    const alive = (!!peer.nodeId && this.sessions.isReady(peer.nodeId)) || (await this.sessions.dial(peer.address));
    return { alive, error: alive ? undefined : this.ctx.peers.get(peer.address)?.lastError ?? 'no answer' };
  }

  disconnect(peer: PeerRecord, tell: boolean): Promise<PeerResult> {
    const nodeId = peer.nodeId as string;
    this.ctx.peers.upsert(peer, { wanted: false });
    this.sessions.reconnects.cancel(nodeId);
    this.sessions.drop(nodeId, 'disconnected by the user', tell ? { type: 'bye' } : undefined);
    this.ctx.peers.setState(peer.address, 'known', '');
    this.ctx.system(conversationOf(peer), `Disconnected from ${peer.name} (${peer.address})`);
    return Promise.resolve({ peer: peer.address, ok: true });
  }

  /** The peer is removed from the table: its session and redials go too. */
  forget(nodeId: string): void {
    this.sessions.reconnects.cancel(nodeId);
    this.sessions.drop(nodeId, 'peer removed by the user');
  }

  /** A detected PeerChat socket, accepted or dialed. */
  adopt(socket: Connection, leftover: Buffer, initiator: boolean, dialedAddress?: string): Promise<boolean> {
    return this.sessions.adopt(socket, leftover, initiator, dialedAddress);
  }

  /** At start: native peers the user connected to, or that have messages waiting, are dialed again. */
  redialWanted(): void {
    for (const p of this.ctx.peers.list()) {
      if (p.protocol === 'native' && p.state !== 'gone' && (p.wanted || (p.nodeId && this.delivery.hasQueued(p.nodeId)))) void this.sessions.dial(p.address);
    }
  }

  private onFrame(s: NativeSession, f: Frame): void {
    const { ctx } = this;
    const fromId = s.remote!.nodeId;
    const rec = ctx.peers.byNodeId(fromId);
    if (rec) rec.lastSeen = ctx.now();
    switch (f.type) {
      case 'chat':
        this.mesh.onChat(s, f);
        return;
      case 'ack':
        if (!this.delivery.onAck(fromId, f.id)) ctx.logDrop(`${s.remoteIp}:0`, 'foreign ack', `ignored an acknowledgement from ${rec?.name ?? fromId.slice(0, 12)} for a message it was not sent`, 'trace');
        return;
      case 'read':
        if (!this.delivery.onRead(fromId, f.ids)) ctx.logDrop(`${s.remoteIp}:0`, 'foreign read', `ignored read receipts from ${rec?.name ?? fromId.slice(0, 12)} for messages it was not sent`);
        return;
      case 'peers':
        this.exchange.onPeers(s, f.peers);
        return;
      case 'sync':
        this.mesh.onSync(s, f);
        return;
      case 'error':
        ctx.log('error', `${rec?.name ?? fromId}: ${f.message}`);
        if (rec) ctx.peers.setState(rec.address, rec.state, f.message);
        return;
      case 'bye':
        if (rec) {
          ctx.peers.upsert(rec, { wanted: false });
          this.sessions.reconnects.cancel(fromId);
          ctx.peers.setState(rec.address, 'known', '');
          ctx.system(conversationOf(rec), `${rec.name} (${rec.address}) disconnected`);
        }
        this.sessions.drop(fromId, 'peer said bye');
        s.close('peer said bye'); // also when it was a duplicate the table did not hold
        return;
      case 'hello':
      case 'ping':
      case 'pong':
        return; // the session answers these itself
      default: {
        const never: never = f;
        return never;
      }
    }
  }
}
