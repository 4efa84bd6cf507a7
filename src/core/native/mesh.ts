/**
 * The Everyone mesh and incoming chat frames: a broadcast floods every node reachable through any
 * path exactly once (seen-id cache, hop limit), and a node that comes back catches up on what it
 * missed from a neighbour.
 */
import { randomUUID } from 'node:crypto';
import { addressKey, tryParseAddress } from '../address';
import type { PeerResult } from '../channel';
import { ChatMessage, EVERYONE, nativeConversation } from '../chatTypes';
import type { NodeContext } from '../context';
import { cleanName, hasControlCharacters } from '../text';
import { Origin, toChatFrame } from './chatFrame';
import { ChatFrame, encodeFrame, SyncFrame } from './frames';
import { SignatureCheck, signChat } from './signing';
import { SeenCache } from './seenCache';
import type { NativeSession } from './session';
import type { Sessions } from './sessions';

export class Mesh {
  private readonly seen: SeenCache;
  private readonly signatures = new SignatureCheck();
  /** Sessions that got their one catch-up answer; sessions whose peer we met before. */
  private readonly synced = new WeakSet<NativeSession>();
  private readonly known = new WeakSet<NativeSession>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly sessions: Sessions,
  ) {
    this.seen = new SeenCache(ctx.limits.seenCacheSize);
  }

  private me(): Origin {
    return { nodeId: this.ctx.nodeId, name: this.ctx.self.name, address: this.ctx.self.address };
  }

  /** A broadcast we originate: its id, time and our signature, before it goes into history. */
  originate(text: string): { id: string; ts: number; sig: string; key: string } {
    const id = randomUUID();
    const ts = this.ctx.now();
    this.seen.add(id, ts); // never taken for a stranger's when it comes back around
    return { id, ts, ...signChat({ id, origin: this.ctx.nodeId, originName: this.ctx.self.name, ts, conv: 'everyone', text }, this.ctx.identity) };
  }

  /** Floods a broadcast to every ready session, encoded once for all of them. */
  broadcast(message: ChatMessage): PeerResult[] {
    const frame = encodeFrame(toChatFrame(message, this.me(), 'everyone', this.ctx.limits.floodHops));
    const results: PeerResult[] = [];
    for (const [nodeId, s] of this.sessions.entries()) {
      if (!s.isReady) continue;
      const ok = s.trySend(frame);
      results.push({ peer: this.ctx.peers.byNodeId(nodeId)?.address ?? `node:${nodeId}`, ok, error: ok ? undefined : 'peer is behind; it will catch up' });
    }
    return results;
  }

  /** A chat frame, direct or Everyone: acknowledged, shown once, and flooded on. */
  onChat(s: NativeSession, f: ChatFrame): void {
    const { ctx } = this;
    if (f.origin === ctx.nodeId) return; // our own broadcast came back around the mesh
    const from = s.remote!.nodeId;
    // A direct message comes from the session's node itself; an Everyone one from anyone, signed.
    const forged = f.conv === 'direct' ? (f.origin === from ? undefined : `claims origin ${f.origin.slice(0, 12)}…`) : this.signatures.problem(f);
    if (forged) {
      ctx.logDrop(`${s.remoteIp}:0`, `forged ${f.conv} chat`, `dropped ${f.conv} message ${f.id.slice(0, 8)} from ${s.remote?.name ?? s.remoteIp}: ${forged}`);
      return;
    }
    if (hasControlCharacters(f.text) || f.text.trim() === '') {
      // Same rule as classic text: control characters (terminal escapes) are never shown.
      s.sendControl({ type: 'ack', id: f.id }); // acknowledged, so the sender does not resend it forever
      ctx.logDrop(`${s.remoteIp}:0`, 'native text with control characters', `dropped native message ${f.id.slice(0, 8)} from ${s.remote?.name ?? s.remoteIp}: empty or control characters`);
      return;
    }
    if (Buffer.byteLength(f.text, 'utf8') > ctx.limits.maxIncomingBytes) {
      // Same cap as classic text (a native frame could otherwise carry four times as much).
      s.sendControl({ type: 'ack', id: f.id }); // acknowledged, so the sender does not resend it forever
      ctx.logDrop(`${s.remoteIp}:0`, 'native text too long', `dropped native message ${f.id.slice(0, 8)} from ${s.remote?.name ?? s.remoteIp}: over ${ctx.limits.maxIncomingBytes} bytes`);
      return;
    }
    if (f.conv === 'everyone' && (f.ts < ctx.now() - ctx.limits.catchupWindowMs || this.seen.forgot(f.ts))) {
      // Older than what this node remembers ids for: a replay cannot be told from a new message.
      ctx.logDrop(`${s.remoteIp}:0`, 'stale broadcast', `dropped Everyone message ${f.id.slice(0, 8)} from ${s.remote?.name ?? s.remoteIp}: older than the ids this node remembers`, 'info');
      return;
    }
    const duplicate = ctx.history.has(f.id) || !this.seen.add(f.id, f.ts);
    if (duplicate) {
      // History is kept across restarts: an id re-sent after either side restarted is dropped here.
      s.sendControl({ type: 'ack', id: f.id });
      return;
    }
    // Neither shown nor forwarded: this node does not amplify a peer its user blocked.
    if (ctx.blocked({ nodeId: f.origin, address: f.originAddress }, `${s.remoteIp}:0`, `a message relayed by ${s.remoteIp} from a blocked origin`)) {
      s.sendControl({ type: 'ack', id: f.id }); // acknowledged, so the sender does not resend it forever
      return;
    }
    const fromRec = ctx.peers.byNodeId(s.remote!.nodeId);
    let originRec = ctx.peers.byNodeId(f.origin);
    // A claimed origin address is only a hint: it must be an address, and not ours.
    let originAddr = f.originAddress ? tryParseAddress(f.originAddress) : undefined;
    if (originAddr && ctx.self.isMe(originAddr)) originAddr = undefined;
    if (!originRec && originAddr && !ctx.peers.get(addressKey(originAddr))) {
      originRec = ctx.peers.upsert(originAddr, { name: f.originName, nodeId: f.origin, protocol: 'native', state: 'known', source: 'exchange', learnedVia: fromRec?.name });
    }
    ctx.history.add({
      id: f.id,
      ts: Math.min(f.ts, ctx.now()),
      conversation: f.conv === 'everyone' ? EVERYONE : nativeConversation(f.origin),
      direction: 'in',
      peer: originRec?.address ?? (originAddr ? addressKey(originAddr) : fromRec?.address),
      name: originRec?.name ?? cleanName(f.originName),
      text: f.text,
      origin: f.origin,
      ...(f.conv === 'everyone' ? { sig: f.sig, key: f.key } : {}),
    });
    // Only once it is in history (on disk): the sender forgets it on this ack.
    s.sendControl({ type: 'ack', id: f.id });
    const hops = Math.min(f.hops, ctx.limits.floodHops); // a sender cannot buy more hops than the mesh allows
    if (f.conv === 'everyone' && hops > 0) {
      const fwd = encodeFrame({ ...f, hops: hops - 1 });
      for (const [id, other] of this.sessions.entries()) {
        if (other === s || id === f.origin || !other.isReady) continue;
        other.trySend(fwd); // a neighbour that is behind catches up later
      }
    }
  }

  /** This session's peer was proven in an earlier session: it may ask for catch-up. */
  knownSession(s: NativeSession): void {
    this.known.add(s);
  }

  /**
   * A neighbour asks for the Everyone messages it missed: answered once per session, bounded in
   * count and bytes, and only to a peer the user knows (connected to, verified, talked with, or
   * met in an earlier session), so a stranger cannot make us send megabytes.
   */
  onSync(s: NativeSession, f: SyncFrame): void {
    const { ctx } = this;
    const rec = ctx.peers.byNodeId(s.remote!.nodeId);
    const knows = !!rec && (rec.wanted || rec.verified || this.known.has(s) || ctx.history.hasConversation(nativeConversation(rec.nodeId!)));
    if (this.synced.has(s) || !knows) {
      ctx.logDrop(`${s.remoteIp}:0`, 'sync refused', `no catch-up for ${s.remote?.name ?? s.remoteIp}: ${this.synced.has(s) ? 'already answered on this session' : 'not a peer you know'}`, 'info');
      return;
    }
    this.synced.add(s);
    const since = Math.max(f.since, ctx.now() - ctx.limits.catchupWindowMs);
    const me = this.me();
    let bytes = 0;
    for (const m of ctx.history.everyoneSince(since, ctx.limits.catchupMax)) {
      bytes += Buffer.byteLength(m.text, 'utf8');
      if (bytes > ctx.limits.catchupMaxBytes || !s.trySend(toChatFrame(m, me, 'everyone', 0))) break;
    }
  }

  /** Ask neighbours for Everyone messages newer than the newest mesh one we have (with slack for clock skew). */
  catchupSince(): number {
    const ts = this.ctx.history.newestMeshTs();
    return ts === undefined ? 0 : ts - 5 * 60_000;
  }
}
