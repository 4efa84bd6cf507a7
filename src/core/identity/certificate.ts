/** A self-signed X.509 certificate over the node's key, for TLS (made with @peculiar/x509). */
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

// Node's WebCrypto is the standard one; the library's types name the DOM's.
x509.cryptoProvider.set(webcrypto as never);

/** A PEM certificate for `key` (an EC P-256 private key), valid for ten years from yesterday. */
export async function makeCertificate(key: KeyObject, nodeId: string): Promise<string> {
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), EC, true, ['sign']);
  const jwk = key.export({ format: 'jwk' });
  delete jwk.d;
  const publicKey = await subtle.importKey('jwk', jwk as webcrypto.JsonWebKey, EC, true, ['verify']);
  const day = 86_400_000;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nodeId.slice(0, 16),
    name: `CN=peerchat-${nodeId.slice(0, 16)}`,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 3650 * day),
    signingAlgorithm: { ...EC, hash: 'SHA-256' },
    keys: { privateKey: privateKey as never, publicKey: publicKey as never },
  });
  return cert.toString('pem');
}
