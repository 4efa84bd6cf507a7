/** Small pieces the dialect files share: the header address, keyword classification. */
import * as net from 'node:net';
import { formatHostPort, isValidHost, isValidPort } from '../../address';
import { classifyText } from '../codec';
import { NormalizedKind } from './types';
import { clip } from '../../text';

// One rule each, shared with the rest of the node.
export { formatHostPort as formatAddress } from '../../address';
export { clip, hasControlCharacters } from '../../text';

/**
 * A header address as classroom programs write it: an IPv4 address, `[IPv6]`, a dotted host name
 * or `localhost`, then `:` and a decimal port. A single-label word is not taken for a host, so that
 * bare text such as `Time:10 is fine` is not read as a header.
 */
export const ADDRESS_SOURCE =
  '(\\[[0-9A-Fa-f:.]+\\]|localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+):(\\d{1,5})';

/** An address token at the start of a text, followed by white space or the end. */
export const LEADING_ADDRESS = new RegExp(`^${ADDRESS_SOURCE}(?=\\s|$)`);

/** A whole string that is one address. */
export const WHOLE_ADDRESS = new RegExp(`^${ADDRESS_SOURCE}$`);

export type AddressCheck = { ok: true; host: string; port: number } | { ok: false; reason: string };

/** Validates the host and port captured by ADDRESS_SOURCE. */
export function checkAddress(rawHost: string, rawPort: string): AddressCheck {
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  const port = Number(rawPort);
  if (!isValidHost(host) || (rawHost.startsWith('[') && !net.isIPv6(host))) {
    return { ok: false, reason: `"${clip(rawHost)}" is not a host` };
  }
  if (!isValidPort(port)) return { ok: false, reason: `bad port "${clip(rawPort)}"` };
  return { ok: true, host, port };
}

/** The header every standard and line-mode write starts with: `IP:PORT NAME `. */
export function classicHeader(ip: string, port: number, name: string): string {
  return `${formatHostPort(ip, port)} ${name} `;
}

/** Removes the line end several senders append (`\n`, `\r\n`, several of them). */
export function stripLineEnd(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}

/** The three-token `connect` keywords, matched exactly (case-sensitive, as their programs do). */
export const CONNECT_KEYWORDS: Readonly<Record<string, NormalizedKind>> = Object.freeze({
  connect: 'connect',
  connected: 'ack',
  connect_ack: 'ack',
});

/**
 * The kind of a text carried in a header form (standard, line mode): the `connect` keywords,
 * then the classic ones (`PING`, `exit` in any case, the greetings).
 */
export function classifyHeaderText(text: string): { kind: NormalizedKind; keyword?: string } {
  const t = stripLineEnd(text).trim();
  const k = Object.prototype.hasOwnProperty.call(CONNECT_KEYWORDS, t) ? CONNECT_KEYWORDS[t] : undefined;
  if (k) return { kind: k, keyword: t };
  return { kind: classifyText(text) };
}
