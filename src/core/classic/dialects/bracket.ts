/**
 * Bracket forms: the header address in angle brackets.
 *
 * - `bracket`      `<IP:PORT> NAME MSG`
 * - `bracketAt`    `<IP:PORT> @ <NAME>\nMSG\n<end>`
 * - `bracketDated` `<IP:PORT> [YYYY-mm-dd HH:MM:SS] @ <NAME>\nMSG\n`
 *
 * Some of these programs put the recipient's address in the brackets, so the address is only a
 * hint (`parseAny` sees when it names this node); the IP is taken from the socket. Some only
 * display messages in their own form, so a peer is answered in the variant it used.
 */
import { checkAddress, classifyHeaderText, clip, formatAddress, stripLineEnd } from './common';
import { DialectName, Family, FamilyResult, SelfIdentity } from './types';

/** `<host:port>` at the start: any host token inside the brackets (they make it unambiguous). */
const BRACKET_ADDRESS = /^<(\[[0-9A-Fa-f:.]+\]|[^<>\s:[\]]+):(\d{1,5})>/;
const DATED = /^ \[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\] @ /;
const END_MARK = /(?:^|\r?\n)<end>[\r\n]*$/;

function unbracket(name: string): string {
  return name.startsWith('<') && name.endsWith('>') ? name.slice(1, -1) : name;
}

/** Reads `<NAME>` or `NAME` then the message, which follows on the same line or the next. */
function nameAndText(after: string): { name: string; text: string } {
  if (after.startsWith('<')) {
    const close = after.indexOf('>');
    if (close > 0 && !/\s/.test(after.slice(1, close))) {
      return { name: after.slice(1, close), text: after.slice(close + 1).replace(/^(?: |\r?\n)/, '') };
    }
  }
  const m = /^(\S*)(?:[ \t]|\r?\n|$)/.exec(after);
  const name = m ? m[1] : '';
  return { name: unbracket(name), text: m ? after.slice(m[0].length) : '' };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYY-mm-dd HH:MM:SS` in local time, as Python's `datetime.now().strftime` writes it. */
export function bracketTimestamp(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const bracketFamily: Family = {
  name: 'bracket',
  dialects: ['bracket', 'bracketAt', 'bracketDated'],
  detect: (text) => BRACKET_ADDRESS.test(text.replace(/^\s+/, '')),
  parse(input): FamilyResult {
    const s = input.replace(/^\s+/, '');
    const m = BRACKET_ADDRESS.exec(s);
    if (!m) return { ok: false, reason: 'bracket form: no "<IP:PORT>" header' };
    const addr = checkAddress(m[1], m[2]);
    if (!addr.ok) return { ok: false, reason: `bracket form: bad address "${clip(m[0])}": ${addr.reason}` };
    const rest = s.slice(m[0].length);
    let dialect: DialectName;
    let after: string;
    const dated = DATED.exec(rest);
    if (dated) {
      dialect = 'bracketDated';
      after = rest.slice(dated[0].length);
    } else if (rest.startsWith(' @ ')) {
      dialect = 'bracketAt';
      after = rest.slice(3);
    } else if (rest.startsWith(' ')) {
      dialect = 'bracket';
      after = rest.slice(1);
    } else {
      return { ok: false, reason: `bracket form: expected a space after "${clip(m[0])}"` };
    }
    const nt = nameAndText(after);
    if (!nt.name) return { ok: false, reason: 'bracket form: missing name' };
    // Only the @ forms end with the `<end>` mark; in the plain form `<end>` would be the text.
    const text = stripLineEnd(dialect === 'bracket' ? nt.text : nt.text.replace(END_MARK, ''));
    if (text.trim() === '') return { ok: false, reason: 'bracket form: missing message text' };
    const { kind, keyword } = classifyHeaderText(text);
    return {
      ok: true,
      fields: { dialect, headerHost: addr.host, headerPort: addr.port, name: nt.name, text, kind, keyword, revealsDialect: kind !== 'ack' },
    };
  },
  format(dialect, self: SelfIdentity, text, opts) {
    const addr = `<${formatAddress(self.ip, self.port)}>`;
    // Angle brackets in the name would end its bracket early.
    const name = self.name.replace(/[<>]/g, '_');
    switch (dialect) {
      case 'bracketAt':
        return `${addr} @ <${name}>\n${text}\n<end>`;
      case 'bracketDated':
        return `${addr} [${bracketTimestamp(opts.now)}] @ <${name}>\n${text}\n`;
      default:
        return `${addr} ${name} ${text}`;
    }
  },
};
