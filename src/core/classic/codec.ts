/**
 * The standard classic format: `<IP>:<PORT> <NAME> <MESSAGE>`, one message per TCP connection.
 * Parsing never throws: it returns a message or a drop with the reason.
 */
import { isValidHost, isValidPort } from '../address';

export type ClassicKind = 'chat' | 'ping' | 'exit' | 'greeting';

export interface ClassicMessage {
  /** Host and port the header claims (the sender's listening address, usually). */
  headerHost: string;
  headerPort: number;
  name: string;
  text: string;
  kind: ClassicKind;
}

export type ParseResult = { ok: true; message: ClassicMessage } | { ok: false; reason: string };

export const GREETINGS: readonly string[] = ['Connected', 'Hello, I am connecting!'];
export const PING_TEXT = 'PING';
export const EXIT_TEXT = 'exit';
/** What PeerChat sends when it connects to a peer. */
export const GREETING_TEXT = 'Hello, I am connecting!';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Classifies a message text. Trailing line ends are ignored: several senders append one. */
export function classifyText(text: string): ClassicKind {
  const t = text.replace(/[\r\n]+$/, '').trim();
  if (t === PING_TEXT) return 'ping';
  if (t.toLowerCase() === EXIT_TEXT) return 'exit';
  if (GREETINGS.includes(t)) return 'greeting';
  return 'chat';
}

/** Decodes bytes as strict UTF-8; undefined for invalid input. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Parses one classic message as the classroom receivers do: `split(" ", 2)`. */
export function parseClassic(bytes: Uint8Array): ParseResult {
  if (bytes.length === 0) return { ok: false, reason: 'empty connection' };
  const raw = decodeUtf8(bytes);
  if (raw === undefined) return { ok: false, reason: 'not valid UTF-8 text' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000e-\u001f]/.test(raw)) return { ok: false, reason: 'binary data (control characters)' };
  const input = raw.replace(/^\s+/, '');
  const s1 = input.indexOf(' ');
  if (s1 < 0) return { ok: false, reason: 'no header: expected "IP:PORT NAME MESSAGE"' };
  const addr = input.slice(0, s1);
  const colon = addr.lastIndexOf(':');
  if (colon <= 0) return { ok: false, reason: `bad address "${clip(addr)}": expected IP:PORT` };
  let host = addr.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const portText = addr.slice(colon + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!isValidHost(host)) return { ok: false, reason: `bad address "${clip(addr)}": "${clip(host)}" is not a host` };
  if (!isValidPort(port)) return { ok: false, reason: `bad port "${clip(portText)}" in "${clip(addr)}"` };
  const rest = input.slice(s1 + 1);
  const s2 = rest.indexOf(' ');
  const name = s2 < 0 ? rest.replace(/[\r\n]+$/, '') : rest.slice(0, s2);
  if (!name || /\s/.test(name)) return { ok: false, reason: 'missing name' };
  const text = s2 < 0 ? '' : rest.slice(s2 + 1).replace(/[\r\n]+$/, '');
  if (text.trim() === '') return { ok: false, reason: 'missing message text' };
  return { ok: true, message: { headerHost: host, headerPort: port, name, text, kind: classifyText(text) } };
}

/** The header every classic write starts with. */
export function classicHeader(ip: string, port: number, name: string): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `${host}:${port} ${name} `;
}

export function formatClassic(ip: string, port: number, name: string, text: string): string {
  return classicHeader(ip, port, name) + text;
}

function clip(s: string, n = 40): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
