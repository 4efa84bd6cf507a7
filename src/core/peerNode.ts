/**
 * The PeerChat node: listens for classic messages, keeps the peer table and chat history,
 * and runs the user's operations (send, broadcast, connect, disconnect, prune), each with a
 * result per peer. Plain Node: the extension and the terminal peer both drive this class.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { addressKey, isLoopback, normalizeIp, parseAddress, PeerAddress } from './address';
import { ChatMessage, DeliveryState, EVERYONE, NodeStatus, PeerView, SelfInfo } from './chatTypes';
import { classicHeader, EXIT_TEXT, GREETING_TEXT, parseClassic, PING_TEXT } from './classic/codec';
import { splitForClassic } from './classic/split';
import { ClassicListener, IncomingPayload, KeyedQueue, SendResult, sendWithRetry } from './classic/transport';
import { PeerChatError } from './errors';
import { Limits, withLimits } from './limits';
import { validateName } from './names';
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
}

export type LogLevel = 'trace' | 'info' | 'warn' | 'error';

export interface PeerResult {
  peer: string;
  ok: boolean;
  error?: string;
  acked?: boolean;
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

  constructor(options: NodeOptions) {
    super();
    validateName(options.name);
    this.opts = { ...options };
    this.limits = withLimits(options.limits);
    this.store = options.store ?? new MemoryStore();
    this.now = options.now ?? Date.now;
    this.peers = new PeerTable(this.limits.maxPeers);
    this.peers.restore(this.store.loadPeers());
    this.history = this.store.loadHistory().slice(-this.limits.maxHistory);
    for (const m of this.history) this.historyIndex.set(m.id, m);
    // Messages that were in flight when the last session ended never got a result.
    for (const m of this.history) {
      if (m.state === 'sending') {
        m.state = 'failed';
        m.error = 'interrupted: PeerChat closed before it was sent';
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
    return this.peers.list().map(({ address, name, state, lastSeen, lastError }) => ({ address, name, state, lastSeen, lastError }));
  }

  getHistory(): ChatMessage[] {
    return this.history.slice();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts listening. A port in use rejects with ERR_PORT_IN_USE and leaves status 'error'. */
  async start(): Promise<void> {
    if (this.listener) return;
    this.closed = false;
    const where = `${this.opts.host}:${this.opts.port}`;
    this.setStatus({ state: 'starting', address: where });
    const listener = new ClassicListener(this.limits, {
      onPayload: (p) => this.onPayload(p),
      onDrop: (remote, reason) => this.log('warn', `dropped connection from ${remote}: ${reason}`),
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
    this.setStatus({ state: 'listening', address: `${this.opts.host}:${this.boundPort}` });
    this.log('info', `listening on ${this.opts.host}:${this.boundPort}; peers reach you at ${this.address}`);
    this.schedulePrune();
  }

  /** Stops listening; peers and history stay. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
    const l = this.listener;
    this.listener = undefined;
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
   * Says exit to connected peers (bounded by shutdownGraceMs so VS Code's exit is never held),
   * stops listening and writes everything to disk.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connected = this.peers.list().filter((p) => p.state === 'connected');
    if (connected.length && this.listener) {
      const exits = Promise.all(connected.map((p) => this.sendText(p, EXIT_TEXT, { retries: 0 })));
      await Promise.race([exits, delay(this.limits.shutdownGraceMs)]);
    }
    await this.stop();
    clearTimeout(this.savePeersTimer);
    this.savePeersTimer = undefined;
    this.store.savePeers(this.peers.toStored());
    this.store.flush();
  }

  // ---------------------------------------------------------------- operations

  /** Sends a text to one peer (split into classic writes). The message shows in its conversation. */
  async send(address: string, text: string): Promise<{ message: ChatMessage; result: PeerResult }> {
    const addr = parseAddress(address);
    this.checkText(text);
    const key = addressKey(addr);
    const peer = this.peers.get(key) ?? this.peers.upsert(addr, { source: 'connect' });
    const message = this.addMessage({ conversation: key, direction: 'out', peer: key, name: this.opts.name, text, state: 'sending' });
    const result = await this.deliver(message, [peer]);
    return { message, result: result[0] };
  }

  /** Sends a text to every known peer that has not left. The message shows in Everyone. */
  async broadcast(text: string): Promise<{ message: ChatMessage; results: PeerResult[] }> {
    this.checkText(text);
    const targets = this.peers.list().filter((p) => p.state !== 'gone');
    const message = this.addMessage({ conversation: EVERYONE, direction: 'out', name: this.opts.name, text, state: 'sending' });
    const results = await this.deliver(message, targets);
    return { message, results };
  }

  /** Sends a failed message again, to its peer or (a broadcast) to every peer not gone. */
  async retry(messageId: string): Promise<PeerResult[]> {
    const m = this.historyIndex.get(messageId);
    if (!m || m.direction !== 'out') throw new PeerChatError('ERR_BAD_INPUT', `no message ${messageId} to retry`);
    const targets = m.peer
      ? [this.peers.get(m.peer) ?? this.peers.upsert(parseAddress(m.peer), { source: 'connect' })]
      : this.peers.list().filter((p) => p.state !== 'gone');
    this.updateMessage(m, { state: 'sending', error: undefined });
    return this.deliver(m, targets);
  }

  /** Greets a peer and marks it connected. */
  async connect(address: string): Promise<PeerResult> {
    const addr = parseAddress(address);
    const key = addressKey(addr);
    if (this.isSelf(addr)) throw new PeerChatError('ERR_BAD_ADDRESS', `${key} is this node's own address`);
    const peer = this.peers.get(key) ?? this.peers.upsert(addr, { source: 'connect' });
    const r = await this.sendText(peer, GREETING_TEXT);
    if (r.ok) {
      this.peers.upsert(addr, { state: 'connected', lastError: undefined });
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

  /** Stops treating a peer as connected; tells it with exit when asked. */
  async disconnect(address: string, sendExit: boolean): Promise<PeerResult> {
    const key = addressKey(parseAddress(address));
    const peer = this.peers.get(key);
    if (!peer) throw new PeerChatError('ERR_BAD_ADDRESS', `${key} is not a known peer`);
    let r: SendResult = { ok: true };
    if (sendExit) r = await this.sendText(peer, EXIT_TEXT, { retries: 0 });
    this.peers.setState(key, 'known', r.ok ? undefined : r.error);
    this.system(key, `Disconnected from ${peer.name} (${key})${sendExit ? (r.ok ? ', told it you left' : `; could not tell it: ${r.error}`) : ''}`);
    return { peer: key, ok: r.ok, error: r.error };
  }

  removePeer(address: string): boolean {
    return this.peers.remove(addressKey(parseAddress(address)));
  }

  /**
   * Probes every peer that has not left with PING. Those that do not answer are removed
   * (remove = true, the user's command) or marked inactive (the automatic probe).
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
        const r = await this.sendText(p, PING_TEXT, { retries: 1 });
        if (r.ok) {
          if (p.state === 'inactive') this.peers.setState(p.address, 'known', '');
          return;
        }
        inactive.push(p.address);
        if (remove) this.peers.remove(p.address);
        else this.peers.setState(p.address, 'inactive', r.error);
      }),
    );
    this.log('info', `probed ${targets.length} peers: ${inactive.length ? `${remove ? 'removed' : 'inactive'} ${inactive.join(', ')}` : 'all answered'}`);
    return { probed: targets.length, inactive };
  }

  // ---------------------------------------------------------------- internals

  private checkText(text: string): void {
    if (text.trim() === '') throw new PeerChatError('ERR_BAD_INPUT', 'cannot send an empty message');
    if (Buffer.byteLength(text) > this.limits.maxOutgoingTextBytes) {
      throw new PeerChatError('ERR_TOO_LARGE', `message is larger than ${this.limits.maxOutgoingTextBytes / 1024} KiB`);
    }
  }

  private async deliver(message: ChatMessage, targets: PeerRecord[]): Promise<PeerResult[]> {
    if (!this.listener) {
      const error = 'the node is not running: start it to send';
      this.updateMessage(message, { state: 'failed', error });
      return targets.map((p) => ({ peer: p.address, ok: false, error }));
    }
    if (targets.length === 0) {
      this.updateMessage(message, { state: 'failed', error: 'no peers to send to yet' });
      return [];
    }
    const results = await Promise.all(
      targets.map(async (p) => {
        const r = await this.sendText(p, message.text);
        return { peer: p.address, ok: r.ok, error: r.error, acked: r.ok && !!r.reply };
      }),
    );
    const failed = results.filter((r) => !r.ok);
    let state: DeliveryState = 'sent';
    if (failed.length === results.length) state = 'failed';
    else if (results.every((r) => r.acked)) state = 'acked';
    const error = failed.length ? failed.map((f) => f.error).join('; ') : undefined;
    this.updateMessage(message, { state, error });
    return results;
  }

  /** Sends a text to one peer as classic writes, one connection at a time per peer. */
  private sendText(peer: PeerRecord, text: string, o: { retries?: number } = {}): Promise<SendResult> {
    const header = classicHeader(this.opts.advertisedIp, this.listeningPort, this.opts.name);
    const parts = splitForClassic(header, text, this.limits.classicWriteBytes);
    return this.queue.run(peer.address, async () => {
      let reply: string | undefined;
      for (const part of parts) {
        const r = await sendWithRetry(peer.host, peer.port, Buffer.from(part, 'utf8'), {
          timeoutMs: this.limits.sendTimeoutMs,
          replyWaitMs: 2000,
          retries: o.retries ?? this.limits.sendRetries,
          retryBaseMs: this.limits.sendRetryBaseMs,
        });
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

  private onPayload(p: IncomingPayload): void {
    const parsed = parseClassic(p.bytes);
    const remote = `${p.remoteIp}:${p.remotePort}`;
    if (!parsed.ok) {
      this.log('warn', `dropped message from ${remote}: ${parsed.reason}`);
      return;
    }
    const m = parsed.message;
    const addr = this.attribute(p.remoteIp, m.headerHost, m.headerPort);
    if (this.isSelf(addr)) {
      this.log('trace', `ignored ${m.kind} from ${remote} that names this node's own address`);
      return;
    }
    const key = addressKey(addr);
    this.log('trace', `← ${remote} as ${key} ${m.kind} ${JSON.stringify(m.text.length > 200 ? `${m.text.slice(0, 200)}…` : m.text)}`);
    const before = this.peers.get(key);
    const now = this.now();
    switch (m.kind) {
      case 'ping':
        this.peers.upsert(addr, { name: m.name, lastSeen: now, state: before && before.state !== 'gone' && before.state !== 'inactive' ? before.state : 'known' });
        return;
      case 'exit': {
        const rec = this.peers.upsert(addr, { name: before?.name && before.name !== addr.host ? before.name : m.name, lastSeen: now, state: 'gone' });
        this.system(key, `${rec.name} (${key}) left the network`);
        return;
      }
      case 'greeting': {
        const rec = this.peers.upsert(addr, { name: m.name, lastSeen: now, state: 'connected', lastError: undefined });
        this.system(key, `${rec.name} (${key}) connected: "${m.text}"`);
        return;
      }
      case 'chat': {
        const state: PeerState = before?.state === 'connected' ? 'connected' : 'known';
        const rec = this.peers.upsert(addr, { name: m.name, lastSeen: now, state, lastError: undefined });
        if (!before) this.system(key, `${rec.name} (${key}) joined`);
        this.addMessage({ conversation: key, direction: 'in', peer: key, name: rec.name, text: m.text });
        return;
      }
      default: {
        const never: never = m.kind;
        throw new Error(`unhandled kind ${String(never)}`);
      }
    }
  }

  /**
   * Which listening address a message came from. The socket IP cannot lie; the header gives the
   * listening port. A sender on this machine (loopback socket) is trusted for its header IP, since
   * classroom programs bind to the IP they advertise.
   */
  private attribute(socketIp: string, headerHost: string, headerPort: number): PeerAddress {
    const ip = normalizeIp(socketIp);
    if (ip === headerHost || isLoopback(ip)) return { host: headerHost, port: headerPort };
    return { host: ip, port: headerPort };
  }

  private isSelf(addr: PeerAddress): boolean {
    if (addr.port !== this.listeningPort) return false;
    if (isLoopback(addr.host) || addr.host === this.opts.advertisedIp || addr.host === this.opts.host) return true;
    return localIps().has(addr.host);
  }

  private addMessage(m: Omit<ChatMessage, 'id' | 'ts'>): ChatMessage {
    const message: ChatMessage = { id: randomUUID(), ts: this.now(), ...m };
    this.history.push(message);
    this.historyIndex.set(message.id, message);
    if (this.history.length > this.limits.maxHistory) {
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
    if (this.savePeersTimer) return;
    this.savePeersTimer = setTimeout(() => {
      this.savePeersTimer = undefined;
      this.store.savePeers(this.peers.toStored());
    }, 250);
    this.savePeersTimer.unref();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function localIps(): Set<string> {
  const set = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) set.add(i.address);
  return set;
}
