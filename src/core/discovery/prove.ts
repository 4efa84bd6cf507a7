/**
 * Proving an announcement: dial the announced address, run the TLS handshake of a native session
 * and read the id the other side proved, then close before any hello. Nothing is sent but the
 * banner echo and our own certificate; the other node sees a connection that ends after TLS.
 */
import { probeDial } from '../classic/net/probeDial';
import type { TlsCredentials } from '../identity/identity';
import { secureConnection } from '../native/secure';
import type { Transport } from '../transport';

export type ProofOutcome = { peerId: string } | { error: string };

export interface ProofTimes {
  probeWaitMs: number;
  sendTimeoutMs: number;
  handshakeMs: number;
}

export async function proveIdentity(transport: Transport, creds: TlsCredentials, host: string, port: number, t: ProofTimes): Promise<ProofOutcome> {
  const r = await probeDial(transport, host, port, t.probeWaitMs, t.sendTimeoutMs);
  if (r.kind === 'error') return { error: r.error };
  if (r.kind === 'classic') {
    r.socket.destroy();
    return { error: 'no PeerChat node answers there' };
  }
  const sec = await secureConnection(r.socket, r.leftover, true, creds, t.handshakeMs);
  if (!sec.ok) return { error: sec.error };
  // A clean close (TLS close_notify, then FIN): reading what the other side already sent (its
  // hello) keeps the kernel from answering with a reset.
  const s = sec.stream;
  s.on('error', () => undefined);
  s.resume();
  const bound = setTimeout(() => s.destroy(), 1000);
  bound.unref?.();
  s.once('close', () => clearTimeout(bound));
  s.end();
  return { peerId: sec.peerId };
}
