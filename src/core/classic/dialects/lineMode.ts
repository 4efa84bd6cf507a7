/**
 * Line mode: a persistent sender opens its connection with its listening port on the first line
 * (`PORT`, or `PORT CONNECT`), then `CONNECT`, then writes `IP:PORT NAME MSG\n` lines, blocking
 * after each until it reads `Message received`. Whether a connection is in line mode is decided by
 * the framer from its first line; this family reads one line of such a connection, and only when
 * the context says the connection is in line mode.
 */
import { isValidPort } from '../../address';
import { classicHeader, stripLineEnd } from './common';
import { parseHeaderForm } from './standard';
import { Family, FamilyResult, SelfIdentity } from './types';

/** The answer to every line, newline-terminated: a line-mode program reads lines. */
export const LINE_ACK = 'Message received\n';

const OPENING_PORT = /^(\d{1,5})(?: +CONNECT)?$/;

/** A first line that puts a connection in line mode: a port number alone, or `PORT CONNECT`. */
export function isLineModeOpening(firstLine: string): boolean {
  const m = OPENING_PORT.exec(stripLineEnd(firstLine).trim());
  return m !== null && isValidPort(Number(m[1]));
}

/** The lines PeerChat writes first on a connection to a line-mode peer, each answered in turn. */
export function lineModeOpening(self: SelfIdentity): string[] {
  return [`${self.port}\n`, 'CONNECT\n'];
}

/** `IP:PORT NAME TEXT\n`; a newline inside the text would end the line early, so it becomes a space. */
export function formatLine(self: SelfIdentity, text: string): string {
  return `${classicHeader(self.ip, self.port, self.name)}${text.replace(/\r?\n|\r/g, ' ')}\n`;
}

export const lineModeFamily: Family = {
  name: 'line mode',
  dialects: ['lineMode'],
  detect: (_text, ctx) => ctx.lineMode === true,
  parse(text): FamilyResult {
    const line = stripLineEnd(text).trim();
    const m = OPENING_PORT.exec(line);
    if (m) {
      const port = Number(m[1]);
      if (!isValidPort(port)) return { ok: false, reason: `line mode: bad port "${m[1]}"` };
      return { ok: true, fields: { dialect: 'lineMode', statedPort: port, text: line, kind: 'connectRequest', keyword: 'PORT', revealsDialect: true } };
    }
    if (line === 'CONNECT') {
      return { ok: true, fields: { dialect: 'lineMode', text: line, kind: 'connectRequest', keyword: 'CONNECT', revealsDialect: true } };
    }
    const r = parseHeaderForm(text, 'line mode');
    if (!r.ok) return r;
    return { ok: true, fields: { ...r.fields, dialect: 'lineMode', revealsDialect: true } };
  },
  format: (_dialect, self, text) => formatLine(self, text),
};
