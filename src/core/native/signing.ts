/**
 * Everyone messages are signed by their origin, so a relay can drop a broadcast but never change
 * or invent one: the signature covers id, origin, name, time, conversation and text, and the
 * frame carries the origin's public key, which must hash to the origin id. The origin's address
 * is not covered (it changes with the origin's settings): it is only a hint, never a pin.
 */
import { createPublicKey, KeyObject, verify } from 'node:crypto';
import type { Identity } from '../identity/identity';
import { nodeIdOf } from '../identity/ids';
import type { ChatFrame } from './frames';

type Signed = Pick<ChatFrame, 'id' | 'origin' | 'originName' | 'ts' | 'conv' | 'text'>;

function signedBytes(f: Signed): Buffer {
  return Buffer.from(JSON.stringify(['peerchat chat v2', f.id, f.origin, f.originName, f.ts, f.conv, f.text]), 'utf8');
}

/** The signature and key this node attaches to a message it originates. */
export function signChat(f: Signed, me: Identity): { sig: string; key: string } {
  return { sig: me.sign(signedBytes(f)).toString('base64'), key: me.publicKeyDer.toString('base64') };
}

/** Checks signatures, remembering the keys of origins already seen (bounded). */
export class SignatureCheck {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxKeys = 1000) {}

  /** undefined when the frame is signed by its origin; else why not. */
  problem(f: ChatFrame): string | undefined {
    if (!f.sig || !f.key) return 'not signed';
    let key = this.keys.get(f.origin);
    if (!key) {
      const der = Buffer.from(f.key, 'base64');
      if (nodeIdOf(der) !== f.origin) return "the key is not the origin's";
      try {
        key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      } catch {
        return 'unusable key';
      }
      this.keys.set(f.origin, key);
      if (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value as string);
    }
    let ok = false;
    try {
      ok = verify('sha256', signedBytes(f), key, Buffer.from(f.sig, 'base64'));
    } catch {
      ok = false;
    }
    return ok ? undefined : 'bad signature';
  }
}
