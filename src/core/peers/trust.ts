/**
 * What the user decides about a native peer's key: compare the safety number and mark it
 * verified, or accept the new key that answered at a pinned address.
 */
import { PeerChatError } from '../errors';
import { fingerprintOf, safetyNumber } from '../identity/ids';
import { conversationOf } from './views';
import type { PeerRecord, PeerTable } from './table';

export interface Safety {
  peer: string;
  nodeId: string;
  /** Twelve groups of five digits, the same on both sides. */
  number: string;
}

function nativeKey(p: PeerRecord): string {
  if (p.protocol !== 'native' || !p.nodeId) throw new PeerChatError('ERR_BAD_INPUT', `${p.name} (${p.address}) is a classic peer: classic programs have no key to verify, and their messages are not encrypted`);
  return p.nodeId;
}

export function safetyOf(p: PeerRecord, ownId: string): Safety {
  return { peer: p.address, nodeId: nativeKey(p), number: safetyNumber(ownId, nativeKey(p)) };
}

/** Marks the peer's current key verified (or not); kept with the peer directory. */
export function setVerified(peers: PeerTable, p: PeerRecord, verified: boolean, system: (conversation: string, text: string) => void): PeerRecord {
  nativeKey(p);
  const rec = peers.upsert(p, { verified });
  system(conversationOf(rec), verified ? `You verified ${rec.name}'s key (${fingerprintOf(rec.nodeId!)})` : `${rec.name}'s key is no longer marked verified`);
  return rec;
}

/**
 * The user accepts the key that answered at this address: it becomes this peer (not verified);
 * messages queued for the old key stay with the old key, never going to the new one.
 */
export function trustNewIdentity(peers: PeerTable, p: PeerRecord, system: (conversation: string, text: string) => void): PeerRecord {
  if (p.namesake && !p.newIdentity) {
    // A new key under a known name: the user says it is fine (a second device, a reinstall).
    const rec = peers.upsert(p, { namesake: undefined });
    system(conversationOf(rec), `You accepted ${rec.name}'s key at ${rec.address} (${fingerprintOf(rec.nodeId!)})`);
    return rec;
  }
  if (!p.newIdentity) throw new PeerChatError('ERR_BAD_INPUT', `${p.name} (${p.address}) has no new identity to trust`);
  const old = p.nodeId;
  const rec = peers.upsert(p, { nodeId: p.newIdentity, newIdentity: undefined, verified: false, proven: false, state: 'known', lastError: undefined });
  system(conversationOf(rec), `You trusted the new key at ${rec.address} (${fingerprintOf(rec.nodeId!)})${old ? `; messages queued for the old key (${fingerprintOf(old)}) stay queued for it` : ''}`);
  return rec;
}
