/**
 * The PeerChat node: listens for classic messages, keeps the peer table and chat history,
 * and runs the user's operations (send, broadcast, connect, disconnect, prune), each with a
 * result per peer. Plain Node: the extension and the terminal peer both drive this class.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import * as net from 'node:net';
import { addressKey, isLoopback, parseAddress, PeerAddress, tryParseAddress } from './address';
import { ChatMessage, DeliveryState, EVERYONE, nativeConversation, NodeStatus, PeerView, SelfInfo } from './chatTypes';
import { EXIT_TEXT, GREETING_TEXT, PING_TEXT } from './classic/codec';
import { DEFAULT_DIALECT, DIALECT_LABELS, DialectName, formatWritesFor, isDialectName, openingFor, parseAny, SelfIdentity } from './classic/dialects';
import { ClassicListener, IncomingConnection, IncomingPayload, KeyedQueue, probeDial, SendResult, sendOnce, sendWithRetry } from './classic/transport';
import { sanitizePeerName } from './names';
import { PeerChatError } from './errors';
import { Limits, withLimits } from './limits';
import { LogThrottle } from './logThrottle';
import { validateName } from './names';
import { backoffDelay } from './native/backoff';
import { ChatFrame, encodeFrame, Frame, PeerInfo } from './native/frames';
import { Outbox } from './native/outbox';
import { SeenCache } from './native/seenCache';
import { NativeSession } from './native/session';
import { PeerRecord, PeerState, PeerTable } from './peerTable';
import { MemoryStore, Store } from './store';

export interface NodeOptions {
  /** Bind address: 0.0.0.0 listens on every interface. */
  host: string;
  port: number;
  name: string;
  /** IP written into classic headers so peers can answer. */
  advertisedIp: string;
  /** Probe peers every this many seconds and mark silent ones inactive; 0 = never. */
  inactiveAfterSeconds?: number;
  limits?: Partial<Limits>;
  store?: Store;
  /** Clock, injectable for tests. */
  now?: () => number;
  /** Tell native peers when the user has seen their messages. */
  readReceipts?: boolean;
  /** Speak the native protocol with PeerChat peers (default true). */
  native?: boolean;
}

export type LogLevel = 'trace' | 'info' | 'warn' | 'error';

export interface PeerResult {
  peer: string;
  ok: boolean;
  error?: string;
  acked?: boolean;
  /** Native peer offline: the message waits in the outbox. */
  queued?: boolean;
}

export interface NodeEvents {
  status: [NodeStatus];
  peers: [];
  /** A message was added to history or changed (state); same id = same message. */
  message: [ChatMessage];
  log: [LogLevel, string];
}

export class PeerNode extends EventEmitter<NodeEvents> {
  readonly peers: PeerTable;
  readonly limits: Limits;
  /** Persistent random id of this node (native protocol identity). */
  readonly nodeId: string;
  private opts: NodeOptions;
  private readonly store: Store;
  private readonly now: () => number;
  private listener: ClassicListener | undefined;
  private statusValue: NodeStatus = { state: 'stopped' };
  private boundPort = 0;
  private readonly queue = new KeyedQueue();
  private history: ChatMessage[] = [];
  private readonly historyIndex = new Map<string, ChatMessage>();
  private pruneTimer: NodeJS.Timeout | undefined;
  private savePeersTimer: NodeJS.Timeout | undefined;
  private closed = false;
  // native
  private readonly outbox: Outbox;
  private readonly seen: SeenCache;
  /** Ready sessions by remote node id: at most one per pair of nodes. */
  private readonly sessions = new Map<string, NativeSession>();
  /** Sessions still in their handshake. */
  private readonly handshaking = new Set<NativeSession>();
  /**
   * Per peer, the outbox messages not yet written on its current session: refilled with every
   * unacknowledged message when a session starts, so a send costs O(1), not a scan of the outbox.
   */
  private readonly unsent = new Map<string, Set<string>>();
  private readonly reconnectTimers = new Map<string, NodeJS.Timeout>();
  private readonly reconnectAttempts = new Map<string, number>();
  private readonly dialing = new Map<string, Promise<boolean>>();
  private readonly readSent = new Set<string>();
  /** Aborted when the node stops: retry waits end at once, no new connection is made. */
  private stopSignal = new AbortController();
  /** Listening ports that headerless senders announced (`CONNECT:PORT`), by remote IP. */
  private readonly announcedPorts = new Map<string, number>();
  /** Drops and refusals are logged once per remote IP and kind of problem per window. */
  private readonly dropLog = new LogThrottle(10_000);

  constructor(options: NodeOptions) {
    super();
    validateName(options.name);
    this.opts = { native: true, readReceipts: true, ...options };
    this.limits = withLimits(options.limits);
    this.store = options.store ?? new MemoryStore();
    this.now = options.now ?? Date.now;
    this.nodeId = this.store.loadNodeId() ?? randomBytes(8).toString('hex');
    this.store.saveNodeId(this.nodeId);
    this.peers = new PeerTable(this.limits.maxPeers);
    this.peers.restore(this.store.loadPeers());
    this.outbox = new Outbox(this.store, this.limits.maxOutboxPerPeer);
    this.seen = new SeenCache(this.limits.seenCacheSize);
    this.history = this.store.loadHistory().slice(-this.limits.maxHistory);
    for (const m of this.history) this.historyIndex.set(m.id, m);
    // Messages that were in flight when the last session ended never got a result.
    for (const m of this.history) {
      if (m.state === 'sending') {
        m.state = 'failed';
        m.error = 'interrupted: PeerChat closed before it was sent';
      } else if (m.state === 'sent' && this.outbox.has(m.id)) {
        m.state = 'queued'; // written but never acknowledged: it goes again
      }
    }
    this.peers.on('changed', () => {
      this.emit('peers');
      this.schedulePeerSave();
    });
  }

  // ---------------------------------------------------------------- state

  get status(): NodeStatus {
    return this.statusValue;
  }

  /** The address peers reach us at, as written in our classic headers. */
  get address(): string {
    return addressKey({ host: this.opts.advertisedIp, port: this.listeningPort });
  }

  get name(): string {
    return this.opts.name;
  }

  get listeningPort(): number {
    return this.boundPort || this.opts.port;
  }

  self(): SelfInfo {
    return { name: this.opts.name, address: this.address, status: this.statusValue };
  }

  peerViews(): PeerView[] {
    return this.peers.list().map((p) => ({
      address: p.address,
      name: p.name,
      state: p.state,
      lastSeen: p.lastSeen,
      lastError: p.lastError,
      protocol: p.protocol,
      nodeId: p.nodeId,
      learnedFrom: p.learnedVia ? `via ${p.learnedVia}` : p.source,
      conversation: conversationOf(p),
      dialect: p.protocol === 'native' ? undefined : p.dialect ?? (p.protocol === 'classic' ? DEFAULT_DIALECT : undefined),
    }));
  }

  /** The kept history (at most maxHistory messages), oldest first. */
  getHistory(): ChatMessage[] {
    return this.history.slice(-this.limits.maxHistory);
  }

  /** The newest `count` messages older than `beforeTs` (all when undefined), oldest first. */
  historyPage(count: number, beforeTs?: number): { messages: ChatMessage[]; more: boolean } {
    let end = this.history.length;
    if (beforeTs !== undefined) {
      // History is in arrival order, which is timestamp order but for clamped native ones: scan.
      while (end > 0 && this.history[end - 1].ts >= beforeTs) end--;
    }
    const start = Math.max(0, end - count);
    return { messages: this.history.slice(start, end), more: start > 0 };
  }

  /** Messages waiting for native peers, with who they wait for. */
  outboxEntries(): { to: string; peer?: string; message: ChatMessage }[] {
    return this.outbox.all().map((e) => ({ to: e.to, peer: this.peers.byNodeId(e.to)?.address, message: this.historyIndex.get(e.message.id) ?? e.message }));
  }

  /**
   * What this node holds open: after shutdown() every count is zero (no listener, socket or
   * timer left behind to keep VS Code's extension host busy).
   */
  activeResources(): { listening: boolean; incoming: number; sessions: number; handshaking: number; timers: number; dialing: number } {
    const timers = (this.pruneTimer ? 1 : 0) + (this.savePeersTimer ? 1 : 0) + this.reconnectTimers.size + this.peers.pendingTimers;
    return {
      listening: !!this.listener,
      incoming: this.listener?.connectionCount ?? 0,
      sessions: this.sessions.size,
      handshaking: this.handshaking.size,
      timers,
      dialing: this.dialing.size,
    };
  }

  /** Incoming classic connections open right now (bounded by the limits). */
  get listenerConnections(): number {
    return this.listener?.connectionCount ?? 0;
  }

  /** Native sessions that finished their handshake, for tests and the log. */
  get nativeSessionCount(): number {
    return this.sessions.size;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts listening. A port in use rejects with ERR_PORT_IN_USE and leaves status 'error'. */
  async start(): Promise<void> {
    if (this.listener) return;
    this.closed = false;
    const where = `${this.opts.host}:${this.opts.port}`;
    this.setStatus({ state: 'starting', address: where });
    const listener = new ClassicListener(this.limits, {
      onPayload: (p, conn) => this.onPayload(p, conn),
      onDrop: (remote, reason) => this.logDrop(remote, reason, `dropped connection from ${remote}: ${reason}`),
      onNative: this.opts.native ? (socket, leftover) => this.adoptSession(socket, leftover, false) : undefined,
    });
    try {
      this.boundPort = await listener.listen(this.opts.host, this.opts.port);
    } catch (err) {
      const e = err as PeerChatError;
      this.setStatus({ state: 'error', address: where, code: e.code ?? 'ERR_LISTEN', reason: e.message });
      this.log('error', e.message);
      throw err;
    }
    this.listener = listener;
    this.stopSignal = new AbortController();
    this.setStatus({ state: 'listening', address: `${this.opts.host}:${this.boundPort}` });
    this.log('info', `listening on ${this.opts.host}:${this.boundPort}; peers reach you at ${this.address} (node ${this.nodeId.slice(0, 8)})`);
    this.schedulePrune();
    // Native peers the user connected to, or that have messages waiting, are dialed again.
    const waiting = new Set(this.outbox.all().map((e) => e.to));
    for (const p of this.peers.list()) {
      if (p.protocol === 'native' && p.state !== 'gone' && (p.wanted || (p.nodeId && waiting.has(p.nodeId)))) void this.dialNative(p.address);
    }
  }

  /** Stops listening and closes native sessions; peers, history and outbox stay. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    for (const t of this.reconnectTimers.values()) clearTimeout(t);
    this.reconnectTimers.clear();
    const l = this.listener;
    this.listener = undefined;
    this.stopSignal.abort();
    this.peers.clearPending();
    for (const s of [...this.sessions.values(), ...this.handshaking]) s.close('node stopped');
    this.sessions.clear();
    this.handshaking.clear();
    if (l) await l.close();
    if (this.statusValue.state !== 'stopped') {
      this.setStatus({ state: 'stopped' });
      this.log('info', 'node stopped');
    }
  }

  /** Applies new settings; restarts the listener only when the bind address or port changed. */
  async reconfigure(next: Partial<Omit<NodeOptions, 'store' | 'limits' | 'now'>>): Promise<void> {
    if (next.name !== undefined) validateName(next.name);
    const rebind = (next.host !== undefined && next.host !== this.opts.host) || (next.port !== undefined && next.port !== this.opts.port);
    this.opts = { ...this.opts, ...next };
    if (next.inactiveAfterSeconds !== undefined) this.schedulePrune();
    if (rebind && (this.listener || this.statusValue.state === 'error')) {
      await this.stop();
      this.boundPort = 0;
      await this.start();
    }
  }

  /**
   * Says exit to connected classic peers (bounded by shutdownGraceMs so VS Code's exit is never
   * held), closes native sessions (they redial us later), and writes everything to disk.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connected = this.peers.list().filter((p) => p.state === 'connected' && p.protocol !== 'native');
    if (connected.length && this.listener) {
      const exits = Promise.all(connected.map((p) => this.sendText(p, EXIT_TEXT, { retries: 0, probe: false })));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, this.limits.shutdownGraceMs)));
      await Promise.race([exits, grace]);
      clearTimeout(timer);
    }
    await this.stop();
    clearTimeout(this.savePeersTimer);
    this.savePeersTimer = undefined;
    this.outbox.flush();
    this.store.savePeers(this.peers.toStored());
    this.store.flush();
  }

  // ---------------------------------------------------------------- operations

  /**
   * Sends a text to one peer, by address or conversation id. Classic peers get classic writes;
   * a native peer gets it through the outbox (queued while it is away, never lost).
   */
  async send(target: string, text: string): Promise<{ message: ChatMessage; result: PeerResult }> {
    this.checkText(text);
    const peer = this.resolvePeer(target);
    if (peer.protocol === 'native' && peer.nodeId) return this.sendNative(peer, text);
    const message = this.addMessage({ conversation: peer.address, direction: 'out', peer: peer.address, name: this.opts.name, text, state: 'sending' });
    const r = await this.sendTextDiscovering(peer, text);
    if (r === 'native') {
      const now = this.peers.get(peer.address) ?? this.peers.byNodeId(peer.nodeId ?? '');
      if (now?.nodeId) {
        // It turned out to be a PeerChat node: the message moves to its native conversation.
        message.conversation = nativeConversation(now.nodeId);
        message.origin = this.nodeId;
        return this.sendNative(now, text, message);
      }
      this.updateMessage(message, { state: 'failed', error: `${peer.address} speaks PeerChat but the handshake failed` });
      return { message, result: { peer: peer.address, ok: false, error: message.error } };
    }
    const result = classicResult(peer.address, r);
    this.finishClassic(message, [result]);
    return { message, result };
  }

  /** Sends a text to every peer not gone: floods native sessions, classic writes to the rest. */
  async broadcast(text: string): Promise<{ message: ChatMessage; results: PeerResult[] }> {
    this.checkText(text);
    const message = this.addMessage({ conversation: EVERYONE, direction: 'out', name: this.opts.name, text, state: 'sending', origin: this.nodeId });
    this.seen.add(message.id);
    return { message, results: await this.deliverBroadcast(message) };
  }

  /** Sends a failed message again, to its peer or (a broadcast) to every peer not gone. */
  async retry(messageId: string): Promise<PeerResult[]> {
    const m = this.historyIndex.get(messageId);
    if (!m || m.direction !== 'out') throw new PeerChatError('ERR_BAD_INPUT', `no message ${messageId} to retry`);
    if (m.conversation === EVERYONE) {
      this.updateMessage(m, { state: 'sending', error: undefined });
      return this.deliverBroadcast(m);
    }
    const peer = this.resolvePeer(m.conversation);
    if (peer.protocol === 'native' && peer.nodeId) {
      this.updateMessage(m, { error: undefined });
      return [(await this.sendNative(peer, m.text, m)).result];
    }
    this.updateMessage(m, { state: 'sending', error: undefined });
    const r = await this.sendText(peer, m.text);
    const result = classicResult(peer.address, r);
    this.finishClassic(m, [result]);
    return [result];
  }

  /** Removes a queued message from the outbox; true when it was still waiting. */
  cancel(messageId: string): boolean {
    const to = this.outbox.remove(messageId);
    if (!to) return false;
    this.unsent.get(to)?.delete(messageId);
    const m = this.historyIndex.get(messageId);
    if (m) this.updateMessage(m, { state: 'cancelled', error: undefined });
    return true;
  }

  /**
   * Connects to a peer, looking again at what it speaks: a PeerChat node gets a native session
   * (kept up until the user disconnects), a classic peer gets the greeting.
   */
  async connect(address: string): Promise<PeerResult> {
    const addr = parseAddress(address);
    const key = addressKey(addr);
    if (this.isSelf(addr)) throw new PeerChatError('ERR_BAD_ADDRESS', `${key} is this node's own address`);
    const peer = this.peers.get(key) ?? this.peers.upsert(addr, { source: 'connect' });
    if (peer.protocol === 'native' && peer.nodeId && this.sessions.get(peer.nodeId)?.isReady) {
      this.peers.upsert(addr, { wanted: true });
      return { peer: key, ok: true };
    }
    if (this.opts.native) peer.protocol = undefined;
    const r = await this.sendTextDiscovering(peer, GREETING_TEXT);
    if (r === 'native') {
      const now = this.peers.get(key);
      const ok = !!now?.nodeId && !!this.sessions.get(now.nodeId)?.isReady;
      if (now) this.peers.upsert(addr, { wanted: true });
      return { peer: key, ok, error: ok ? undefined : now?.lastError ?? 'native handshake failed' };
    }
    if (r.ok) {
      this.peers.upsert(addr, { state: 'connected', lastError: undefined, protocol: this.opts.native ? 'classic' : peer.protocol });
      this.system(key, `Connected to ${peer.name} (${key})`);
    } else {
      this.peers.upsert(addr, { state: 'inactive', lastError: r.error });
    }
    return { peer: key, ok: r.ok, error: r.error };
  }

  /** Greets every known peer that is not connected and has not left. */
  async connectAll(): Promise<PeerResult[]> {
    const targets = this.peers.list().filter((p) => p.state === 'known' || p.state === 'inactive');
    return Promise.all(targets.map((p) => this.connect(p.address)));
  }

  /** Stops treating a peer as connected; tells it (exit, or a native bye) when asked. */
  async disconnect(target: string, sendExit: boolean): Promise<PeerResult> {
    const peer = this.resolvePeer(target, false);
    const key = peer.address;
    if (peer.protocol === 'native' && peer.nodeId) {
      this.peers.upsert(peer, { wanted: false });
      this.cancelReconnect(peer.nodeId);
      const s = this.sessions.get(peer.nodeId);
      if (s) {
        s.close('disconnected by the user', sendExit ? { type: 'bye' } : undefined);
        this.sessions.delete(peer.nodeId);
      }
      this.peers.setState(key, 'known', '');
      this.system(conversationOf(peer), `Disconnected from ${peer.name} (${key})`);
      return { peer: key, ok: true };
    }
    let r: SendResult = { ok: true };
    if (sendExit) r = await this.sendText(peer, EXIT_TEXT, { retries: 0, probe: false });
    this.peers.setState(key, 'known', r.ok ? undefined : r.error);
    this.peers.upsert(peer, { wanted: false });
    this.system(key, `Disconnected from ${peer.name} (${key})${sendExit ? (r.ok ? ', told it you left' : `; could not tell it: ${r.error}`) : ''}`);
    return { peer: key, ok: r.ok, error: r.error };
  }

  /** Sets the classic form PeerChat writes to a peer (a peer that never wrote cannot be learned). */
  setDialect(target: string, dialect: string): PeerRecord {
    if (!isDialectName(dialect)) {
      throw new PeerChatError('ERR_BAD_INPUT', `unknown dialect "${dialect}": one of ${Object.keys(DIALECT_LABELS).join(', ')}`);
    }
    const peer = this.resolvePeer(target);
    return this.peers.upsert(peer, { dialect, dialectManual: true, protocol: peer.protocol ?? 'classic' });
  }

  removePeer(target: string): boolean {
    const peer = this.findPeer(target);
    if (!peer) return false;
    if (peer.nodeId) {
      this.cancelReconnect(peer.nodeId);
      this.sessions.get(peer.nodeId)?.close('peer removed by the user');
      this.sessions.delete(peer.nodeId);
    }
    return this.peers.remove(peer.address);
  }

  /**
   * Probes every peer that has not left: classic ones with PING, native ones by their session
   * (or a dial). Those that do not answer are removed (remove = true, the user's command) or
   * marked inactive (the automatic probe).
   */
  async pruneInactive(remove: boolean): Promise<{ probed: number; inactive: string[] }> {
    const targets = this.peers.list().filter((p) => p.state !== 'gone' || remove);
    const inactive: string[] = [];
    await Promise.all(
      targets.map(async (p) => {
        if (p.state === 'gone') {
          inactive.push(p.address);
          if (remove) this.peers.remove(p.address);
          return;
        }
        let alive: boolean;
        let error: string | undefined;
        if (p.protocol === 'native' && p.nodeId) {
          alive = !!this.sessions.get(p.nodeId)?.isReady || (await this.dialNative(p.address));
          error = alive ? undefined : this.peers.get(p.address)?.lastError ?? 'no answer';
        } else {
          const r = await this.sendText(p, PING_TEXT, { retries: 1 });
          alive = r.ok;
          error = r.error;
        }
        if (alive) {
          if (this.peers.get(p.address)?.state === 'inactive') this.peers.setState(p.address, 'known', '');
          return;
        }
        inactive.push(p.address);
        if (remove) this.removePeer(p.address);
        else this.peers.setState(p.address, 'inactive', error);
      }),
    );
    this.log('info', `probed ${targets.length} peers: ${inactive.length ? `${remove ? 'removed' : 'inactive'} ${inactive.join(', ')}` : 'all answered'}`);
    return { probed: targets.length, inactive };
  }

  /** The user has seen a conversation: send read receipts to native peers (if enabled). */
  markRead(conversation: string): void {
    if (!this.opts.readReceipts || conversation === EVERYONE) return;
    const byOrigin = new Map<string, string[]>();
    for (const m of this.history) {
      if (m.conversation !== conversation || m.direction !== 'in' || !m.origin || this.readSent.has(m.id)) continue;
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

  // ---------------------------------------------------------------- classic internals

  private checkText(text: string): void {
    if (text.trim() === '') throw new PeerChatError('ERR_BAD_INPUT', 'cannot send an empty message');
    if (Buffer.byteLength(text) > this.limits.maxOutgoingTextBytes) {
      throw new PeerChatError('ERR_TOO_LARGE', `message is larger than ${this.limits.maxOutgoingTextBytes / 1024} KiB`);
    }
  }

  /** A peer by conversation id ("node:ID") or address; an unknown address is added. */
  private resolvePeer(target: string, create = true): PeerRecord {
    const found = this.findPeer(target);
    if (found) return found;
    if (target.startsWith('node:')) throw new PeerChatError('ERR_BAD_ADDRESS', `no known peer with node id ${target.slice(5)}`);
    const addr = parseAddress(target);
    if (!create) throw new PeerChatError('ERR_BAD_ADDRESS', `${addressKey(addr)} is not a known peer`);
    if (this.isSelf(addr)) throw new PeerChatError('ERR_BAD_ADDRESS', `${addressKey(addr)} is this node's own address`);
    return this.peers.upsert(addr, { source: 'connect' });
  }

  private findPeer(target: string): PeerRecord | undefined {
    if (target.startsWith('node:')) return this.peers.byNodeId(target.slice(5));
    const addr = tryParseAddress(target);
    return addr ? this.peers.get(addressKey(addr)) : undefined;
  }

  private finishClassic(message: ChatMessage, results: PeerResult[]): void {
    const failed = results.filter((r) => !r.ok);
    let state: DeliveryState = 'sent';
    if (results.length === 0) state = 'failed';
    else if (failed.length === results.length) state = 'failed';
    else if (results.every((r) => r.acked)) state = 'acked';
    let error = failed.length ? failed.map((f) => f.error).join('; ') : undefined;
    if (results.length === 0) error = this.listener ? 'no peers to send to yet' : 'the node is not running: start it to send';
    this.updateMessage(message, { state, error });
  }

  private async deliverBroadcast(message: ChatMessage): Promise<PeerResult[]> {
    if (!this.listener) {
      this.finishClassic(message, []);
      return [];
    }
    const frame = encodeFrame(this.frameOf(message, 'everyone', this.limits.floodHops)); // once for all sessions
    const nativeResults: PeerResult[] = [];
    for (const [nodeId, s] of this.sessions) {
      if (!s.isReady) continue;
      const ok = s.trySend(frame);
      nativeResults.push({ peer: this.peers.byNodeId(nodeId)?.address ?? `node:${nodeId}`, ok, error: ok ? undefined : 'peer is behind; it will catch up' });
    }
    const classic = this.peers.list().filter((p) => p.state !== 'gone' && p.protocol !== 'native');
    const classicResults = await Promise.all(
      classic.map(async (p) => {
        const r = await this.sendTextDiscovering(p, message.text);
        if (r === 'native') return { peer: p.address, ok: true }; // it gets the message through catch-up
        return classicResult(p.address, r);
      }),
    );
    const results = [...nativeResults, ...classicResults];
    const current = this.historyIndex.get(message.id);
    // A receipt from a native neighbour may already have made it 'delivered'.
    if (current?.state === 'delivered' || current?.state === 'read') return results;
    this.finishClassic(message, results);
    return results;
  }

  /**
   * Sends as classic text, first finding out what an unknown peer speaks: 'native' means the
   * peer turned out to be a PeerChat node and a native session was opened instead.
   */
  private async sendTextDiscovering(peer: PeerRecord, text: string): Promise<SendResult | 'native'> {
    const r = await this.sendText(peer, text, { probe: this.opts.native && peer.protocol === undefined });
    if (r.native) {
      const ok = await r.native;
      return ok ? 'native' : { ok: false, error: this.peers.get(peer.address)?.lastError ?? 'native handshake failed' };
    }
    return r;
  }

  /** Sends a text to one peer as classic writes, one connection at a time per peer. */
  private sendText(peer: PeerRecord, text: string, o: { retries?: number; probe?: boolean } = {}): Promise<SendResult & { native?: Promise<boolean> }> {
    // In the peer's own form: a program that only displays its own form shows ours.
    const dialect: DialectName = peer.dialect ?? DEFAULT_DIALECT;
    const writes = formatWritesFor(dialect, this.selfIdentity(), text, this.limits.classicWriteBytes);
    // A line-mode receiver takes its opening and the lines on one connection; every other
    // receiver reads one write per connection.
    const parts = dialect === 'lineMode' ? [openingFor(dialect, this.selfIdentity()).join('') + writes.join('')] : writes;
    return this.queue.run(peer.address, async () => {
      let reply: string | undefined;
      let first: net.Socket | undefined;
      if (o.probe) {
        const p = await probeDial(peer.host, peer.port, this.limits.probeWaitMs, this.limits.sendTimeoutMs);
        if (p.kind === 'native') return { ok: true, native: this.adoptSession(p.socket, p.leftover, true, peer.address) };
        if (p.kind === 'classic') {
          first = p.socket;
          this.peers.upsert(peer, { protocol: 'classic' });
        }
        // on error, fall through to the normal send with retries
      }
      for (const part of parts) {
        const payload = Buffer.from(part, 'utf8');
        const sendOpts = {
          timeoutMs: this.limits.sendTimeoutMs,
          replyWaitMs: 2000,
          retries: o.retries ?? this.limits.sendRetries,
          retryBaseMs: this.limits.sendRetryBaseMs,
          signal: this.stopSignal.signal,
        };
        if (!this.listener && text !== EXIT_TEXT) return { ok: false, error: 'not sent: the node stopped' };
        const r = first ? await sendOnce(peer.host, peer.port, payload, sendOpts, first) : await sendWithRetry(peer.host, peer.port, payload, sendOpts);
        first = undefined;
        if (!r.ok) {
          this.log('warn', r.error ?? `send to ${peer.address} failed`);
          if (this.peers.get(peer.address)) this.peers.setState(peer.address, peer.state === 'gone' ? 'gone' : 'inactive', r.error);
          return r;
        }
        reply = r.reply ?? reply;
        this.log('trace', `→ ${peer.address} ${JSON.stringify(part.length > 200 ? `${part.slice(0, 200)}…` : part)}`);
      }
      const cur = this.peers.get(peer.address);
      if (cur?.state === 'inactive') this.peers.setState(peer.address, 'known', '');
      return { ok: true, reply };
    });
  }

  private selfIdentity(): SelfIdentity {
    return { ip: this.opts.advertisedIp, port: this.listeningPort, name: this.opts.name };
  }

  /**
   * One classic message, in any classmate's form: answer what the sender waits for, learn its
   * dialect, then act on what it means.
   */
  private onPayload(p: IncomingPayload, conn: IncomingConnection): void {
    const remote = `${p.remoteIp}:${p.remotePort}`;
    const parsed = parseAny(p.bytes, { remoteIp: p.remoteIp, self: this.selfIdentity(), lineMode: p.lineMode });
    if (!parsed.ok) {
      this.logDrop(remote, parsed.reason, `dropped message from ${remote}: ${parsed.reason}`);
      // A line-mode sender blocks until it reads an answer, even to a line we could not read.
      if (parsed.reply?.sameSocket) conn.write(parsed.reply.sameSocket);
      return;
    }
    const m = parsed.message;
    // A sender that opened with `connect` keeps the socket and writes later messages on it: it
    // waits for `connected` once, and must not get an acknowledgement after every message.
    if (m.kind === 'connect') conn.memo.openedWithConnect = true;
    const reply = m.reply?.sameSocket;
    const quiet = conn.memo.openedWithConnect === true && m.kind !== 'connect';
    if (reply && !quiet && conn.isOpen()) {
      conn.write(reply);
    } else if (m.reply?.dialBack && !(reply && conn.isOpen())) {
      const { host, port, text } = m.reply.dialBack;
      void sendWithRetry(host, port, Buffer.from(text, 'utf8'), { timeoutMs: this.limits.sendTimeoutMs, replyWaitMs: 500, retries: 1, retryBaseMs: this.limits.sendRetryBaseMs }).then((r) => {
        if (!r.ok) this.log('warn', `could not answer ${host}:${port}'s connect: ${r.error}`);
      });
    }
    if (m.kind === 'probe') return; // a bare connect-and-close: liveness, not a message
    // Only a sender that said who it is (a listening port) or speaks line mode earns the long idle
    // allowance: a trickle of bare bytes must not hold connections for minutes.
    if (m.peer || p.lineMode) conn.keepAlive();
    if (m.headerHost !== undefined && m.headerPort !== undefined && m.name !== undefined && conn.isOpen() && m.dialect === 'standard') {
      // Persistent senders write message after message with no delimiter: cut at their header.
      conn.setRecordPrefix(`${m.headerHost.includes(':') ? `[${m.headerHost}]` : m.headerHost}:${m.headerPort} ${m.name} `);
    }
    if (m.kind === 'ack') {
      this.log('trace', `← ${remote} acknowledgement ${JSON.stringify(m.keyword ?? m.text)}`);
      return;
    }
    const name = m.name !== undefined ? sanitizePeerName(m.name) : undefined;
    if (m.peer && m.dialect === 'headerless') this.rememberPort(p.remoteIp, m.peer.port);
    if (!m.peer && !m.headerIsSelf && this.announcedPorts.has(p.remoteIp)) {
      // A headerless sender told its listening port earlier (`CONNECT:PORT`): that is who this is.
      m.peer = { host: p.remoteIp, port: this.announcedPorts.get(p.remoteIp)! };
    }
    if (!m.peer) {
      if (m.headerIsSelf && m.kind !== 'chat') {
        this.log('trace', `ignored ${m.kind} from ${remote} that names this node's own address`);
        return;
      }
      if (m.kind === 'chat') {
        // No listening port known (bare text, "Team : msg"): show it, but it cannot be answered.
        this.addMessage({ conversation: EVERYONE, direction: 'in', name: name ?? p.remoteIp, text: m.text });
        const line = this.dropLog.take(`${p.remoteIp} no-port`, `message from ${remote} (${m.dialect}) with no listening port: shown, but it cannot be answered until the sender tells its port`);
        if (line) this.log('info', line);
      }
      return;
    }
    const addr = m.peer;
    if (this.isSelf(addr)) {
      this.log('trace', `ignored ${m.kind} from ${remote} that names this node's own address`);
      return;
    }
    const key = addressKey(addr);
    this.log('trace', `← ${remote} as ${key} ${m.dialect} ${m.kind} ${JSON.stringify(m.text.length > 200 ? `${m.text.slice(0, 200)}…` : m.text)}`);
    const before = this.peers.get(key);
    const wasConnected = before?.state === 'connected';
    const now = this.now();
    // A classic message says the sender speaks classic, unless we already know better; "Connect"
    // looks again, so a PeerChat node that fell back to classic once is not stuck there.
    const protocol = before?.protocol ?? (this.opts.native ? 'classic' : undefined);
    const dialect = m.revealsDialect && !before?.dialectManual && before?.protocol !== 'native' ? m.dialect : undefined;
    if (dialect && before?.dialect && before.dialect !== dialect) this.log('info', `${key} now speaks ${DIALECT_LABELS[dialect]}`);
    const common = { lastSeen: now, protocol, dialect, ...(name ? { name } : {}) };
    switch (m.kind) {
      case 'ping':
        this.peers.upsert(addr, { ...common, state: before && before.state !== 'gone' && before.state !== 'inactive' ? before.state : 'known' });
        return;
      case 'exit':
      case 'disconnect': {
        // The address, not the name, says who left (relayed exits carry the relay's name).
        const rec = this.peers.upsert(addr, { lastSeen: now, protocol, state: 'gone', ...(before ? {} : name ? { name } : {}) });
        this.system(conversationOf(rec), `${rec.name} (${key}) left the network`);
        return;
      }
      case 'greeting':
      case 'connect':
      case 'connectRequest': {
        const rec = this.peers.upsert(addr, { ...common, state: 'connected', lastError: undefined });
        if (!wasConnected) this.system(conversationOf(rec), `${rec.name} (${key}) connected${m.kind === 'greeting' ? `: "${m.text}"` : ''}`);
        return;
      }
      case 'chat': {
        const state: PeerState = wasConnected ? 'connected' : 'known';
        const rec = this.peers.upsert(addr, { ...common, state, lastError: undefined });
        if (!before) this.system(key, `${rec.name} (${key}) joined`);
        this.addMessage({ conversation: conversationOf(rec), direction: 'in', peer: key, name: rec.name, text: m.text });
        return;
      }
      default: {
        const never: never = m.kind;
        throw new Error(`unhandled kind ${String(never)}`);
      }
    }
  }

  private isSelf(addr: PeerAddress): boolean {
    if (addr.port !== this.listeningPort) return false;
    if (isLoopback(addr.host) || addr.host === this.opts.advertisedIp || addr.host === this.opts.host) return true;
    return localIps().has(addr.host);
  }

  // ---------------------------------------------------------------- native internals

  private frameOf(m: ChatMessage, conv: 'everyone' | 'direct', hops: number): ChatFrame {
    const own = m.direction === 'out';
    return {
      type: 'chat',
      id: m.id,
      origin: own ? this.nodeId : m.origin ?? this.nodeId,
      originName: own ? this.opts.name : m.name,
      originAddress: own ? this.address : m.peer,
      ts: m.ts,
      conv,
      text: m.text,
      hops,
    };
  }

  private sendNative(peer: PeerRecord, text: string, existing?: ChatMessage): { message: ChatMessage; result: PeerResult } {
    const nodeId = peer.nodeId as string;
    const message =
      existing ??
      this.addMessage({ conversation: nativeConversation(nodeId), direction: 'out', peer: peer.address, name: this.opts.name, text, state: 'queued', origin: this.nodeId });
    if (!this.outbox.has(message.id) && !this.outbox.add(nodeId, { ...message, state: 'queued' })) {
      const error = `the outbox for ${peer.name} is full (${this.limits.maxOutboxPerPeer} messages wait already)`;
      this.updateMessage(message, { state: 'failed', error });
      return { message, result: { peer: peer.address, ok: false, error } };
    }
    if (message.state !== 'queued') this.updateMessage(message, { state: 'queued' });
    this.markUnsent(nodeId, message.id);
    this.flushOutbox(nodeId);
    if (!this.sessions.get(nodeId)?.isReady) void this.dialNative(peer.address);
    const queued = this.historyIndex.get(message.id)?.state === 'queued';
    return { message, result: { peer: peer.address, ok: true, queued } };
  }

  /** Writes what waits for a peer onto its session, until the session is behind. */
  private flushOutbox(nodeId: string): void {
    const s = this.sessions.get(nodeId);
    const ids = this.unsent.get(nodeId);
    if (!s?.isReady || !ids) return;
    for (const id of ids) {
      const m = this.historyIndex.get(id) ?? this.outbox.get(nodeId, id);
      if (!m) {
        ids.delete(id); // acknowledged or cancelled meanwhile
        continue;
      }
      if (!s.trySend(this.frameOf(m, 'direct', 0))) break; // resumes on drain
      ids.delete(id);
      if (m.state === 'queued') this.updateMessage(m, { state: 'sent' });
    }
  }

  private markUnsent(nodeId: string, id: string): void {
    let ids = this.unsent.get(nodeId);
    if (!ids) {
      ids = new Set();
      this.unsent.set(nodeId, ids);
    }
    ids.add(id);
  }

  /** Dials a native peer (once at a time per address); true when a session is ready. */
  private dialNative(address: string): Promise<boolean> {
    const running = this.dialing.get(address);
    if (running) return running;
    const addr = tryParseAddress(address);
    if (!addr || !this.listener || this.sessions.size >= this.limits.maxNativeSessions) return Promise.resolve(false);
    const p = (async () => {
      const r = await probeDial(addr.host, addr.port, this.limits.probeWaitMs, this.limits.sendTimeoutMs);
      if (r.kind === 'native') return this.adoptSession(r.socket, r.leftover, true, address);
      if (r.kind === 'classic') r.socket.destroy();
      const error = r.kind === 'error' ? r.error : `${address} no longer speaks PeerChat`;
      const rec = this.peers.get(address);
      if (rec) {
        this.peers.setState(address, rec.state === 'gone' ? 'gone' : 'inactive', error);
        this.scheduleReconnect(rec);
      }
      return false;
    })().finally(() => this.dialing.delete(address));
    this.dialing.set(address, p);
    return p;
  }

  /** Wraps a detected native socket in a session; resolves true once its handshake succeeds. */
  private adoptSession(socket: net.Socket, leftover: Buffer, initiator: boolean, dialedAddress?: string): Promise<boolean> {
    if (!this.listener || this.sessions.size + this.handshaking.size >= this.limits.maxNativeSessions) {
      socket.destroy();
      return Promise.resolve(false);
    }
    const s = new NativeSession(
      socket,
      {
        nodeId: this.nodeId,
        name: this.opts.name,
        listen: this.address,
        initiator,
        maxFrameBytes: this.limits.maxFrameBytes,
        heartbeatMs: this.limits.heartbeatMs,
        deadAfterMs: this.limits.deadAfterMs,
        highWaterBytes: this.limits.highWaterBytes,
        maxQueuedBytes: this.limits.maxQueuedBytes,
        handshakeMs: this.limits.handshakeMs,
      },
      leftover,
    );
    this.handshaking.add(s);
    return new Promise((resolve) => {
      s.once('ready', (hello) => {
        this.handshaking.delete(s);
        resolve(this.onSessionReady(s, dialedAddress));
        void hello;
      });
      s.on('frame', (f) => this.onFrame(s, f));
      s.on('drain', () => s.remote && this.flushOutbox(s.remote.nodeId));
      s.once('close', (reason) => {
        this.handshaking.delete(s);
        this.onSessionClose(s, reason, dialedAddress);
        resolve(false);
      });
    });
  }

  /** A handshake finished: one session per node pair, update the table, exchange peers, catch up. */
  private onSessionReady(s: NativeSession, dialedAddress?: string): boolean {
    const hello = s.remote!;
    const remoteId = hello.nodeId;
    const other = this.sessions.get(remoteId);
    if (other && other !== s && other.isOpen) {
      // Both sides keep the connection dialed by the smaller node id; a redial by the same side wins.
      const canonical = this.nodeId < remoteId ? this.nodeId : remoteId;
      const dialer = (x: NativeSession) => (x.opts.initiator ? this.nodeId : remoteId);
      if (dialer(other) === canonical && dialer(s) !== canonical) {
        s.close('duplicate connection');
        return true;
      }
      this.sessions.set(remoteId, s);
      other.close('duplicate connection');
    }
    this.sessions.set(remoteId, s);
    this.reconnectAttempts.delete(remoteId);
    this.cancelReconnect(remoteId);

    const listen = tryParseAddress(hello.listen);
    let addr: PeerAddress | undefined = dialedAddress ? tryParseAddress(dialedAddress) : undefined;
    if (!addr && listen) addr = isLoopback(s.remoteIp) || s.remoteIp === listen.host ? listen : { host: s.remoteIp, port: listen.port };
    if (!addr || this.isSelf(addr)) {
      // A node must say where it listens (and it is not us): otherwise it cannot be listed or redialed.
      this.sessions.delete(remoteId);
      s.close(`bad listening address in hello: ${JSON.stringify(hello.listen).slice(0, 60)}`, { type: 'error', code: 'ERR_PROTOCOL', message: 'hello.listen must be your IP:PORT' });
      return false;
    }
    const key = addressKey(addr);
    const previous = this.peers.byNodeId(remoteId);
    if (previous && previous.address !== key) this.peers.remove(previous.address); // same person, new address
    const before = this.peers.get(key);
    const wasConnected = before?.state === 'connected' || previous?.state === 'connected';
    const rec = this.peers.upsert(addr, {
      name: hello.name,
      state: 'connected',
      protocol: 'native',
      nodeId: remoteId,
      lastSeen: this.now(),
      lastError: undefined,
      wanted: previous?.wanted || before?.wanted || undefined,
      source: previous?.source ?? before?.source ?? (dialedAddress ? 'connect' : 'message'),
    });
    if (!wasConnected) this.system(conversationOf(rec), `${rec.name} (${key}) connected over PeerChat's native protocol`);
    this.log('info', `native session with ${rec.name} (${key}, node ${remoteId.slice(0, 8)}) ${s.opts.initiator ? 'dialed' : 'accepted'}`);

    s.sendControl({ type: 'peers', peers: this.peerInfos(remoteId) });
    s.sendControl({ type: 'sync', since: this.catchupSince() });
    // Tell the other neighbours about the newcomer.
    const info = this.peerInfos(undefined).filter((p) => p.nodeId === remoteId);
    for (const [id, other2] of this.sessions) if (id !== remoteId && other2.isReady) other2.sendControl({ type: 'peers', peers: info });
    // A new session: everything not yet acknowledged goes again (the receiver drops duplicates).
    this.unsent.delete(remoteId);
    for (const m of this.outbox.iterate(remoteId)) this.markUnsent(remoteId, m.id);
    this.flushOutbox(remoteId);
    return true;
  }

  private onSessionClose(s: NativeSession, reason: string, dialedAddress?: string): void {
    const id = s.remote?.nodeId;
    if (!id) {
      const incompatible = /incompatible PeerChat protocol/.test(reason);
      if (reason !== 'node stopped') this.log(incompatible ? 'error' : 'warn', `native connection${dialedAddress ? ` to ${dialedAddress}` : ''} closed before its handshake: ${reason}`);
      const rec = dialedAddress ? this.peers.get(dialedAddress) : undefined;
      if (rec) {
        this.peers.setState(rec.address, 'inactive', reason);
        // The user must see why this peer cannot be reached, not just a grey dot.
        if (incompatible) this.system(conversationOf(rec), `Cannot talk to ${rec.name} (${rec.address}): ${reason.replace(/^peer refused the session: /, '')}`);
      }
      return;
    }
    if (this.sessions.get(id) !== s) return; // a duplicate, or replaced
    this.sessions.delete(id);
    const rec = this.peers.byNodeId(id);
    if (!rec) return;
    this.log('info', `native session with ${rec.name} (${rec.address}) closed: ${reason}`);
    if (rec.state === 'connected') this.peers.setState(rec.address, 'inactive', reason);
    if (this.listener) this.scheduleReconnect(rec);
  }

  private onFrame(s: NativeSession, f: Frame): void {
    const fromId = s.remote!.nodeId;
    const rec = this.peers.byNodeId(fromId);
    if (rec) rec.lastSeen = this.now();
    switch (f.type) {
      case 'chat':
        this.onChatFrame(s, f);
        return;
      case 'ack': {
        this.outbox.remove(f.id);
        this.unsent.get(fromId)?.delete(f.id);
        const m = this.historyIndex.get(f.id);
        if (m && m.direction === 'out' && m.state !== 'read' && m.state !== 'delivered' && m.state !== 'cancelled') this.updateMessage(m, { state: 'delivered', error: undefined });
        return;
      }
      case 'read':
        for (const id of f.ids) {
          this.outbox.remove(id);
          const m = this.historyIndex.get(id);
          if (m && m.direction === 'out' && m.state !== 'read') this.updateMessage(m, { state: 'read', error: undefined });
        }
        return;
      case 'peers':
        this.onPeersFrame(s, f.peers);
        return;
      case 'sync': {
        const since = Math.max(f.since, this.now() - this.limits.catchupWindowMs);
        const missed = this.history.filter((m) => m.conversation === EVERYONE && m.ts > since && m.direction !== 'system' && (m.origin || m.direction === 'out')).slice(-this.limits.catchupMax);
        for (const m of missed) if (!s.trySend(this.frameOf(m, 'everyone', 0))) break;
        return;
      }
      case 'error':
        this.log('error', `${rec?.name ?? fromId}: ${f.message}`);
        if (rec) this.peers.setState(rec.address, rec.state, f.message);
        return;
      case 'bye':
        if (rec) {
          this.peers.upsert(rec, { wanted: false });
          this.cancelReconnect(fromId);
          this.peers.setState(rec.address, 'known', '');
          this.system(conversationOf(rec), `${rec.name} (${rec.address}) disconnected`);
        }
        this.sessions.delete(fromId);
        s.close('peer said bye');
        return;
      default:
        return;
    }
  }

  private onChatFrame(s: NativeSession, f: ChatFrame): void {
    if (f.origin === this.nodeId) return; // our own broadcast came back around the mesh
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(f.text) || f.text.trim() === '') {
      // Same rule as classic text: control characters (terminal escapes) are never shown.
      s.sendControl({ type: 'ack', id: f.id }); // acknowledged, so the sender does not resend it forever
      this.logDrop(`${s.remoteIp}:0`, 'native text with control characters', `dropped native message ${f.id.slice(0, 8)} from ${s.remote?.name ?? s.remoteIp}: empty or control characters`);
      return;
    }
    const duplicate = this.historyIndex.has(f.id) || !this.seen.add(f.id);
    s.sendControl({ type: 'ack', id: f.id });
    if (duplicate) return;
    const fromRec = this.peers.byNodeId(s.remote!.nodeId);
    let originRec = this.peers.byNodeId(f.origin);
    // A claimed origin address is only a hint: it must be an address, and not ours.
    let originAddr = f.originAddress ? tryParseAddress(f.originAddress) : undefined;
    if (originAddr && this.isSelf(originAddr)) originAddr = undefined;
    if (!originRec && originAddr && !this.isSelf(originAddr) && !this.peers.get(addressKey(originAddr))) {
      originRec = this.peers.upsert(originAddr, { name: f.originName, nodeId: f.origin, protocol: 'native', state: 'known', source: 'exchange', learnedVia: fromRec?.name });
    }
    const conversation = f.conv === 'everyone' ? EVERYONE : nativeConversation(f.origin);
    this.addMessage({
      id: f.id,
      ts: Math.min(f.ts, this.now()),
      conversation,
      direction: 'in',
      peer: originRec?.address ?? (originAddr ? addressKey(originAddr) : fromRec?.address),
      name: originRec?.name ?? sanitizePeerName(f.originName),
      text: f.text,
      origin: f.origin,
    });
    if (f.conv === 'everyone' && f.hops > 0) {
      const fwd = encodeFrame({ ...f, hops: f.hops - 1 });
      for (const [id, other] of this.sessions) {
        if (other === s || id === f.origin || !other.isReady) continue;
        other.trySend(fwd); // a neighbour that is behind catches up later
      }
    }
  }

  private onPeersFrame(s: NativeSession, list: PeerInfo[]): void {
    const via = this.peers.byNodeId(s.remote!.nodeId)?.name ?? s.remote!.name;
    for (const p of list) {
      if (p.nodeId === this.nodeId || this.peers.byNodeId(p.nodeId)) continue;
      const addr = tryParseAddress(p.address);
      if (!addr || this.isSelf(addr)) continue;
      if (this.peers.get(addressKey(addr))?.nodeId) continue;
      this.peers.upsert(addr, { name: p.name, nodeId: p.nodeId, protocol: 'native', state: 'known', source: 'exchange', learnedVia: via, lastSeen: p.lastSeen });
      this.log('info', `learned ${p.name} (${addressKey(addr)}) from ${via}`);
      // Sessions, handshakes and dials under way all count: one frame naming many peers must
      // not start many dials at once.
      if (this.sessions.size + this.handshaking.size + this.dialing.size < this.limits.maxAutoConnect) void this.dialNative(addressKey(addr));
    }
  }

  /** Native peers worth telling a neighbour about (not itself). */
  private peerInfos(exceptNodeId: string | undefined): PeerInfo[] {
    return this.peers
      .list()
      .filter((p) => p.protocol === 'native' && p.nodeId && p.nodeId !== exceptNodeId && p.state !== 'gone')
      .slice(0, 200)
      .map((p) => ({ nodeId: p.nodeId as string, address: p.address, name: p.name, lastSeen: p.lastSeen }));
  }

  /** Ask neighbours for Everyone messages newer than the newest native one we have (with slack for clock skew). */
  private catchupSince(): number {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const m = this.history[i];
      if (m.conversation === EVERYONE && m.origin && m.direction === 'in') return m.ts - 5 * 60_000;
    }
    return 0;
  }

  private scheduleReconnect(rec: PeerRecord): void {
    const id = rec.nodeId;
    if (!id || !this.listener || this.reconnectTimers.has(id)) return;
    const waiting = this.outbox.count(id) > 0;
    if (!rec.wanted && !waiting) return;
    const attempt = this.reconnectAttempts.get(id) ?? 0;
    const wait = backoffDelay(attempt, { baseMs: this.limits.reconnectBaseMs, maxMs: this.limits.reconnectMaxMs, jitter: 0.5 });
    const t = setTimeout(() => {
      this.reconnectTimers.delete(id);
      this.reconnectAttempts.set(id, attempt + 1);
      const cur = this.peers.byNodeId(id);
      if (cur && !this.sessions.get(id)?.isReady) void this.dialNative(cur.address);
    }, wait);
    t.unref?.();
    this.reconnectTimers.set(id, t);
  }

  private cancelReconnect(nodeId: string): void {
    clearTimeout(this.reconnectTimers.get(nodeId));
    this.reconnectTimers.delete(nodeId);
  }

  // ---------------------------------------------------------------- history

  private addMessage(m: Omit<ChatMessage, 'id' | 'ts'> & { id?: string; ts?: number }): ChatMessage {
    const message: ChatMessage = { ...m, id: m.id ?? randomUUID(), ts: m.ts ?? this.now() };
    this.history.push(message);
    this.historyIndex.set(message.id, message);
    // Trim in steps of a tenth, not one message at a time: splicing a full array on every message
    // cost more than everything else a message does.
    const slack = Math.max(1, Math.floor(this.limits.maxHistory / 10));
    if (this.history.length > this.limits.maxHistory + slack) {
      const cut = this.history.splice(0, this.history.length - this.limits.maxHistory);
      for (const c of cut) this.historyIndex.delete(c.id);
    }
    this.persist(message);
    this.emit('message', message);
    return message;
  }

  private updateMessage(m: ChatMessage, patch: Partial<Pick<ChatMessage, 'state' | 'error'>>): void {
    Object.assign(m, patch);
    if ('error' in patch && patch.error === undefined) delete m.error;
    this.persist(m);
    this.emit('message', m);
  }

  private persist(m: ChatMessage): void {
    this.store.appendHistory([m]);
    const fs = this.store as { needsCompaction?: () => boolean };
    if (fs.needsCompaction?.()) this.store.rewriteHistory(this.history);
  }

  private system(conversation: string, text: string): void {
    this.addMessage({ conversation, direction: 'system', name: '', text, peer: conversation === EVERYONE ? undefined : conversation });
  }

  private setStatus(s: NodeStatus): void {
    this.statusValue = s;
    this.emit('status', s);
  }

  private log(level: LogLevel, text: string): void {
    this.emit('log', level, text);
  }

  private rememberPort(ip: string, port: number): void {
    this.announcedPorts.delete(ip);
    this.announcedPorts.set(ip, port);
    if (this.announcedPorts.size > this.limits.maxPeers) this.announcedPorts.delete(this.announcedPorts.keys().next().value as string);
  }

  /** A warning about untrusted input, rate-limited per remote IP and kind of problem. */
  private logDrop(remote: string, reason: string, line: string): void {
    const ip = remote.slice(0, remote.lastIndexOf(':'));
    const kind = reason.replace(/"[^"]*"|\d+/g, '#').slice(0, 60);
    const text = this.dropLog.take(`${ip} ${kind}`, line);
    if (text) this.log('warn', text);
  }

  private schedulePrune(): void {
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    const secs = this.opts.inactiveAfterSeconds ?? 0;
    if (secs > 0 && this.listener) {
      this.pruneTimer = setInterval(() => void this.pruneInactive(false), secs * 1000);
      this.pruneTimer.unref();
    }
  }

  private schedulePeerSave(): void {
    // After shutdown the directory is already on disk; late state changes (sessions closing) stay in memory.
    if (this.savePeersTimer || this.closed) return;
    this.savePeersTimer = setTimeout(() => {
      this.savePeersTimer = undefined;
      this.store.savePeers(this.peers.toStored());
    }, 250);
    this.savePeersTimer.unref();
  }
}

/** The per-peer result of a classic send: acknowledged when the peer answered on the socket. */
function classicResult(peer: string, r: SendResult): PeerResult {
  return { peer, ok: r.ok, error: r.error, acked: r.ok && !!r.reply };
}

/** A peer's conversation: node:ID for a native peer (stable across addresses), else its address. */
function conversationOf(p: PeerRecord): string {
  return p.nodeId && p.protocol === 'native' ? nativeConversation(p.nodeId) : p.address;
}

function localIps(): Set<string> {
  const set = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) set.add(i.address);
  return set;
}
