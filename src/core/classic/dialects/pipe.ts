/**
 * Pipe form: `LISTENING_PORT:P|TEAM_NAME:T|MSG`. No address: the IP comes from the socket, the
 * listening port from the first field. The message is everything after the second `|`.
 */
import { isValidPort } from '../../address';
import { classifyText } from '../codec';
import { clip, stripLineEnd } from './common';
import { Family, FamilyResult } from './types';

export const PIPE_PREFIX = 'LISTENING_PORT:';

export const pipeFamily: Family = {
  name: 'pipe',
  dialects: ['pipe'],
  detect: (text) => text.replace(/^\s+/, '').startsWith(PIPE_PREFIX),
  parse(text): FamilyResult {
    const s = text.replace(/^\s+/, '');
    const p1 = s.indexOf('|');
    const p2 = p1 < 0 ? -1 : s.indexOf('|', p1 + 1);
    if (p1 < 0 || p2 < 0) return { ok: false, reason: 'pipe form: expected "LISTENING_PORT:P|TEAM_NAME:T|MSG"' };
    const portText = s.slice(PIPE_PREFIX.length, p1).trim();
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!isValidPort(port)) return { ok: false, reason: `pipe form: bad port "${clip(portText)}"` };
    const team = s.slice(p1 + 1, p2);
    if (!team.startsWith('TEAM_NAME:')) return { ok: false, reason: 'pipe form: expected "TEAM_NAME:" after the port' };
    const name = team.slice('TEAM_NAME:'.length).trim();
    if (!name) return { ok: false, reason: 'pipe form: missing name' };
    const msg = stripLineEnd(s.slice(p2 + 1));
    if (msg.trim() === '') return { ok: false, reason: 'pipe form: missing message text' };
    return { ok: true, fields: { dialect: 'pipe', statedPort: port, name, text: msg, kind: classifyText(msg), revealsDialect: true } };
  },
  /** A `|` in the name would move the message boundary, so it becomes `_`. */
  format: (_dialect, self, text) => `${PIPE_PREFIX}${self.port}|TEAM_NAME:${self.name.replace(/\|/g, '_')}|${text}`,
};
