import * as net from 'node:net';
import * as os from 'node:os';
import { PeerChatError } from './errors';

/** A peer's listening address. `key` ("IP:PORT", IPv6 in brackets) identifies it in the table. */
export interface PeerAddress {
  host: string;
  port: number;
}

export function isValidPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** A host name or IP that is plausible to dial: an IP, or a DNS-like name. */
export function isValidHost(host: string): boolean {
  if (net.isIP(host)) return true;
  // Digits and dots only but not an IP ("999.1.1.1", "1.2.3"): not a name either.
  if (/^[\d.]+$/.test(host)) return false;
  return /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(host);
}

/** Strips the IPv4-mapped prefix Node gives dual-stack sockets ("::ffff:127.0.0.1"). */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

/** host:port with an IPv6 host in brackets: the one way an address is written anywhere. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The key of a peer in the table ("IP:PORT", IPv6 in brackets). */
export function addressKey(a: PeerAddress): string {
  return formatHostPort(a.host, a.port);
}

/** Parses "host:port" or "[v6]:port"; returns undefined when it is not one. */
export function tryParseAddress(text: string): PeerAddress | undefined {
  const s = text.trim();
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^\s:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const host = m[1];
  const port = Number(m[2]);
  if (!isValidPort(port) || !isValidHost(host)) return undefined;
  return { host, port };
}

/** Like tryParseAddress, but says what is wrong. */
export function parseAddress(text: string): PeerAddress {
  const a = tryParseAddress(text);
  if (a) return a;
  const s = text.trim();
  let why = 'expected host:port, for example 192.168.1.20:47100';
  const idx = s.lastIndexOf(':');
  if (idx > 0) {
    const port = Number(s.slice(idx + 1));
    if (!isValidPort(port)) why = `port must be a number from 1 to 65535, not "${s.slice(idx + 1)}"`;
    else why = `"${s.slice(0, idx)}" is not a valid host name or IP`;
  }
  throw new PeerChatError('ERR_BAD_ADDRESS', `"${s}" is not an address: ${why}`);
}

/** The address written into classic headers: the first non-internal IPv4 of this machine. */
export function defaultAdvertisedIp(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.family === 'IPv4' && !info.internal) return info.address;
    }
  }
  return '127.0.0.1';
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === 'localhost';
}

/** 0.0.0.0 or ::, "every interface": as a header host it can only mean the sender's own machine. */
export function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}
