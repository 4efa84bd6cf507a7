/**
 * Who gets a native session slot. Strangers (peers the user never connected to, verified or
 * queued messages for) share most of the slots, a few per remote IP; the rest are kept for the
 * user's own peers, which may also push a stranger out. Handshakes are capped per IP before any
 * key is known, so sockets that never finish one cannot hold the door shut.
 */
import type { Limits } from '../limits';

export type AdmissionLimits = Pick<Limits, 'maxNativeSessions' | 'reservedNativeSessions' | 'maxNativePerAddress' | 'maxNativeHandshakes' | 'maxNativeHandshakesPerAddress'>;

/** Slots strangers may hold in all: the reserve is at most a quarter of the cap. */
export function strangerSlots(l: AdmissionLimits): number {
  return l.maxNativeSessions - Math.min(l.reservedNativeSessions, Math.floor(l.maxNativeSessions / 4));
}

/** Before TLS, for an accepted connection: the reason to refuse it, if any. */
export function refuseHandshake(l: AdmissionLimits, c: { pendingInbound: number; pendingFromIp: number }): string | undefined {
  if (c.pendingFromIp >= l.maxNativeHandshakesPerAddress) return `${l.maxNativeHandshakesPerAddress} handshakes from this address already under way`;
  if (c.pendingInbound >= l.maxNativeHandshakes) return `${l.maxNativeHandshakes} handshakes already under way`;
  return undefined;
}

export type Admission = { kind: 'admit' } | { kind: 'evict' } | { kind: 'refuse'; reason: string };

/**
 * Once the key is proven. `sessions` counts ready and handshaking sessions; `strangers` those of
 * them that were strangers when admitted; `strangersFromIp` the accepted ones from this IP.
 */
export function admitSession(
  l: AdmissionLimits,
  c: { sessions: number; strangers: number; strangersFromIp: number },
  peer: { own: boolean; inbound: boolean },
): Admission {
  if (peer.own) {
    if (c.sessions < l.maxNativeSessions) return { kind: 'admit' };
    return c.strangers > 0 ? { kind: 'evict' } : { kind: 'refuse', reason: `all ${l.maxNativeSessions} native sessions in use by your own peers` };
  }
  if (c.sessions >= l.maxNativeSessions) return { kind: 'refuse', reason: `all ${l.maxNativeSessions} native sessions in use` };
  const slots = strangerSlots(l);
  if (c.strangers >= slots) return { kind: 'refuse', reason: `all ${slots} native sessions for unknown peers in use (the rest are kept for peers you connected to)` };
  if (peer.inbound && c.strangersFromIp >= l.maxNativePerAddress) return { kind: 'refuse', reason: `${l.maxNativePerAddress} native sessions from this address already` };
  return { kind: 'admit' };
}
