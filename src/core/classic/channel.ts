/**
 * Talking to classic peers: a text in the peer's own dialect, one connection at a time per peer,
 * with retries; PING as the probe; exit on disconnect. An address nobody knows yet is first
 * probed for a PeerChat banner, and handed to the native layer when it answers with one.
 */
import type { Channel, PeerResult, SendOutcome } from '../channel';
import { ChatMessage, nativeConversation } from '../chatTypes';
import type { NodeContext } from '../context';
import { classicOutcome } from '../history/delivery';
import type { PeerRecord } from '../peers/table';
import type { Connection } from '../transport';
import { EXIT_TEXT, GREETING_TEXT, PING_TEXT } from './codec';
import { DEFAULT_DIALECT } from './dialects/registry';
import type { DialectName } from './dialects/types';
import { formatWritesFor, openingFor } from './dialects/writes';
import { KeyedQueue } from './net/keyedQueue';
import { probeDial } from './net/probeDial';
import { SendResult, sendOnce, sendWithRetry } from './net/sender';

/** What the classic side needs of the native side when an address turns out to be PeerChat. */
export interface NativeHandoff {
  /** A detected PeerChat socket: resolves true once its session is ready. */
  adopt(socket: Connection, leftover: Buffer, dialedAddress: string): Promise<boolean>;
  /** Sends a message natively to a peer that just proved to be a PeerChat node. */
  send(peer: PeerRecord, text: string, existing: ChatMessage): Promise<SendOutcome>;
  isReady(nodeId: string): boolean;
}

type Sent = SendResult & { native?: Promise<boolean> };

/** The per-peer result of a classic send: acknowledged when the peer answered on the socket. */
function classicResult(peer: string, r: SendResult): PeerResult {
  return { peer, ok: r.ok, error: r.error, acked: r.ok && !!r.reply };
}

export class ClassicChannel implements Channel {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly ctx: NodeContext,
    private readonly native: NativeHandoff,
  ) {}

  async send(peer: PeerRecord, text: string, existing?: ChatMessage): Promise<SendOutcome> {
    const { ctx } = this;
    if (existing) {
      // A retry: the peer is known to be classic, no new discovery.
      ctx.history.update(existing, { state: 'sending', error: undefined });
      const result = classicResult(peer.address, await this.write(peer, text));
      this.finish(existing, [result]);
      return { message: existing, result };
    }
    const message = ctx.history.add({ conversation: peer.address, direction: 'out', peer: peer.address, name: ctx.self.name, text, state: 'sending' });
    const r = await this.writeDiscovering(peer, text);
    if (r === 'native') {
      const now = ctx.peers.get(peer.address) ?? ctx.peers.byNodeId(peer.nodeId ?? '');
      if (now?.nodeId) {
        // It turned out to be a PeerChat node: the message moves to its native conversation.
        message.conversation = nativeConversation(now.nodeId);
        message.origin = ctx.nodeId;
        return this.native.send(now, text, message);
      }
      ctx.history.update(message, { state: 'failed', error: `${peer.address} speaks PeerChat but the handshake failed` });
      return { message, result: { peer: peer.address, ok: false, error: message.error } };
    }
    const result = classicResult(peer.address, r);
    this.finish(message, [result]);
    return { message, result };
  }

  async probe(peer: PeerRecord): Promise<{ alive: boolean; error?: string }> {
    const r = await this.write(peer, PING_TEXT, { retries: 1 });
    return { alive: r.ok, error: r.error };
  }

  async disconnect(peer: PeerRecord, tell: boolean): Promise<PeerResult> {
    const r: SendResult = tell ? await this.write(peer, EXIT_TEXT, { retries: 0, probe: false }) : { ok: true };
    const key = peer.address;
    this.ctx.peers.setState(key, 'known', r.ok ? undefined : r.error);
    this.ctx.peers.upsert(peer, { wanted: false });
    this.ctx.system(key, `Disconnected from ${peer.name} (${key})${tell ? (r.ok ? ', told it you left' : `; could not tell it: ${r.error}`) : ''}`);
    return { peer: key, ok: r.ok, error: r.error };
  }

  /**
   * Greets a peer, looking again at what it speaks: a PeerChat node gets a native session (kept
   * up until the user disconnects), a classic peer the greeting and the state connected.
   */
  async connect(peer: PeerRecord): Promise<PeerResult> {
    const { ctx } = this;
    const key = peer.address;
    if (ctx.native()) peer.protocol = undefined;
    const r = await this.writeDiscovering(peer, GREETING_TEXT);
    if (r === 'native') {
      const now = ctx.peers.get(key);
      const ok = !!now?.nodeId && this.native.isReady(now.nodeId);
      if (now) ctx.peers.upsert(now, { wanted: true });
      return { peer: key, ok, error: ok ? undefined : now?.lastError ?? 'native handshake failed' };
    }
    if (r.ok) {
      ctx.peers.upsert(peer, { state: 'connected', lastError: undefined, protocol: ctx.native() ? 'classic' : peer.protocol });
      ctx.system(key, `Connected to ${peer.name} (${key})`);
    } else {
      ctx.peers.upsert(peer, { state: 'inactive', lastError: r.error });
    }
    return { peer: key, ok: r.ok, error: r.error };
  }

  /** A broadcast's classic part: every peer gets the text; one that proves native catches up later. */
  broadcast(peers: PeerRecord[], text: string): Promise<PeerResult[]> {
    return Promise.all(
      peers.map(async (p) => {
        const r = await this.writeDiscovering(p, text);
        return r === 'native' ? { peer: p.address, ok: true } : classicResult(p.address, r);
      }),
    );
  }

  /** Says exit to these peers, for at most `graceMs` (VS Code's exit must never be held). */
  async exitAll(peers: PeerRecord[], graceMs: number): Promise<void> {
    if (!peers.length) return;
    const exits = Promise.all(peers.map((p) => this.write(p, EXIT_TEXT, { retries: 0, probe: false })));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([exits, grace]);
    clearTimeout(timer);
  }

  /** Sets a message's state from its per-peer results. */
  finish(message: ChatMessage, results: PeerResult[]): void {
    this.ctx.history.update(message, classicOutcome(results, this.ctx.running()));
  }

  private async writeDiscovering(peer: PeerRecord, text: string): Promise<SendResult | 'native'> {
    const r = await this.write(peer, text, { probe: this.ctx.native() && peer.protocol === undefined });
    if (r.native) {
      const ok = await r.native;
      return ok ? 'native' : { ok: false, error: this.ctx.peers.get(peer.address)?.lastError ?? 'native handshake failed' };
    }
    return r;
  }

  /** Writes a text to one peer as classic writes, one connection at a time per peer. */
  private write(peer: PeerRecord, text: string, o: { retries?: number; probe?: boolean } = {}): Promise<Sent> {
    const { ctx } = this;
    // In the peer's own form: a program that only displays its own form shows ours.
    const dialect: DialectName = peer.dialect ?? DEFAULT_DIALECT;
    const me = ctx.self.identity();
    const writes = formatWritesFor(dialect, me, text, ctx.limits.classicWriteBytes);
    // A line-mode receiver takes its opening and the lines on one connection; every other
    // receiver reads one write per connection.
    const parts = dialect === 'lineMode' ? [openingFor(dialect, me).join('') + writes.join('')] : writes;
    return this.queue.run(peer.address, async (): Promise<Sent> => {
      let reply: string | undefined;
      let first: Connection | undefined;
      if (o.probe) {
        const p = await probeDial(ctx.transport, peer.host, peer.port, ctx.limits.probeWaitMs, ctx.limits.sendTimeoutMs);
        if (p.kind === 'native') return { ok: true, native: this.native.adopt(p.socket, p.leftover, peer.address) };
        if (p.kind === 'classic') {
          first = p.socket;
          ctx.peers.upsert(peer, { protocol: 'classic' });
        }
        // on error, fall through to the normal send with retries
      }
      for (const part of parts) {
        const payload = Buffer.from(part, 'utf8');
        const sendOpts = {
          timeoutMs: ctx.limits.sendTimeoutMs,
          replyWaitMs: 2000,
          retries: o.retries ?? ctx.limits.sendRetries,
          retryBaseMs: ctx.limits.sendRetryBaseMs,
          signal: ctx.stopSignal(),
        };
        if (!ctx.running() && text !== EXIT_TEXT) return { ok: false, error: 'not sent: the node stopped' };
        const r = first ? await sendOnce(ctx.transport, peer.host, peer.port, payload, sendOpts, first) : await sendWithRetry(ctx.transport, peer.host, peer.port, payload, sendOpts);
        first = undefined;
        if (!r.ok) {
          ctx.log('warn', r.error ?? `send to ${peer.address} failed`);
          if (ctx.peers.get(peer.address)) ctx.peers.setState(peer.address, peer.state === 'gone' ? 'gone' : 'inactive', r.error);
          return r;
        }
        reply = r.reply ?? reply;
        ctx.log('trace', `→ ${peer.address} ${JSON.stringify(part.length > 200 ? `${part.slice(0, 200)}…` : part)}`);
      }
      if (ctx.peers.get(peer.address)?.state === 'inactive') ctx.peers.setState(peer.address, 'known', '');
      return { ok: true, reply };
    });
  }
}
