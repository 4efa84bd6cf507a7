import * as os from 'node:os';
import { PeerChatError } from './errors';

/** Why a name is refused, or undefined when it is fine: classic peers split on spaces and colons. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (/\s/.test(name)) return 'no spaces: classic peers split the header on spaces';
  if (name.includes(':')) return 'no colons: classic peers read "IP:PORT" up to the first space';
  if (name.length > 64) return 'at most 64 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'no control characters';
  return undefined;
}

export function validateName(name: string): string {
  const why = nameProblem(name);
  if (why) throw new PeerChatError('ERR_BAD_NAME', `"${name}" cannot be a name: ${why}`);
  return name;
}

/** The OS user name made into a valid token ("Ana Lopez" → "Ana_Lopez"). */
export function defaultName(): string {
  let user = 'peer';
  try {
    user = os.userInfo().username || user;
  } catch {
    // no passwd entry (containers): keep the fallback
  }
  const clean = user.replace(/[\s:]+/g, '_').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 64);
  return clean || 'peer';
}

/** A peer-supplied name made safe to show: no control or bidi-override characters, bounded. */
export function sanitizePeerName(name: string, max = 64): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '');
  return cleaned.slice(0, max) || '?';
}
