/**
 * Discovery, the node's part: runs the channels the setting asks for (the per-machine folder,
 * multicast DNS on the LAN), keeps the Nearby table, proves every announcement with a TLS
 * handshake before it is shown, and keeps the peer table in line: a proven nearby node nobody
 * talked to is a peer with source "lan" or "machine" (so a send reaches it natively), and leaves
 * the table when it stops announcing. An announcement is only ever a hint: one that another key
 * answers for is spoofed, logged and ignored.
 */
import { formatHostPort } from '../address';
import { DiscoveryMode, nativeConversation, NearbyView, SpoofedView } from '../chatTypes';
import type { NodeContext } from '../context';
import { fingerprintOf } from '../identity/ids';
import type { BlockQuery } from '../peers/blocklist';
import { PROTOCOL_VERSION } from '../native/frames';
import type { DiscoveryChannel, Heard, SelfAnnouncement } from './channel';
import { LanChannel } from './mdns';
import { EMPTY_NEARBY, DiscoveryChannelKind, NearbyAction, NearbyEntry, NearbyLimits, NearbyState, nextDeadline, provenNodes, reduceNearby, spoofedEntries, toCheck } from './nearby';
import type { Connection, Transport } from '../transport';
import { proveIdentity, ProofOutcome } from './prove';
import { defaultRegistryDir, MachineRegistry } from './registry';

export interface DiscoverySettings {
  mode: DiscoveryMode;
  /** The per-machine folder (default: PEERCHAT_DISCOVERY_DIR, else ~/.peerchat/nearby). */
  dir?: string;
  /** Channels to use instead of the real ones (tests hand in announcements this way). */
  channels?: DiscoveryChannel[];
}

export interface DiscoveryHooks {
  /** The Nearby list (or the spoofed one) changed. */
  changed(): void;
  /** Dials a native peer (a peer of the user's, found again at a new address). */
  dial(address: string): void;
  isReady(nodeId: string): boolean;
  /** Whether the block list covers these facts (no log line: asked for every view). */
  isBlocked(q: BlockQuery): boolean;
  /** Checks that the announced key answers at host:port (default: a TLS handshake). */
  prove?(host: string, port: number): Promise<ProofOutcome>;
}

export class Discovery {
  private state: NearbyState = EMPTY_NEARBY;
  private channels: DiscoveryChannel[] = [];
  private deadline: NodeJS.Timeout | undefined;
  private readonly proving = new Set<string>();
  /** The connections of checks under way: closed when discovery stops. */
  private readonly proofSockets = new Set<Connection>();
  /** Bumped at every start and stop: a proof that ends after a restart is dropped. */
  private generation = 0;
  private running = false;
  /** Starts and stops, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  /** What the views were last told (nearby and spoofed, as JSON). */
  private shown = '[[],[]]';

  constructor(
    private readonly ctx: NodeContext,
    private readonly hooks: DiscoveryHooks,
  ) {}

  private get limits(): NearbyLimits {
    const l = this.ctx.limits;
    return { expireMs: l.nearbyExpireMs, maxEntries: l.maxNearby, maxPerHost: l.maxNearbyPerHost, retryMs: l.proofRetryMs };
  }

  /** Timers, sockets and proofs it holds (zero once stopped). */
  get resources(): number {
    return this.channels.reduce((n, c) => n + c.resources, 0) + (this.deadline ? 1 : 0) + this.proofSockets.size;
  }

  /**
   * Starts the channels of `s.mode` for this node, bound to `bindHost`. Starts and stops run one
   * after another, in the order asked: two quick setting changes end in the last one.
   */
  start(s: DiscoverySettings, bindHost: string): Promise<void> {
    return this.queue(() => this.restart(s, bindHost));
  }

  /** Says goodbye on every channel and forgets what was nearby. */
  stop(): Promise<void> {
    return this.queue(() => this.halt());
  }

  private queue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async restart(s: DiscoverySettings, bindHost: string): Promise<void> {
    await this.halt();
    if (s.mode === 'off' && !s.channels) return;
    const gen = ++this.generation;
    this.running = true;
    const l = this.ctx.limits;
    this.channels = s.channels ?? [
      new MachineRegistry({ dir: s.dir ?? defaultRegistryDir(), intervalMs: l.announceIntervalMs, pollMs: l.registryPollMs, expireMs: l.nearbyExpireMs, maxFiles: l.maxRegistryFiles, maxFileBytes: l.maxAnnouncementBytes }),
      ...(s.mode === 'lan' ? [new LanChannel({ intervalMs: l.announceIntervalMs, expireMs: l.nearbyExpireMs, answerEveryMs: l.mdnsAnswerEveryMs, maxRecords: l.maxRecordsPerPacket, maxTxtBytes: l.maxAnnouncementBytes })] : []),
    ];
    const self: SelfAnnouncement = { ann: { v: PROTOCOL_VERSION, nodeId: this.ctx.nodeId, name: this.ctx.self.name, port: this.ctx.self.port }, bindHost };
    await Promise.all(
      this.channels.map((c) =>
        c.start(self, {
          heard: (h) => {
            if (gen === this.generation) this.onHeard(c.kind, h);
          },
          log: (level, text) => this.ctx.log(level, text),
        }),
      ),
    );
  }

  private async halt(): Promise<void> {
    this.generation++;
    this.running = false;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    const channels = this.channels;
    this.channels = [];
    await Promise.all(channels.map((c) => c.stop()));
    for (const c of this.proofSockets) c.destroy();
    this.proofSockets.clear();
    this.proving.clear();
    this.dispatch({ type: 'clear' });
  }

  /** Nearby nodes whose key was proven, one per node, by name. */
  nearby(): NearbyView[] {
    return provenNodes(this.state)
      .filter((e) => !this.isBlocked(e))
      .map((e) => {
        const rec = this.ctx.peers.byNodeId(e.nodeId);
        return {
          nodeId: e.nodeId,
          name: e.name,
          address: e.address,
          fingerprint: fingerprintOf(e.nodeId),
          learnedFrom: e.channel,
          conversation: nativeConversation(e.nodeId),
          known: !!rec && !this.ctx.peers.nearbyOnly(rec),
        };
      });
  }

  spoofed(): SpoofedView[] {
    return spoofedEntries(this.state).map((e) => ({
      nodeId: e.nodeId,
      name: e.name,
      address: e.address,
      learnedFrom: e.channel,
      ...(e.proof.state === 'spoofed' && e.proof.answeredBy ? { answeredBy: e.proof.answeredBy } : {}),
    }));
  }

  /** Something the lists depend on changed outside (the block list): say them again. */
  refresh(): void {
    this.apply(this.state, true);
  }

  // ---------------------------------------------------------------- what the channels say

  private onHeard(channel: DiscoveryChannelKind, h: Heard): void {
    const { ctx } = this;
    switch (h.type) {
      case 'refused':
        ctx.logDrop(`${h.from}:0`, 'bad announcement', `ignored an announcement (${channel}) from ${h.from}: ${h.reason}`, 'info');
        return;
      case 'goodbye':
        if (h.nodeId !== ctx.nodeId) this.dispatch({ type: 'goodbye', channel, nodeId: h.nodeId, host: h.host, port: h.port });
        return;
      case 'heard': {
        if (h.ann.nodeId === ctx.nodeId) return; // our own, looped back
        const r = reduceNearby(this.state, { type: 'heard', channel, ann: h.ann, host: h.host, now: ctx.now() }, this.limits);
        if (r.refused) ctx.logDrop(`${h.host}:0`, 'nearby full', `ignored an announcement (${channel}) from ${h.host}: ${r.refused}`, 'info');
        this.apply(r.state, r.changed);
        return;
      }
      default: {
        const never: never = h;
        return never;
      }
    }
  }

  private dispatch(a: NearbyAction): void {
    const r = reduceNearby(this.state, a, this.limits);
    this.apply(r.state, r.changed);
  }

  private apply(next: NearbyState, changed: boolean): void {
    this.state = next;
    if (changed) {
      this.syncPeers();
      // Only what the views show: an entry still being checked redraws nothing.
      const shown = JSON.stringify([this.nearby(), this.spoofed()]);
      if (shown !== this.shown) {
        this.shown = shown;
        this.hooks.changed();
      }
    }
    if (this.running) {
      this.proveDue();
      this.schedule();
    }
  }

  // ---------------------------------------------------------------- proofs and time

  private proveDue(): void {
    const now = this.ctx.now();
    for (const e of toCheck(this.state, now)) {
      if (this.proving.size >= this.ctx.limits.maxProofsAtOnce) return;
      if (this.proving.has(e.key) || this.isBlocked(e)) continue;
      void this.prove(e);
    }
  }

  private async prove(e: NearbyEntry): Promise<void> {
    const { ctx } = this;
    const gen = this.generation;
    this.proving.add(e.key);
    this.state = reduceNearby(this.state, { type: 'checking', key: e.key }, this.limits).state;
    let outcome: ProofOutcome;
    try {
      outcome = this.hooks.prove ? await this.hooks.prove(e.host, e.port) : await proveIdentity(this.tracked(), await ctx.identity.tls(), e.host, e.port, ctx.limits);
    } catch (err) {
      outcome = { error: (err as Error).message };
    }
    if (gen !== this.generation) return;
    this.proving.delete(e.key);
    if ('peerId' in outcome && outcome.peerId !== e.nodeId) {
      ctx.logDrop(
        `${e.host}:0`,
        'spoofed announcement',
        `spoofed announcement (${e.channel}): ${e.address} claims to be ${e.name} (node ${e.nodeId.slice(0, 12)}…) but node ${outcome.peerId.slice(0, 12)}… answered there: ignored`,
        'warn',
      );
    } else if ('error' in outcome) {
      ctx.logDrop(`${e.host}:0`, 'nearby unreachable', `a nearby node announced at ${e.address} (${e.channel}) cannot be checked: ${outcome.error}`, 'info');
    }
    this.dispatch({ type: 'proved', key: e.key, now: ctx.now(), ...('peerId' in outcome ? { peerId: outcome.peerId } : { error: outcome.error }) });
  }

  /** The node's transport, keeping the connections it makes until they close. */
  private tracked(): Transport {
    const t = this.ctx.transport;
    return {
      listen: (host, port, onConnection) => t.listen(host, port, onConnection),
      connect: (host, port) => {
        const c = t.connect(host, port);
        this.proofSockets.add(c);
        c.once('close', () => this.proofSockets.delete(c));
        return c;
      },
    };
  }

  /** One timer, for the next expiry or retry. */
  private schedule(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
    const at = nextDeadline(this.state);
    if (at === undefined) return;
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      this.dispatch({ type: 'tick', now: this.ctx.now() });
    }, Math.max(0, at - this.ctx.now()) + 5);
    this.deadline.unref?.();
  }

  private isBlocked(e: NearbyEntry): boolean {
    return this.hooks.isBlocked({ nodeId: e.nodeId, address: e.address, ip: e.host });
  }

  // ---------------------------------------------------------------- the peer table

  /**
   * Proven nearby nodes become peers (source lan/machine) unless the node or the address is in the
   * table already (an address is never rebound to another key here); nearby-only peers whose node
   * stopped announcing leave. A peer of the user's that is away and announces itself at a new
   * address is dialed there.
   */
  private syncPeers(): void {
    const { peers } = this.ctx;
    const nodes = provenNodes(this.state).filter((e) => !this.isBlocked(e));
    const byId = new Map(nodes.map((e) => [e.nodeId, e]));
    for (const p of peers.list()) {
      if (peers.nearbyOnly(p) && (!p.nodeId || !byId.has(p.nodeId))) peers.remove(p.address);
    }
    for (const e of nodes) {
      const addr = { host: e.host, port: e.port };
      const rec = peers.byNodeId(e.nodeId);
      if (rec) {
        if (!peers.nearbyOnly(rec)) {
          if (rec.address !== e.address && rec.state !== 'connected' && (rec.wanted || peers.protect(rec)) && !this.hooks.isReady(e.nodeId) && !peers.get(e.address)) this.hooks.dial(e.address);
          continue;
        }
        if (rec.address !== e.address && !peers.get(e.address)) {
          peers.remove(rec.address);
          peers.upsert(addr, { name: e.name, nodeId: e.nodeId, protocol: 'native', state: 'known', source: e.channel });
        } else if (rec.name !== e.name) {
          peers.upsert(rec, { name: e.name });
        }
        continue;
      }
      if (peers.get(e.address) || this.ctx.self.isMe(addr)) continue;
      peers.upsert(addr, { name: e.name, nodeId: e.nodeId, protocol: 'native', state: 'known', source: e.channel });
      this.ctx.log('info', `nearby: ${e.name} (${formatHostPort(e.host, e.port)}, node ${e.nodeId.slice(0, 8)}) found on ${e.channel === 'lan' ? 'the LAN' : 'this machine'}`);
    }
  }
}
