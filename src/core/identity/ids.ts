/**
 * Node ids and what people compare: the id is the SHA-256 of the node's public key (SPKI DER),
 * so it can be proven, never chosen; the fingerprint is a short form of it for people; the
 * safety number is the same on both sides of a pair and different for every other pair.
 */
import { createHash, KeyObject } from 'node:crypto';

/** Lowercase hex SHA-256 of a public key's SubjectPublicKeyInfo DER. */
export function nodeIdOf(publicKey: KeyObject | Buffer): string {
  const der = Buffer.isBuffer(publicKey) ? publicKey : publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** A node id: 64 lowercase hex characters. */
export function isNodeId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding. */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The first 20 base32 characters of the id, in groups of 4: `ABCD-EFGH-IJKL-MNOP-QRST`. */
export function fingerprintOf(nodeId: string): string {
  return base32(Buffer.from(nodeId, 'hex')).slice(0, 20).match(/.{4}/g)!.join('-');
}

/**
 * Twelve groups of five digits from both ids, in an order that does not depend on who asks: read
 * it out loud (or on another channel) and compare; equal numbers mean each side holds the key the
 * other one really has.
 */
export function safetyNumber(a: string, b: string): string {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const h = createHash('sha512').update('peerchat safety number v1\n').update(Buffer.from(lo, 'hex')).update(Buffer.from(hi, 'hex')).digest();
  const groups: string[] = [];
  for (let i = 0; i < 12; i++) {
    const n = h.readUIntBE(i * 5, 5) % 100_000;
    groups.push(String(n).padStart(5, '0'));
  }
  return groups.join(' ');
}
