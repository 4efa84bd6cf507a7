/**
 * This node's identity: an EC P-256 key pair made at first start, kept with the node's data in a
 * file only the user can read, and a self-signed certificate over it for TLS. The node id is the
 * hash of the public key. A damaged key file is an error, never a silent new identity.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PeerChatError } from '../errors';
import { fingerprintOf, nodeIdOf } from './ids';

export interface TlsCredentials {
  key: string;
  cert: string;
}

export class Identity {
  readonly nodeId: string;
  readonly fingerprint: string;
  /** The public key, SPKI DER: carried in signed frames so anyone can check them against the id. */
  readonly publicKeyDer: Buffer;
  private credentials: TlsCredentials | undefined;

  private constructor(
    private readonly key: KeyObject,
    cert: string | undefined,
    /** Where the certificate is kept; undefined for an identity that lives in memory only. */
    private readonly certFile?: string,
  ) {
    this.publicKeyDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
    this.nodeId = nodeIdOf(this.publicKeyDer);
    this.fingerprint = fingerprintOf(this.nodeId);
    if (cert && certificateMatches(cert, this.nodeId)) this.credentials = { key: this.pem(), cert };
  }

  /** A new identity in memory (tests, benchmarks). */
  static create(): Identity {
    return new Identity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, undefined);
  }

  /**
   * The identity kept in `dir/identity/` (made there on first use: folder 0700, key 0600).
   * @throws PeerChatError ERR_IDENTITY when the key file exists but cannot be used.
   */
  static load(dir: string): Identity {
    const folder = path.join(dir, 'identity');
    const keyFile = path.join(folder, 'node.key');
    const certFile = path.join(folder, 'node.crt');
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    fs.chmodSync(folder, 0o700);
    let key: KeyObject;
    if (fs.existsSync(keyFile)) {
      try {
        key = createPrivateKey(fs.readFileSync(keyFile));
      } catch (err) {
        throw new PeerChatError(
          'ERR_IDENTITY',
          `the identity key ${keyFile} is damaged (${(err as Error).message}); PeerChat will not make a new identity by itself: move the file aside to start with a new one (your peers will see a new key)`,
          err,
        );
      }
      if (key.asymmetricKeyType !== 'ec') throw new PeerChatError('ERR_IDENTITY', `the identity key ${keyFile} is not an EC key`);
    } else {
      key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      // Written with its mode at once (never readable by others, not even for a moment), then renamed.
      const tmp = `${keyFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      fs.renameSync(tmp, keyFile);
    }
    fs.chmodSync(keyFile, 0o600);
    let cert: string | undefined;
    try {
      cert = fs.readFileSync(certFile, 'utf8');
    } catch {
      cert = undefined; // made again from the key: same identity
    }
    return new Identity(key, cert, certFile);
  }

  /** Key and certificate for TLS; the certificate is made (and kept) the first time. */
  async tls(): Promise<TlsCredentials> {
    if (this.credentials) return this.credentials;
    // Loaded on first use: the X.509 library is large and needed once per identity.
    const { makeCertificate } = await import('./certificate');
    const cert = await makeCertificate(this.key, this.nodeId);
    this.credentials = { key: this.pem(), cert };
    if (this.certFile) fs.writeFileSync(this.certFile, cert, { mode: 0o600 });
    return this.credentials;
  }

  /** A signature by this node's key (ECDSA, SHA-256, DER). */
  sign(data: Buffer): Buffer {
    return sign('sha256', data, this.key);
  }

  private pem(): string {
    return this.key.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
}

/** Whether a stored certificate is over this node's key (else it is made again). */
function certificateMatches(pem: string, nodeId: string): boolean {
  try {
    return nodeIdOf(new X509Certificate(pem).publicKey) === nodeId;
  } catch {
    return false;
  }
}
