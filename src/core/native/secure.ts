/**
 * TLS 1.3 on a detected PeerChat connection, both sides presenting their certificates: the
 * accepting side is the TLS server. What comes out is a private, authenticated stream and the id
 * the other side proved (the hash of the public key its certificate carries, whose private key it
 * used in the handshake). Certificates are self-signed: trust is in the id, not in a CA.
 */
import * as tls from 'node:tls';
import type { TlsCredentials } from '../identity/identity';
import { nodeIdOf } from '../identity/ids';
import type { Connection } from '../transport';

export type Secured = { ok: true; stream: tls.TLSSocket; peerId: string } | { ok: false; error: string };

export function secureConnection(socket: Connection, leftover: Buffer, initiator: boolean, creds: TlsCredentials, timeoutMs: number): Promise<Secured> {
  return new Promise((resolve) => {
    const common = { key: creds.key, cert: creds.cert, minVersion: 'TLSv1.3' as const, maxVersion: 'TLSv1.3' as const, rejectUnauthorized: false };
    let stream: tls.TLSSocket;
    if (initiator) {
      // No host name to check: the peer is who its key says, checked below.
      stream = tls.connect({ ...common, socket, checkServerIdentity: () => undefined });
    } else {
      // Bytes the client sent right after its banner are the start of its TLS hello.
      socket.pause();
      if (leftover.length) socket.unshift(leftover);
      stream = new tls.TLSSocket(socket, { ...common, isServer: true, requestCert: true });
    }
    let done = false;
    const finish = (r: Secured) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (!r.ok) {
        stream.destroy();
        socket.destroy();
      }
      resolve(r);
    };
    const onError = (err: Error) => finish({ ok: false, error: `TLS handshake failed: ${err.message}` });
    const onClose = () => finish({ ok: false, error: 'connection closed during the TLS handshake' });
    const timer = setTimeout(() => finish({ ok: false, error: `no TLS handshake within ${timeoutMs} ms` }), timeoutMs);
    timer.unref?.();
    stream.once('error', onError);
    stream.once('close', onClose);
    stream.once(initiator ? 'secureConnect' : 'secure', () => {
      const cert = stream.getPeerX509Certificate();
      if (!cert) {
        finish({ ok: false, error: 'the peer presented no certificate' });
        return;
      }
      let peerId: string;
      try {
        peerId = nodeIdOf(cert.publicKey);
      } catch (err) {
        finish({ ok: false, error: `unusable certificate: ${(err as Error).message}` });
        return;
      }
      finish({ ok: true, stream, peerId });
    });
  });
}
