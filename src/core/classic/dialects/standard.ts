/**
 * The standard classic form, spoken by most classroom programs: `IP:PORT NAME TEXT`, read as the
 * receivers do with `split(" ", 2)` (the name is one token; the text is the rest, newlines and
 * all). The `connect` / `connected` / `connect_ack` keywords travel in this form too.
 */
import { checkAddress, classicHeader, classifyHeaderText, clip, LEADING_ADDRESS, stripLineEnd } from './common';
import { Family, FamilyResult, SelfIdentity } from './types';

/** Reads `IP:PORT NAME TEXT` (after leading white space). Shared with line mode. */
export function parseHeaderForm(input: string, what: string): FamilyResult {
  const s = input.replace(/^\s+/, '');
  const m = LEADING_ADDRESS.exec(s);
  if (!m) return { ok: false, reason: `${what}: no header: expected "IP:PORT NAME MESSAGE"` };
  const addr = checkAddress(m[1], m[2]);
  if (!addr.ok) return { ok: false, reason: `${what}: bad address "${clip(m[0])}": ${addr.reason}` };
  const afterAddr = s.slice(m[0].length);
  if (!afterAddr.startsWith(' ')) return { ok: false, reason: `${what}: missing name after "${clip(m[0])}"` };
  const rest = afterAddr.slice(1);
  const sp = rest.indexOf(' ');
  const name = sp < 0 ? stripLineEnd(rest) : rest.slice(0, sp);
  if (!name || /\s/.test(name)) return { ok: false, reason: `${what}: missing name` };
  const text = sp < 0 ? '' : stripLineEnd(rest.slice(sp + 1));
  if (text.trim() === '') return { ok: false, reason: `${what}: missing message text` };
  const { kind, keyword } = classifyHeaderText(text);
  return {
    ok: true,
    fields: {
      dialect: 'standard',
      headerHost: addr.host,
      headerPort: addr.port,
      name,
      text,
      kind,
      keyword,
      // An acknowledgement is the same in every header form; it says nothing of the sender's.
      revealsDialect: kind !== 'ack',
    },
  };
}

/** `IP:PORT NAME TEXT`, no trailing newline (it would break exact keyword matching). */
export function formatStandard(self: SelfIdentity, text: string): string {
  return classicHeader(self.ip, self.port, self.name) + text;
}

export const standardFamily: Family = {
  name: 'standard',
  dialects: ['standard'],
  detect: (text) => LEADING_ADDRESS.test(text.replace(/^\s+/, '')),
  parse: (text) => parseHeaderForm(text, 'standard form'),
  format: (_dialect, self, text) => formatStandard(self, text),
};
