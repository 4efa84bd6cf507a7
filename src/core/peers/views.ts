/** Peer records as the views show them. */
import { nativeConversation, PeerView } from '../chatTypes';
import { DEFAULT_DIALECT } from '../classic/dialects/registry';
import { fingerprintOf } from '../identity/ids';
import type { PeerRecord } from './table';

/** A peer's conversation: node:ID for a native peer (stable across addresses), else its address. */
export function conversationOf(p: PeerRecord): string {
  return p.nodeId && p.protocol === 'native' ? nativeConversation(p.nodeId) : p.address;
}

export function toPeerView(p: PeerRecord): PeerView {
  return {
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
    encrypted: p.protocol === 'native' ? true : p.protocol === 'classic' ? false : undefined,
    verified: p.protocol === 'native' && p.verified === true,
    ...(p.protocol === 'native' && p.nodeId ? { fingerprint: fingerprintOf(p.nodeId) } : {}),
    ...(p.newIdentity || p.namesake ? { identityChanged: true } : {}),
  };
}
