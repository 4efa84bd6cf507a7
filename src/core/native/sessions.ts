/**
 * The native sessions of this node: at most one ready session per remote node (simultaneous
 * dials keep the one dialed by the smaller node id), the ones still in their handshake, the dials
 * under way, the caps on all of them, and redialing the peers that are wanted.
 */
import { addressKey, isLoopback, normalizeIp, PeerAddress, tryParseAddress } from '../address';
import type { NodeContext } from '../context';
import { fingerprintOf } from '../identity/ids';
import type { Connection } from '../transport';
import { probeDial } from '../classic/net/probeDial';
import { admitSession, refuseHandshake } from './admission';
import type { PeerRecord } from '../peers/table';
import { conversationOf } from '../peers/views';
import type { Frame, HelloFrame } from './frames';
import { SessionRates } from './rates';
import { Reconnects } from './reconnect';
import { secureConnection } from './secure';
import { NativeSession, SessionStream } from './session';

export interface SessionHandlers {
  /** A session is ready and its peer is in the table; `metBefore`: its key was proven in an earlier session. */
  ready(s: NativeSession, rec: PeerRecord, metBefore: boolean): void;
  frame(s: NativeSession, f: Frame): void;
  /** The session can take writes again. */
  drain(s: NativeSession): void;
}

export class Sessions {
  private readonly ready = new Map<string, NativeSession>();
  private readonly handshaking = new Set<NativeSession>();
  /** Connections still in their TLS handshake, with their remote IP and side. */
  private readonly securing = new Map<SessionStream, { ip: string; inbound: boolean }>();
  /** Sessions (handshaking or ready) of peers that were strangers when admitted. */
  private readonly strangers = new Set<NativeSession>();
  private readonly dialing = new Map<string, Promise<boolean>>();
  private readonly rates: SessionRates;
  private serial = 0;
  readonly reconnects: Reconnects;
  private handlers: SessionHandlers | undefined;

  constructor(
    private readonly ctx: NodeContext,
    /** Whether messages wait in the outbox for this node: then it is redialed. */
    private readonly hasQueued: (nodeId: string) => boolean,
  ) {
    this.reconnects = new Reconnects({ baseMs: ctx.limits.reconnectBaseMs, maxMs: ctx.limits.reconnectMaxMs });
    this.rates = new SessionRates(ctx);
  }

  handle(h: SessionHandlers): void {
    this.handlers = h;
  }

  get(nodeId: string): NativeSession | undefined {
    return this.ready.get(nodeId);
  }

  isReady(nodeId: string): boolean {
    return !!this.ready.get(nodeId)?.isReady;
  }

  /** Ready sessions by remote node id. */
  entries(): IterableIterator<[string, NativeSession]> {
    return this.ready.entries();
  }

  counts(): { sessions: number; handshaking: number; dialing: number } {
    return { sessions: this.ready.size, handshaking: this.handshaking.size + this.securing.size, dialing: this.dialing.size };
  }

  /** Closes a node's session (with a last frame when given); no redial follows. */
  drop(nodeId: string, reason: string, last?: Frame): void {
    const s = this.ready.get(nodeId);
    this.ready.delete(nodeId);
    s?.close(reason, last);
  }

  closeAll(reason: string): void {
    this.reconnects.clear();
    for (const s of [...this.ready.values(), ...this.handshaking]) s.close(reason);
    for (const socket of this.securing.keys()) socket.destroy();
    this.ready.clear();
    this.handshaking.clear();
    this.securing.clear();
    this.strangers.clear();
  }

  /** Dials a native peer (once at a time per address); true when a session is ready. */
  dial(address: string): Promise<boolean> {
    const running = this.dialing.get(address);
    if (running) return running;
    const { ctx } = this;
    const addr = tryParseAddress(address);
    // At the cap only the user's own peers are dialed: they may push a stranger's session out.
    if (!addr || !ctx.running() || (this.ready.size >= ctx.limits.maxNativeSessions && !this.userDials(address))) return Promise.resolve(false);
    const p = (async () => {
      const r = await probeDial(ctx.transport, addr.host, addr.port, ctx.limits.probeWaitMs, ctx.limits.sendTimeoutMs);
      if (r.kind === 'native') {
        const ok = await this.adopt(r.socket, r.leftover, true, address);
        // A failed TLS handshake or a refused key: try again later, as after a refused connect.
        const rec = ctx.peers.get(address);
        if (!ok && rec) this.scheduleReconnect(rec);
        return ok;
      }
      if (r.kind === 'classic') r.socket.destroy();
      const error = r.kind === 'error' ? r.error : `${address} no longer speaks PeerChat`;
      const rec = ctx.peers.get(address);
      if (rec) {
        ctx.peers.setState(address, rec.state === 'gone' ? 'gone' : 'inactive', error);
        this.scheduleReconnect(rec);
      }
      return false;
    })().finally(() => this.dialing.delete(address));
    this.dialing.set(address, p);
    return p;
  }

  /**
   * Takes a detected PeerChat connection: TLS first (both keys proven), then the session, whose
   * hello must name the proven id. Resolves true once the session is ready.
   */
  adopt(socket: Connection, leftover: Buffer, initiator: boolean, dialedAddress?: string): Promise<boolean> {
    const { ctx } = this;
    const remoteIp = normalizeIp(socket.remoteAddress);
    const refusal = !ctx.running() ? 'the node stopped' : initiator ? undefined : refuseHandshake(ctx.limits, this.pendingInbound(remoteIp));
    if (refusal) {
      if (ctx.running()) this.logRefusal(remoteIp, refusal);
      socket.destroy();
      return Promise.resolve(false);
    }
    this.securing.set(socket, { ip: remoteIp, inbound: !initiator });
    return (async () => {
      const creds = await ctx.identity.tls();
      const sec = await secureConnection(socket, leftover, initiator, creds, ctx.limits.handshakeMs);
      const stillWanted = this.securing.delete(socket) && ctx.running();
      if (!sec.ok || !stillWanted) {
        if (sec.ok) sec.stream.destroy();
        else this.onClose(undefined, sec.error, dialedAddress);
        return this.readyAt(dialedAddress);
      }
      if (sec.peerId === ctx.nodeId) {
        sec.stream.destroy();
        return false; // connected to itself
      }
      if (ctx.blocked({ nodeId: sec.peerId, ip: remoteIp, address: dialedAddress }, `${remoteIp}:0`, `a native session from ${remoteIp} (node ${sec.peerId.slice(0, 12)}…)`)) {
        sec.stream.destroy();
        return false;
      }
      const stranger = !this.isOwn(sec.peerId, dialedAddress);
      const admission = admitSession(ctx.limits, { sessions: this.ready.size + this.handshaking.size, strangers: this.strangers.size, strangersFromIp: this.strangersFrom(remoteIp) }, { own: !stranger, inbound: !initiator });
      if (admission.kind === 'refuse') {
        this.logRefusal(remoteIp, admission.reason, sec.peerId);
        sec.stream.destroy();
        return this.readyAt(dialedAddress);
      }
      if (admission.kind === 'evict') this.evictStranger(dialedAddress ?? `node ${sec.peerId.slice(0, 12)}…`);
      return this.open(sec.stream, { initiator, dialedAddress, provenNodeId: sec.peerId, remoteIp, stranger });
    })();
  }

  /**
   * Peers the user connected to, verified or has queued messages for, and any address we dial
   * because the user asked (connect, send): only peers learned through exchange are dialed on our own.
   */
  private isOwn(nodeId: string, dialedAddress?: string): boolean {
    const rec = this.ctx.peers.byNodeId(nodeId);
    return !!(rec?.wanted || rec?.verified || this.hasQueued(nodeId) || (dialedAddress && this.userDials(dialedAddress)));
  }

  private userDials(address: string): boolean {
    const rec = this.ctx.peers.get(address);
    return !!rec && (rec.wanted || rec.source !== 'exchange');
  }

  private pendingInbound(ip: string): { pendingInbound: number; pendingFromIp: number } {
    let pendingInbound = 0;
    let pendingFromIp = 0;
    const count = (inbound: boolean, from: string) => {
      if (!inbound) return;
      pendingInbound++;
      if (from === ip) pendingFromIp++;
    };
    for (const { ip: from, inbound } of this.securing.values()) count(inbound, from);
    for (const s of this.handshaking) count(!s.opts.initiator, s.remoteIp);
    return { pendingInbound, pendingFromIp };
  }

  private strangersFrom(ip: string): number {
    let n = 0;
    for (const s of this.strangers) if (!s.opts.initiator && s.remoteIp === ip) n++;
    return n;
  }

  /** Makes room for one of the user's own peers: the newest stranger's session goes. */
  private evictStranger(forPeer: string): void {
    // One admitted as a stranger may have become the user's own since (a message queued for it).
    const victim = [...this.strangers].reverse().find((x) => !x.remote || !this.isOwn(x.remote.nodeId)) ?? [...this.strangers].pop();
    if (!victim) return;
    this.strangers.delete(victim);
    const id = victim.remote?.nodeId;
    this.ctx.log('warn', `native session with ${id ? `node ${id.slice(0, 12)}…` : victim.remoteIp} (unknown peer) closed to make room for ${forPeer} (a peer you connected to): all ${this.ctx.limits.maxNativeSessions} native sessions in use`);
    victim.close('closed to make room for a peer the user connected to');
  }

  private logRefusal(ip: string, reason: string, nodeId?: string): void {
    this.ctx.logDrop(`${ip}:0`, `native refused ${reason}`, `refused a native connection from ${ip}${nodeId ? ` (node ${nodeId.slice(0, 12)}…)` : ''}: ${reason}`);
  }

  private open(stream: SessionStream, o: { initiator: boolean; dialedAddress?: string; provenNodeId: string; remoteIp: string; stranger: boolean }): Promise<boolean> {
    const { ctx } = this;
    const l = ctx.limits;
    const key = String(++this.serial);
    const s = new NativeSession(stream, {
      nodeId: ctx.nodeId,
      name: ctx.self.name,
      listen: ctx.self.address,
      initiator: o.initiator,
      maxFrameBytes: l.maxFrameBytes,
      heartbeatMs: l.heartbeatMs,
      deadAfterMs: l.deadAfterMs,
      highWaterBytes: l.highWaterBytes,
      maxQueuedBytes: l.maxQueuedBytes,
      handshakeMs: l.handshakeMs,
      now: ctx.now,
      provenNodeId: o.provenNodeId,
      remoteIp: o.remoteIp,
      throttle: (bytes, frames) => this.rates.charge(key, o.remoteIp, bytes, frames),
    });
    this.handshaking.add(s);
    if (o.stranger) this.strangers.add(s);
    return new Promise((resolve) => {
      s.once('ready', (hello) => {
        this.handshaking.delete(s);
        resolve(this.onReady(s, hello, o.dialedAddress));
      });
      s.on('frame', (f) => this.handlers?.frame(s, f));
      s.on('drain', () => s.remote && this.handlers?.drain(s));
      s.once('close', (reason) => {
        this.handshaking.delete(s);
        this.strangers.delete(s);
        this.rates.forget(key);
        this.onClose(s, reason, o.dialedAddress);
        // A dial that lost the duplicate tie-break still reached the node: its other session is up.
        resolve(this.readyAt(o.dialedAddress));
      });
    });
  }

  /** Whether the peer at this address has a ready session (through any connection). */
  private readyAt(address: string | undefined): boolean {
    const id = address ? this.ctx.peers.get(address)?.nodeId : undefined;
    return !!id && this.isReady(id);
  }

  /** Redials a wanted peer (or one with queued messages) after its backoff delay. */
  scheduleReconnect(rec: PeerRecord): void {
    const id = rec.nodeId;
    if (!id || !this.ctx.running() || (!rec.wanted && !this.hasQueued(id))) return;
    this.reconnects.schedule(id, () => {
      const cur = this.ctx.peers.byNodeId(id);
      if (cur && !this.isReady(id)) void this.dial(cur.address);
    });
  }

  /** A handshake finished: one session per node pair, and the peer in the table. */
  private onReady(s: NativeSession, hello: HelloFrame, dialedAddress?: string): boolean {
    const { ctx } = this;
    const remoteId = hello.nodeId;
    const other = this.ready.get(remoteId);
    if (other && other !== s && other.isOpen) {
      // Both sides keep the connection dialed by the smaller node id; a redial by the same side wins.
      const canonical = ctx.nodeId < remoteId ? ctx.nodeId : remoteId;
      const dialer = (x: NativeSession) => (x.opts.initiator ? ctx.nodeId : remoteId);
      if (dialer(other) === canonical && dialer(s) !== canonical) {
        s.close('duplicate connection', undefined, true);
        return true;
      }
      this.ready.set(remoteId, s);
      other.close('duplicate connection', undefined, true);
    }
    this.ready.set(remoteId, s);
    this.reconnects.succeeded(remoteId);

    const listen = tryParseAddress(hello.listen);
    let addr: PeerAddress | undefined = dialedAddress ? tryParseAddress(dialedAddress) : undefined;
    if (!addr && listen) addr = isLoopback(s.remoteIp) || s.remoteIp === listen.host ? listen : { host: s.remoteIp, port: listen.port };
    if (!addr || ctx.self.isMe(addr)) {
      // A node must say where it listens (and it is not us): otherwise it cannot be listed or redialed.
      this.ready.delete(remoteId);
      s.close(`bad listening address in hello: ${JSON.stringify(hello.listen).slice(0, 60)}`, { type: 'error', code: 'ERR_PROTOCOL', message: 'hello.listen must be your IP:PORT' });
      return false;
    }
    const key = addressKey(addr);
    if (ctx.blocked({ address: key, nodeId: remoteId }, `${s.remoteIp}:0`, `a native session from ${s.remoteIp} as ${key}`)) {
      this.ready.delete(remoteId);
      s.close(`${key} is blocked`); // no error frame: a blocked peer is not told why
      return false;
    }
    const pinned = ctx.peers.get(key);
    if (pinned?.protocol === 'native' && pinned.proven && pinned.nodeId && pinned.nodeId !== remoteId) {
      // Trust on first use: another key at a pinned address is another node, never the one we
      // talked to, and nothing meant for that one goes to it.
      this.ready.delete(remoteId);
      s.close(`new identity at ${key}: refused`, { type: 'error', code: 'ERR_IDENTITY', message: `${key} belongs to another PeerChat key here` });
      this.scheduleReconnect(pinned); // the real node may come back at its address
      if (pinned.newIdentity !== remoteId) {
        ctx.peers.upsert(pinned, { newIdentity: remoteId });
        ctx.system(conversationOf(pinned), `New identity at ${key}: not the key you talked to before (${fingerprintOf(remoteId)} instead of ${fingerprintOf(pinned.nodeId)}). Nothing is sent to it until you choose Trust New Identity.`);
      }
      ctx.logDrop(`${s.remoteIp}:0`, 'new identity', `${key} answered with a new key (node ${remoteId.slice(0, 12)}…, not ${pinned.nodeId.slice(0, 12)}… that you talked to before): refused; messages queued for ${pinned.name} stay queued`);
      return false;
    }
    const previous = ctx.peers.byNodeId(remoteId);
    // Met before: this key was proven in an earlier session (catch-up is for peers we know).
    const metBefore = !!previous?.proven;
    if (previous && previous.address !== key) ctx.peers.remove(previous.address); // same person, new address
    const before = ctx.peers.get(key);
    const wasConnected = before?.state === 'connected' || previous?.state === 'connected';
    const rec = ctx.peers.upsert(addr, {
      name: hello.name,
      state: 'connected',
      protocol: 'native',
      nodeId: remoteId,
      proven: true,
      // A learned id that another key disproved: whatever was believed about it goes.
      ...(before?.nodeId && before.nodeId !== remoteId ? { verified: false } : {}),
      lastSeen: ctx.now(),
      lastError: undefined,
      wanted: previous?.wanted || before?.wanted || undefined,
      source: previous?.source ?? before?.source ?? (dialedAddress ? 'connect' : 'message'),
    });
    if (!wasConnected) ctx.system(conversationOf(rec), `${rec.name} (${key}) connected over PeerChat's native protocol`);
    if (!previous && before?.nodeId !== remoteId) this.checkName(rec);
    ctx.log('info', `native session with ${rec.name} (${key}, node ${remoteId.slice(0, 8)}) ${s.opts.initiator ? 'dialed' : 'accepted'}`);
    this.handlers?.ready(s, rec, metBefore);
    return true;
  }

  /**
   * A key seen for the first time under the name of a peer whose key we know is another peer:
   * its row says so until the user accepts it (Trust New Identity).
   */
  private checkName(rec: PeerRecord): void {
    const namesake = this.ctx.peers.list().find((p) => p !== rec && p.protocol === 'native' && p.proven && p.nodeId && p.nodeId !== rec.nodeId && p.name === rec.name);
    if (!namesake) return;
    this.ctx.peers.upsert(rec, { namesake: namesake.nodeId });
    this.ctx.system(
      conversationOf(rec),
      `New identity: ${rec.name} (${rec.address}) is not the key you talked to before under that name (${fingerprintOf(rec.nodeId!)} instead of ${fingerprintOf(namesake.nodeId!)}); it is another peer until you choose Trust New Identity`,
    );
  }

  private onClose(s: NativeSession | undefined, reason: string, dialedAddress?: string): void {
    const { ctx } = this;
    const id = s?.remote?.nodeId;
    if (!id) {
      const incompatible = /incompatible PeerChat protocol/.test(reason);
      // A connection closed right after TLS is what a nearby node's identity check looks like.
      const checked = !dialedAddress && reason === 'connection closed';
      if (reason !== 'node stopped') ctx.log(incompatible ? 'error' : checked ? 'trace' : 'warn', `native connection${dialedAddress ? ` to ${dialedAddress}` : ''} closed before its handshake: ${reason}`);
      const rec = dialedAddress ? ctx.peers.get(dialedAddress) : undefined;
      if (rec && this.readyAt(rec.address)) return; // the other connection of a simultaneous dial won
      if (rec) {
        ctx.peers.setState(rec.address, 'inactive', reason);
        // The user must see why this peer cannot be reached, not just a grey dot.
        if (incompatible) ctx.system(conversationOf(rec), `Cannot talk to ${rec.name} (${rec.address}): ${reason.replace(/^peer refused the session: /, '')}`);
      }
      return;
    }
    if (this.ready.get(id) !== s) return; // a duplicate, or replaced
    this.ready.delete(id);
    const rec = ctx.peers.byNodeId(id);
    if (!rec) return;
    ctx.log('info', `native session with ${rec.name} (${rec.address}) closed: ${reason}`);
    if (rec.state === 'connected') ctx.peers.setState(rec.address, 'inactive', reason);
    if (ctx.running()) this.scheduleReconnect(rec);
  }
}
