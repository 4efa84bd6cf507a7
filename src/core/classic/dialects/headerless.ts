/**
 * Headerless forms: `Team : msg`, `CONNECT:PORT` (tells the listening port), or bare text. The
 * address comes from the socket. Some of these programs keep sockets open and reuse them both
 * ways; the framer's quiet gap splits what they write.
 *
 * This family has no prefix: it reads whatever no other family claimed, so it is last.
 */
import { isValidPort } from '../../address';
import { classifyText } from '../codec';
import { stripLineEnd } from './common';
import { Family, FamilyResult } from './types';

const CONNECT_PORT = /^CONNECT:(\d{1,5})$/;
const TEAM = /^([^\s:]+) : ([\s\S]*)$/;

export const headerlessFamily: Family = {
  name: 'headerless',
  dialects: ['headerless'],
  detect: () => true,
  parse(text): FamilyResult {
    const line = text.replace(/^\s+|\s+$/g, '');
    const c = CONNECT_PORT.exec(line);
    if (c) {
      const port = Number(c[1]);
      if (!isValidPort(port)) return { ok: false, reason: `headerless: bad port in "${line}"` };
      return { ok: true, fields: { dialect: 'headerless', statedPort: port, text: line, kind: 'connectRequest', keyword: 'CONNECT:PORT', revealsDialect: true } };
    }
    const s = stripLineEnd(text).replace(/^\s+/, '');
    const t = TEAM.exec(s);
    const name = t ? t[1] : undefined;
    const msg = t ? t[2] : s;
    if (msg.trim() === '') return { ok: false, reason: 'headerless: missing message text' };
    return { ok: true, fields: { dialect: 'headerless', name, text: msg, kind: classifyText(msg), revealsDialect: true } };
  },
  /** `NAME : text`: shows who wrote it to a program that displays what arrives. */
  format: (_dialect, self, text) => `${self.name} : ${text}`,
};
