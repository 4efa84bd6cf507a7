import * as os from 'node:os';
import { PeerChatError } from './errors';
import { cleanName, hasInvisible } from './text';

/** Why a name is refused, or undefined when it is fine: classic peers split on spaces and colons. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (/\s/.test(name)) return 'no spaces: classic peers split the header on spaces';
  if (name.includes(':')) return 'no colons: classic peers read "IP:PORT" up to the first space';
  if (name.length > 64) return 'at most 64 characters';
  if (hasInvisible(name)) return 'no control, zero-width or direction characters';
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
  const clean = cleanName(user.replace(/[\s:]+/g, '_'));
  return clean === '?' ? 'peer' : clean;
}

/** A peer-supplied name made safe to show (the rule lives in text.ts). */
export { cleanName as sanitizePeerName } from './text';
