/** Identities: ids proven from keys, fingerprints, safety numbers, the key file, signatures. */
import { strict as assert } from 'node:assert';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Identity } from '../../src/core/identity/identity';
import { fingerprintOf, isNodeId, nodeIdOf, safetyNumber } from '../../src/core/identity/ids';
import type { ChatFrame } from '../../src/core/native/frames';
import { SignatureCheck, signChat } from '../../src/core/native/signing';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-id-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('identity', () => {
  it('the node id is the SHA-256 of the public key (SPKI DER), and the certificate carries that key', async () => {
    const me = Identity.create();
    assert.ok(isNodeId(me.nodeId));
    assert.equal(me.nodeId, createHash('sha256').update(me.publicKeyDer).digest('hex'));
    const cert = new X509Certificate((await me.tls()).cert);
    assert.equal(nodeIdOf(cert.publicKey), me.nodeId);
    assert.ok(cert.checkIssued(cert), 'self-signed');
  });

  it('is made once in its folder (0700, key 0600) and the same after a restart', async () => {
    const dir = tmp();
    const a = Identity.load(dir);
    await a.tls();
    const b = Identity.load(dir);
    assert.equal(b.nodeId, a.nodeId);
    assert.equal((await b.tls()).cert, (await a.tls()).cert, 'the certificate is kept too');
    assert.equal(fs.statSync(path.join(dir, 'identity')).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dir, 'identity', 'node.key')).mode & 0o777, 0o600);
  });

  it('a damaged key file is a clear error, never a silent new identity', () => {
    const dir = tmp();
    const a = Identity.load(dir);
    const keyFile = path.join(dir, 'identity', 'node.key');
    fs.writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
    assert.throws(() => Identity.load(dir), (e: Error & { code?: string }) => e.code === 'ERR_IDENTITY' && /damaged/.test(e.message) && e.message.includes(keyFile));
    assert.match(fs.readFileSync(keyFile, 'utf8'), /not a key/, 'the damaged file is left as it was');
    assert.ok(a.nodeId);
  });

  it('a certificate over another key is made again from the key: same identity', async () => {
    const dir = tmp();
    const a = Identity.load(dir);
    const other = Identity.create();
    fs.writeFileSync(path.join(dir, 'identity', 'node.crt'), (await other.tls()).cert);
    const b = Identity.load(dir);
    assert.equal(b.nodeId, a.nodeId);
    assert.equal(nodeIdOf(new X509Certificate((await b.tls()).cert).publicKey), a.nodeId);
  });
});

describe('what people compare', () => {
  it('fingerprint: 20 base32 characters in groups of 4, from the id', () => {
    const id = Identity.create().nodeId;
    assert.match(fingerprintOf(id), /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/);
    assert.equal(fingerprintOf('00'.repeat(32)), 'AAAA-AAAA-AAAA-AAAA-AAAA');
    assert.notEqual(fingerprintOf(id), fingerprintOf(Identity.create().nodeId));
  });

  it('safety number: twelve groups of five digits, the same on both sides, different for every other pair', () => {
    const ids = Array.from({ length: 6 }, () => Identity.create().nodeId);
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const n = safetyNumber(ids[i], ids[j]);
        assert.match(n, /^\d{5}( \d{5}){11}$/);
        assert.equal(safetyNumber(ids[j], ids[i]), n, 'order-independent');
        assert.ok(!seen.has(n), 'unique per pair');
        seen.add(n);
      }
    }
  });
});

describe('signed Everyone messages', () => {
  const origin = Identity.create();
  const base = (): ChatFrame => ({ type: 'chat', id: 'm1', origin: origin.nodeId, originName: 'ana', ts: 1000, conv: 'everyone', text: 'hola', hops: 8 });
  const signed = (): ChatFrame => ({ ...base(), ...signChat(base(), origin) });

  it('a frame signed by its origin passes, also after hops change (forwarding)', () => {
    const check = new SignatureCheck();
    assert.equal(check.problem(signed()), undefined);
    assert.equal(check.problem({ ...signed(), hops: 3 }), undefined);
  });

  it('a changed text, name, time or id, a missing signature, or another key fails', () => {
    const check = new SignatureCheck();
    assert.equal(check.problem({ ...signed(), text: 'pay Eve 99 EUR' }), 'bad signature');
    assert.equal(check.problem({ ...signed(), originName: 'eve' }), 'bad signature');
    assert.equal(check.problem({ ...signed(), ts: 2000 }), 'bad signature');
    assert.equal(check.problem({ ...signed(), id: 'm2' }), 'bad signature');
    assert.equal(check.problem(base()), 'not signed');
    const eve = Identity.create();
    // Eve signs with her key but claims Ana's origin: the key does not hash to the origin.
    assert.equal(new SignatureCheck().problem({ ...base(), ...signChat(base(), eve) }), "the key is not the origin's");
    // Eve's key and origin, Ana's signature: fails.
    const eveKey = eve.publicKeyDer.toString('base64');
    assert.equal(new SignatureCheck().problem({ ...base(), origin: eve.nodeId, key: eveKey, sig: signed().sig }), 'bad signature');
    const junk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(new SignatureCheck().problem({ ...signed(), key: junk.toString('base64') }), "the key is not the origin's");
  });
});
