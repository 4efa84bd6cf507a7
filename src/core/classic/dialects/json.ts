/**
 * JSON form: `{"type":"message","content":"<IP:PORT> <TEAM> text","sender_name":…,"sender_port":…}`.
 * The program that speaks it rejects anything else, so it is answered in it. The address inside
 * `content` is the recipient's in that program, so the sender's listening port comes from
 * `sender_port`; the IP from the socket.
 */
import { isValidHost, isValidPort } from '../../address';
import { classifyText } from '../codec';
import { clip, formatAddress, hasControlCharacters, stripLineEnd } from './common';
import { Family, FamilyResult, NormalizedKind } from './types';

/** `<IP:PORT> <TEAM> text`, brackets optional. */
const CONTENT = /^<?(\[[0-9A-Fa-f:.]+\]|[^<>\s:[\]]+):(\d{1,5})>?\s+(?:<([^<>\s]*)>|([^\s]+)) ([\s\S]*)$/;

function typeKind(type: unknown): NormalizedKind | undefined {
  if (typeof type !== 'string') return undefined;
  const t = type.toLowerCase();
  if (t === 'ping') return 'ping';
  if (t === 'exit' || t === 'leave' || t === 'disconnect') return 'exit';
  return undefined;
}

export const jsonFamily: Family = {
  name: 'json',
  dialects: ['json'],
  // `{"key":` (colon right after the key, as json.dumps and JSON.stringify write it): no other
  // family starts with it, and a headerless `NAME : text` cannot, since a name has no colon and
  // the form puts a space before its own.
  detect: (text) => /^\s*\{\s*"[^"\\]*":/.test(text),
  parse(text): FamilyResult {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return { ok: false, reason: `JSON form: not valid JSON (${clip(String((e as Error).message ?? e), 60)})` };
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'JSON form: not an object' };
    const o = v as Record<string, unknown>;
    if (typeof o.content !== 'string') return { ok: false, reason: 'JSON form: no "content" string' };
    let senderPort: number | undefined;
    if (o.sender_port !== undefined && o.sender_port !== null) {
      const n = typeof o.sender_port === 'number' ? o.sender_port : typeof o.sender_port === 'string' && /^\d{1,5}$/.test(o.sender_port.trim()) ? Number(o.sender_port) : NaN;
      if (!isValidPort(n)) return { ok: false, reason: `JSON form: bad sender_port ${clip(JSON.stringify(o.sender_port))}` };
      senderPort = n;
    }
    const senderName = typeof o.sender_name === 'string' && o.sender_name.trim() ? o.sender_name.trim() : undefined;
    const content = o.content;
    const m = CONTENT.exec(content);
    let headerHost: string | undefined;
    let headerPort: number | undefined;
    let contentName: string | undefined;
    let msg = content;
    if (m) {
      const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
      const port = Number(m[2]);
      // The address in "content" is only used when it is one: an invalid host is ignored and the
      // socket IP with sender_port stands instead.
      if (isValidPort(port) && isValidHost(host)) {
        headerHost = host;
        headerPort = port;
        contentName = m[3] ?? m[4];
        msg = m[5];
      }
    }
    msg = stripLineEnd(msg);
    const name = senderName ?? (contentName || undefined);
    if (msg.trim() === '') return { ok: false, reason: 'JSON form: missing message text' };
    if (hasControlCharacters(msg) || (name !== undefined && hasControlCharacters(name))) {
      return { ok: false, reason: 'JSON form: binary data (control characters)' };
    }
    return {
      ok: true,
      fields: {
        dialect: 'json',
        headerHost,
        headerPort,
        statedPort: senderPort,
        name,
        text: msg,
        kind: typeKind(o.type) ?? classifyText(msg),
        revealsDialect: true,
      },
    };
  },
  format: (_dialect, self, text) =>
    JSON.stringify({
      type: 'message',
      // Angle brackets in the name would end its bracket early; sender_name keeps it whole.
      content: `<${formatAddress(self.ip, self.port)}> <${self.name.replace(/[<>]/g, '_')}> ${text}`,
      sender_name: self.name,
      sender_port: self.port,
    }),
};
