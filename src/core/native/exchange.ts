/** Peer exchange: native nodes tell each other the PeerChat peers they know, and dial a few. */
import { addressKey, tryParseAddress } from '../address';
import type { NodeContext } from '../context';
import type { PeerInfo } from './frames';
import type { NativeSession } from './session';
import type { Sessions } from './sessions';

export class PeerExchange {
  constructor(
    private readonly ctx: NodeContext,
    private readonly sessions: Sessions,
  ) {}

  /** Native peers worth telling a neighbour about (not itself). */
  infos(exceptNodeId: string | undefined): PeerInfo[] {
    return this.ctx.peers
      .list()
      // A nearby node nobody talked to is not ours to pass on (its per-machine address means
      // nothing elsewhere, and the LAN hears it by itself).
      .filter((p) => p.protocol === 'native' && p.nodeId && p.nodeId !== exceptNodeId && p.state !== 'gone' && !this.ctx.peers.nearbyOnly(p))
      .slice(0, 200)
      .map((p) => ({ nodeId: p.nodeId as string, address: p.address, name: p.name, lastSeen: p.lastSeen }));
  }

  /** A new session: it hears whom we know, and the other neighbours hear of it. */
  introduce(s: NativeSession, remoteId: string): void {
    s.sendControl({ type: 'peers', peers: this.infos(remoteId) });
    const info = this.infos(undefined).filter((p) => p.nodeId === remoteId);
    for (const [id, other] of this.sessions.entries()) if (id !== remoteId && other.isReady) other.sendControl({ type: 'peers', peers: info });
  }

  onPeers(s: NativeSession, list: PeerInfo[]): void {
    const { ctx } = this;
    const via = ctx.peers.byNodeId(s.remote!.nodeId)?.name ?? s.remote!.name;
    // Counted once per frame, not once per entry (a frame may list hundreds).
    let learned = ctx.peers.list().filter((x) => x.source === 'exchange').length;
    for (const p of list) {
      if (p.nodeId === ctx.nodeId || ctx.peers.byNodeId(p.nodeId)) continue;
      const addr = tryParseAddress(p.address);
      if (!addr || ctx.self.isMe(addr)) continue;
      if (ctx.blocked({ nodeId: p.nodeId, address: addressKey(addr) }, `${s.remoteIp}:0`, `a peer learned from ${s.remoteIp}`)) continue;
      // Exchange adds peers; it never rebinds an address we know (classic or native) to a key.
      if (ctx.peers.get(addressKey(addr))) continue;
      if (learned >= ctx.limits.maxLearnedPeers) {
        ctx.logDrop(`${s.remoteIp}:0`, 'learned quota', `not learning more peers from ${via}: ${ctx.limits.maxLearnedPeers} learned peers kept already`, 'info');
        return;
      }
      // Its "last seen" is not ours to believe: a far-future one would keep a fake above real peers.
      ctx.peers.upsert(addr, { name: p.name, nodeId: p.nodeId, protocol: 'native', state: 'known', source: 'exchange', learnedVia: via });
      learned++;
      ctx.log('info', `learned ${p.name} (${addressKey(addr)}) from ${via}`);
      // Sessions, handshakes and dials under way all count: one frame naming many peers must
      // not start many dials at once.
      const c = this.sessions.counts();
      if (c.sessions + c.handshaking + c.dialing < ctx.limits.maxAutoConnect) void this.sessions.dial(addressKey(addr));
    }
  }
}
