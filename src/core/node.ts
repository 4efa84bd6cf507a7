/**
 * The PeerChat node: one public API for the extension and the terminal peer. A thin coordinator:
 * it owns the lifecycle and wiring, routes each operation to the channel of the peer's protocol
 * (classic or native), and re-emits what the parts report. The parts hold the state.
 */
import { EventEmitter } from 'node:events';
import { addressKey, parseAddress } from './address';
import type { Channel, PeerResult } from './channel';
import { ChatMessage, EVERYONE, NearbyView, NodeStatus, PeerView, SelfInfo, SpoofedView } from './chatTypes';
import { ClassicChannel } from './classic/channel';
import { ClassicInbound } from './classic/inbound';
import { DIALECT_LABELS } from './classic/dialects/registry';
import { isDialectName } from './classic/dialects/types';
import { ClassicListener } from './classic/net/listener';
import type { LogLevel, NodeContext } from './context';
import { Discovery, DiscoverySettings } from './discovery/discovery';
import { PeerChatError } from './errors';
import { receiptArrived } from './history/delivery';
import { MessageLog } from './history/log';
import { Limits, withLimits } from './limits';
import { dropKey, LogThrottle } from './logThrottle';
import { validateName } from './names';
import { NativeChannel } from './native/channel';
import { outboxRecipient } from './native/outbox';
import { Liveness } from './peers/liveness';
import { BlockedView, BlockParts, BlockResult, Blocking, toBlockedView } from './peers/blocking';
import { formatBlock, parseBlockTarget } from './peers/blocklist';
import { findPeer, resolvePeer, checkText } from './peers/resolve';
import { PeerSaver } from './peers/save';
import { Safety, safetyOf, setVerified, trustNewIdentity } from './peers/trust';
import { PeerRecord, PeerTable } from './peers/table';
import { toPeerView } from './peers/views';
import type { Identity } from './identity/identity';
import { Self } from './self';
import { MemoryStore, Store } from './store';
import { tcpTransport } from './transport';
import type { NodeEvents, NodeOptions } from './nodeOptions';

export type { LogLevel } from './context';
export type { PeerResult } from './channel';
export type { BlockedView, BlockResult } from './peers/blocking';
export type { NodeEvents, NodeOptions } from './nodeOptions';

export class PeerNode extends EventEmitter<NodeEvents> {
  readonly peers: PeerTable;
  readonly limits: Limits;
  /** The hash of this node's public key: proven in every native session, never chosen. */
  readonly nodeId: string;
  readonly identity: Identity;
  private opts: NodeOptions;
  private readonly store: Store;
  private readonly me: Self;
  private readonly history: MessageLog;
  private readonly classic: ClassicChannel;
  private readonly inbound: ClassicInbound;
  private readonly native: NativeChannel;
  private readonly liveness: Liveness;
  private readonly blocking: Blocking;
  private readonly discovery: Discovery;
  private readonly ctx: NodeContext;
  private listener: ClassicListener | undefined;
  private statusValue: NodeStatus = { state: 'stopped' };
  private readonly saver: PeerSaver;
  private closed = false;
  /** Aborted when the node stops: retry waits end at once, no new connection is made. */
  private stopSignal = new AbortController();
  /** Drops and refusals are logged once per remote IP and kind of problem per window. */
  private readonly dropLog = new LogThrottle(10_000);

  constructor(options: NodeOptions) {
    super();
    validateName(options.name);
    this.opts = { native: true, readReceipts: true, ...options };
    this.limits = withLimits(options.limits);
    this.store = options.store ?? new MemoryStore();
    const now = options.now ?? Date.now;
    this.identity = options.identity ?? this.store.loadIdentity();
    this.nodeId = this.identity.nodeId;
    this.peers = new PeerTable(this.limits.maxPeers);
    this.peers.restore(this.store.loadPeers());
    this.saver = new PeerSaver(this.peers, this.store);
    this.blocking = new Blocking(this.store, this.limits.maxBlocked, (remote, reason, line) => this.logDrop(remote, reason, line, 'info'));
    this.blocking.dropCovered(this.peers);
    this.me = new Self(() => ({ name: this.opts.name, host: this.opts.host, advertisedIp: this.opts.advertisedIp, port: this.opts.port }));
    this.history = new MessageLog(this.store, this.limits.maxHistory, now, (m) => this.emit('message', m), this.limits.maxHistoryMemoryBytes);
    const ctx: NodeContext = {
      limits: this.limits,
      now,
      nodeId: this.nodeId,
      identity: this.identity,
      self: this.me,
      peers: this.peers,
      history: this.history,
      transport: this.blocking.guard(options.transport ?? tcpTransport),
      native: () => !!this.opts.native,
      running: () => !!this.listener,
      stopSignal: () => this.stopSignal.signal,
      log: (level, text) => this.emit('log', level, text),
      logDrop: (remote, reason, line, level = 'warn') => this.logDrop(remote, reason, line, level),
      blocked: (q, remote, what) => this.blocking.refuse(q, remote, what),
      system: (conversation, text) => this.history.add({ conversation, direction: 'system', name: '', text, peer: conversation === EVERYONE ? undefined : conversation }),
    };
    this.native = new NativeChannel(ctx, this.store);
    this.classic = new ClassicChannel(ctx, {
      adopt: (socket, leftover, dialed) => this.native.adopt(socket, leftover, true, dialed),
      send: (peer, text, existing) => this.native.delivery.send(peer, text, existing),
      isReady: (nodeId) => this.native.sessions.isReady(nodeId),
    });
    this.inbound = new ClassicInbound(ctx);
    this.liveness = new Liveness(ctx, (p) => this.channelOf(p), (address) => this.removePeer(address));
    this.history.load((id) => this.native.delivery.outbox.has(id));
    this.native.delivery.reconcile();
    this.peers.protect = (p) => !!p.nodeId && this.native.delivery.hasQueued(p.nodeId);
    this.discovery = new Discovery(ctx, {
      changed: () => this.emit('nearby'),
      dial: (address) => void this.native.sessions.dial(address),
      isReady: (nodeId) => this.native.sessions.isReady(nodeId),
      isBlocked: (q) => !!this.blocking.list.match(q),
    });
    this.peers.on('changed', () => {
      this.emit('peers');
      this.saver.schedule();
    });
    this.ctx = ctx;
  }

  // ---------------------------------------------------------------- read models

  get status(): NodeStatus {
    return this.statusValue;
  }

  /** The address peers reach us at, as written in our classic headers. */
  get address(): string {
    return this.me.address;
  }

  get name(): string {
    return this.opts.name;
  }

  /** This node's fingerprint, for people to compare (`ABCD-EFGH-…`). */
  get fingerprint(): string {
    return this.identity.fingerprint;
  }

  /** Which discovery runs while the node listens: lan, machine or off. */
  get discoveryMode(): 'lan' | 'machine' | 'off' {
    return this.opts.discovery?.mode ?? 'off';
  }

  get listeningPort(): number {
    return this.me.port;
  }

  self(): SelfInfo {
    return { name: this.opts.name, address: this.address, status: this.statusValue };
  }

  /** Peers as the views show them; a nearby node nobody talked to yet carries `nearby: true`. */
  peerViews(): PeerView[] {
    return this.peers
      .list()
      .filter((p) => !this.blocking.list.match({ address: p.address, nodeId: p.nodeId }))
      .map((p) => (this.peers.nearbyOnly(p) ? { ...toPeerView(p), nearby: true } : toPeerView(p)));
  }

  /** PeerChat nodes announcing themselves nearby (LAN, this machine) whose key answered. */
  nearby(): NearbyView[] {
    return this.discovery.nearby();
  }

  /** Announcements another key answered for: never trusted, shown as a warning. */
  spoofedAnnouncements(): SpoofedView[] {
    return this.discovery.spoofed();
  }

  /** The kept history (at most maxHistory messages), oldest first. */
  getHistory(): ChatMessage[] {
    return this.history.all();
  }

  /** The newest `count` messages older than `beforeTs` (all when undefined), oldest first. */
  historyPage(count: number, beforeTs?: number): { messages: ChatMessage[]; more: boolean } {
    return this.history.page(count, beforeTs);
  }

  /**
   * Messages waiting for native peers, with who they wait for: `peer` is its address, absent when
   * the node id is no longer in the peer table (the entry still waits, and can be cancelled);
   * `recipient` names it for people either way.
   */
  outboxEntries(): { to: string; peer?: string; recipient: string; message: ChatMessage }[] {
    return this.native.delivery.outbox.all().map((e) => {
      const rec = this.peers.byNodeId(e.to);
      return { to: e.to, peer: rec?.address, recipient: outboxRecipient(e.to, rec), message: this.history.get(e.message.id) ?? e.message };
    });
  }

  /**
   * What this node holds open: after shutdown() every count is zero (no listener, socket or
   * timer left behind to keep VS Code's extension host busy).
   */
  activeResources(): { listening: boolean; incoming: number; sessions: number; handshaking: number; timers: number; dialing: number } {
    const timers = this.liveness.pending + this.saver.pending + this.native.sessions.reconnects.pending + this.peers.pendingTimers + this.discovery.resources;
    return { listening: !!this.listener, incoming: this.listener?.connectionCount ?? 0, ...this.native.sessions.counts(), timers };
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts listening. A port in use rejects with ERR_PORT_IN_USE and leaves status 'error'. */
  async start(): Promise<void> {
    if (this.listener) return;
    this.closed = false;
    this.saver.reopen();
    const where = `${this.opts.host}:${this.opts.port}`;
    this.setStatus({ state: 'starting', address: where });
    const listener = this.makeListener();
    try {
      await this.identity.tls(); // the certificate, made once: every native session presents it
      this.me.bound(await listener.listen(this.opts.host, this.opts.port));
    } catch (err) {
      const e = err as PeerChatError;
      this.setStatus({ state: 'error', address: where, code: e.code ?? 'ERR_LISTEN', reason: e.message });
      this.emit('log', 'error', e.message);
      throw err;
    }
    this.listener = listener;
    this.stopSignal = new AbortController();
    this.setStatus({ state: 'listening', address: `${this.opts.host}:${this.me.port}` });
    this.emit('log', 'info', `listening on ${this.opts.host}:${this.me.port}; peers reach you at ${this.address} (node ${this.nodeId.slice(0, 8)})`);
    this.liveness.schedule(this.opts.inactiveAfterSeconds ?? 0);
    this.native.redialWanted();
    await this.startDiscovery();
  }

  /** Discovery follows the listener: it announces the port we are bound to, and nothing while stopped. */
  private async startDiscovery(): Promise<void> {
    try {
      await this.discovery.start(this.opts.discovery ?? { mode: 'off' }, this.opts.host);
    } catch (err) {
      // Being found is a convenience: the node listens and chats without it.
      this.emit('log', 'error', `discovery could not start: ${(err as Error).message}`);
    }
  }

  /** Stops listening and closes native sessions; peers, history and outbox stay. */
  async stop(): Promise<void> {
    // The goodbye goes out first: the others drop us from Nearby at once.
    await this.discovery.stop();
    this.liveness.stop();
    const l = this.listener;
    this.listener = undefined;
    this.stopSignal.abort();
    this.peers.clearPending();
    this.native.sessions.closeAll('node stopped');
    if (l) await l.close();
    if (this.statusValue.state !== 'stopped') {
      this.setStatus({ state: 'stopped' });
      this.emit('log', 'info', 'node stopped');
    }
  }

  /** Applies new settings; restarts the listener only when the bind address or port changed. */
  async reconfigure(next: Partial<Omit<NodeOptions, 'store' | 'limits' | 'now' | 'transport' | 'identity'>>): Promise<void> {
    if (next.name !== undefined) validateName(next.name);
    const rebind = (next.host !== undefined && next.host !== this.opts.host) || (next.port !== undefined && next.port !== this.opts.port);
    const rediscover = (next.name !== undefined && next.name !== this.opts.name) || (next.discovery !== undefined && !sameDiscovery(next.discovery, this.opts.discovery));
    this.opts = { ...this.opts, ...next };
    if (next.inactiveAfterSeconds !== undefined) this.liveness.schedule(this.opts.inactiveAfterSeconds ?? 0);
    if (rebind && (this.listener || this.statusValue.state === 'error')) {
      await this.stop();
      this.me.bound(0);
      await this.start();
    } else if (rediscover && this.listener) {
      await this.startDiscovery();
    }
  }

  /**
   * Says exit to connected classic peers (bounded by shutdownGraceMs so VS Code's exit is never
   * held), closes native sessions (they redial us later), and writes everything to disk.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.listener) {
      const connected = this.peers.list().filter((p) => p.state === 'connected' && p.protocol !== 'native');
      await this.classic.exitAll(connected, this.limits.shutdownGraceMs);
    }
    await this.stop();
    this.saver.close();
    this.native.delivery.outbox.flush();
    this.store.flush();
  }

  // ---------------------------------------------------------------- operations

  /**
   * Sends a text to one peer, by address or conversation id. Classic peers get classic writes;
   * a native peer gets it through the outbox (queued while it is away, never lost).
   */
  async send(target: string, text: string): Promise<{ message: ChatMessage; result: PeerResult }> {
    checkText(text, this.limits.maxOutgoingTextBytes);
    this.blocking.assertAllowed(target, findPeer(this.peers, target));
    const peer = resolvePeer(this.peers, this.me, target);
    return this.channelOf(peer).send(peer, text);
  }

  /** Sends a text to every peer not gone: floods native sessions, classic writes to the rest. */
  async broadcast(text: string): Promise<{ message: ChatMessage; results: PeerResult[] }> {
    checkText(text, this.limits.maxOutgoingTextBytes);
    const signed = this.native.mesh.originate(text);
    const message = this.history.add({ ...signed, conversation: EVERYONE, direction: 'out', name: this.opts.name, text, state: 'sending', origin: this.nodeId });
    return { message, results: await this.deliverBroadcast(message) };
  }

  /** Sends a failed message again, to its peer or (a broadcast) to every peer not gone. */
  async retry(messageId: string): Promise<PeerResult[]> {
    const m = this.history.get(messageId);
    if (!m || m.direction !== 'out') throw new PeerChatError('ERR_BAD_INPUT', `no message ${messageId} to retry`);
    if (m.conversation === EVERYONE) {
      this.history.update(m, { state: 'sending', error: undefined });
      return this.deliverBroadcast(m);
    }
    this.blocking.assertAllowed(m.conversation, findPeer(this.peers, m.conversation));
    const peer = resolvePeer(this.peers, this.me, m.conversation);
    return [(await this.channelOf(peer).send(peer, m.text, m)).result];
  }

  /** Removes a queued message from the outbox; true when it was still waiting. */
  cancel(messageId: string): boolean {
    return this.native.delivery.cancel(messageId);
  }

  /**
   * Connects to a peer, looking again at what it speaks: a PeerChat node gets a native session
   * (kept up until the user disconnects), a classic peer gets the greeting.
   */
  async connect(address: string): Promise<PeerResult> {
    const addr = parseAddress(address);
    const key = addressKey(addr);
    if (this.me.isMe(addr)) throw new PeerChatError('ERR_BAD_ADDRESS', `${key} is this node's own address`);
    this.blocking.assertAllowed(key, this.peers.get(key));
    const peer = this.peers.get(key) ?? this.peers.upsert(addr, { source: 'connect' });
    if (peer.protocol === 'native' && peer.nodeId && this.native.sessions.isReady(peer.nodeId)) {
      this.peers.upsert(addr, { wanted: true });
      return { peer: key, ok: true };
    }
    return this.classic.connect(peer);
  }

  /** Greets every known peer that is not connected and has not left. */
  async connectAll(): Promise<PeerResult[]> {
    const targets = this.peers.list().filter((p) => p.state === 'known' || p.state === 'inactive');
    return Promise.all(targets.map((p) => this.connect(p.address)));
  }

  /** Stops treating a peer as connected; tells it (exit, or a native bye) when asked. */
  disconnect(target: string, sendExit: boolean): Promise<PeerResult> {
    const peer = resolvePeer(this.peers, this.me, target, false);
    return this.channelOf(peer).disconnect(peer, sendExit);
  }

  /** Sets the classic form PeerChat writes to a peer (a peer that never wrote cannot be learned). */
  setDialect(target: string, dialect: string): PeerRecord {
    if (!isDialectName(dialect)) {
      throw new PeerChatError('ERR_BAD_INPUT', `unknown dialect "${dialect}": one of ${Object.keys(DIALECT_LABELS).join(', ')}`);
    }
    this.blocking.assertAllowed(target, findPeer(this.peers, target));
    const peer = resolvePeer(this.peers, this.me, target);
    return this.peers.upsert(peer, { dialect, dialectManual: true, protocol: peer.protocol ?? 'classic' });
  }

  removePeer(target: string): boolean {
    const peer = findPeer(this.peers, target);
    if (!peer) return false;
    if (peer.nodeId) this.native.forget(peer.nodeId);
    return this.peers.remove(peer.address);
  }

  /**
   * Probes every peer that has not left (classic ones with PING, native ones by their session or
   * a dial). Those that do not answer are removed (remove = true) or marked inactive.
   */
  pruneInactive(remove: boolean): Promise<{ probed: number; inactive: string[] }> {
    return this.liveness.prune(remove);
  }

  /** The safety number of this node and a native peer: the same on both sides. */
  safetyNumber(target: string): Safety {
    return safetyOf(resolvePeer(this.peers, this.me, target, false), this.nodeId);
  }

  /** Marks a native peer's key verified (after comparing safety numbers), or not. */
  setVerified(target: string, verified: boolean): PeerRecord {
    return setVerified(this.peers, resolvePeer(this.peers, this.me, target, false), verified, this.ctx.system);
  }

  /** Accepts the new key that answered at a peer's address (see PeerRecord.newIdentity). */
  trustNewIdentity(target: string): PeerRecord {
    const rec = trustNewIdentity(this.peers, resolvePeer(this.peers, this.me, target, false), this.ctx.system);
    if (rec.wanted) void this.native.sessions.dial(rec.address);
    return rec;
  }

  /**
   * Blocks an IP (every connection from it, every address on it), a `HOST:PORT` or a node id
   * (`node:ID` or 64 hex): closed at accept or right after TLS, never shown, never dialed. The
   * peers it covers leave the Peers view (unblock brings them back); their queued messages stay
   * in the outbox until the user cancels them. The list is stored.
   */
  block(target: string): BlockResult {
    const t = parseBlockTarget(target);
    if ((t.kind === 'node' && t.value === this.nodeId) || (t.kind === 'address' && this.me.isMe(parseAddress(t.value)))) {
      throw new PeerChatError('ERR_BAD_INPUT', `${formatBlock(t)} is this node itself: it cannot be blocked`);
    }
    const r = this.blocking.block(t, this.ctx.now(), this.blockParts());
    this.emit('log', 'info', `blocked ${r.target}${r.removed.length ? `; removed ${r.removed.join(', ')} from the peers` : ''}${r.queued ? `; ${r.queued} queued messages stay in the outbox until cancelled` : ''}`);
    this.emit('blocked');
    this.discovery.refresh(); // a blocked node leaves Nearby
    return r;
  }

  /** Removes an entry of the block list; the peers it removed come back as known. Undefined when it was not blocked. */
  unblock(target: string): (BlockedView & { restored: string[] }) | undefined {
    const r = this.blocking.unblock(parseBlockTarget(target), this.blockParts());
    if (!r) return undefined;
    this.emit('log', 'info', `unblocked ${r.target}`);
    this.emit('blocked');
    this.discovery.refresh();
    return r;
  }

  /** The block list, oldest first. */
  blocked(): BlockedView[] {
    return this.blocking.list.list().map(toBlockedView);
  }

  /** The user has seen a conversation: send read receipts to native peers (if enabled). */
  markRead(conversation: string): void {
    if (this.opts.readReceipts) this.native.delivery.markRead(conversation);
  }

  // ---------------------------------------------------------------- routing

  private blockParts(): BlockParts {
    return {
      peers: this.peers,
      sessions: () => this.native.sessions.entries(),
      forget: (id) => this.native.forget(id),
      queuedFor: (ids) => this.outboxEntries().filter((e) => ids.has(e.to)).length,
    };
  }

  private channelOf(peer: PeerRecord): Channel {
    return peer.protocol === 'native' && peer.nodeId ? this.native : this.classic;
  }

  private async deliverBroadcast(message: ChatMessage): Promise<PeerResult[]> {
    if (!this.listener) {
      this.classic.finish(message, []);
      return [];
    }
    const nativeResults = this.native.mesh.broadcast(message);
    const classicPeers = this.peers.list().filter((p) => p.state !== 'gone' && p.protocol !== 'native');
    const results = [...nativeResults, ...(await this.classic.broadcast(classicPeers, message.text))];
    // A receipt from a native neighbour may already have made it 'delivered'.
    if (!receiptArrived(this.history.get(message.id)?.state)) this.classic.finish(message, results);
    return results;
  }

  // ---------------------------------------------------------------- wiring

  /** Classic payloads go to the inbound side, detected PeerChat sockets to the native one. */
  private makeListener(): ClassicListener {
    return new ClassicListener(this.ctx.transport, this.limits, {
      onPayload: (p, conn) => this.inbound.onPayload(p, conn),
      onDrop: (remote, reason) => this.logDrop(remote, reason, `dropped connection from ${remote}: ${reason}`, 'warn'),
      onTrickle: (remote, reason) => this.logDrop(remote, 'trickle', `ignored bytes from ${remote}: ${reason}`, 'warn'),
      // Without this hook no banner is offered: a node that does not speak native stays invisible.
      onNative: this.opts.native ? (socket, leftover) => void this.native.adopt(socket, leftover, false) : undefined,
    });
  }

  private setStatus(s: NodeStatus): void {
    this.statusValue = s;
    this.emit('status', s);
  }

  private logDrop(remote: string, reason: string, line: string, level: LogLevel): void {
    const text = this.dropLog.take(dropKey(remote, reason), line);
    if (text) this.emit('log', level, text);
  }
}

function sameDiscovery(a: DiscoverySettings | undefined, b: DiscoverySettings | undefined): boolean {
  return (a?.mode ?? 'off') === (b?.mode ?? 'off') && a?.dir === b?.dir && a?.channels === b?.channels;
}
