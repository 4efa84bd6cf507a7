/**
 * What a PeerChat node announces about itself, and the one place that reads an announcement from
 * the outside (an mDNS TXT record, a file in the per-machine folder). Pure: no I/O, no clock.
 * Every byte read here came from the network or from another process, so it is hostile until
 * checked: sizes are bounded, the id, port and version are validated, and the name is cleaned.
 */
import { isIP } from 'node:net';
import { isValidPort } from '../address';
import { PROTOCOL_VERSION } from '../native/frames';
import { cleanName } from '../text';

/** Everything a node tells others about itself: nothing more is ever announced. */
export interface Announcement {
  /** The native protocol version it speaks. */
  v: number;
  /** Its node id (hash of its public key): a claim until a TLS handshake proves it. */
  nodeId: string;
  name: string;
  /** The port it listens on. */
  port: number;
}

/** A file in the per-machine folder: an announcement plus where it listens and which process it is. */
export interface RegistryEntry extends Announcement {
  /** The host that reaches it from this machine (127.0.0.1 for a node bound to every interface). */
  host: string;
  pid: number;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const NODE_ID = /^[0-9a-f]{64}$/;
/** Longest name read from an announcement, in characters (names are at most 64 when set). */
const MAX_NAME = 64;
/** A TXT string is at most 255 bytes (one length byte). */
const MAX_TXT_STRING = 255;

export function isNodeId(s: unknown): s is string {
  return typeof s === 'string' && NODE_ID.test(s);
}

/**
 * A peer-supplied name made safe to show and usable as a token: nothing invisible (controls,
 * zero-width, bidi overrides), no spaces or colons (classic headers split on them), bounded.
 */
export function cleanAnnouncedName(raw: string): string {
  return cleanName(raw.replace(/[\s:]+/g, '_'), MAX_NAME);
}

/** Checks the fields every announcement carries; the name is cleaned, never refused. */
export function checkAnnouncement(raw: { v?: unknown; nodeId?: unknown; name?: unknown; port?: unknown }): Checked<Announcement> {
  const v = typeof raw.v === 'string' && /^\d{1,4}$/.test(raw.v) ? Number(raw.v) : raw.v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 9999) return { ok: false, error: 'no protocol version' };
  if (v !== PROTOCOL_VERSION) return { ok: false, error: `protocol version ${v}, not ${PROTOCOL_VERSION}` };
  if (!isNodeId(raw.nodeId)) return { ok: false, error: 'no valid node id' };
  const port = typeof raw.port === 'string' && /^\d{1,5}$/.test(raw.port) ? Number(raw.port) : raw.port;
  if (typeof port !== 'number' || !isValidPort(port)) return { ok: false, error: 'no valid port' };
  const name = typeof raw.name === 'string' ? cleanAnnouncedName(raw.name.slice(0, MAX_NAME * 2)) : '?';
  return { ok: true, value: { v, nodeId: raw.nodeId, name, port } };
}

// ---------------------------------------------------------------- DNS-SD TXT record

/** The TXT strings of our DNS-SD service: `v=2`, `id=<64 hex>`, `name=<name>`. */
export function toTxt(a: Announcement): Buffer[] {
  const name = Buffer.from(`name=${a.name}`, 'utf8');
  return [Buffer.from(`v=${a.v}`), Buffer.from(`id=${a.nodeId}`), name.length <= MAX_TXT_STRING ? name : Buffer.from(`name=${cleanName(a.name, 40)}`, 'utf8')];
}

/**
 * The announced fields of a TXT record (dns-packet gives its strings as Buffers, a Buffer or a
 * string). Unknown keys are skipped; the first value of a key wins (RFC 6763 §6.4).
 */
export function fromTxt(data: unknown, port: unknown, maxBytes: number): Checked<Announcement> {
  const strings = Array.isArray(data) ? data : [data];
  if (strings.length > 32) return { ok: false, error: 'too many TXT strings' };
  const fields = new Map<string, string>();
  let total = 0;
  for (const s of strings) {
    const buf = Buffer.isBuffer(s) ? s : typeof s === 'string' ? Buffer.from(s, 'utf8') : undefined;
    if (!buf) return { ok: false, error: 'a TXT string that is not bytes' };
    total += buf.length;
    if (buf.length > MAX_TXT_STRING || total > maxBytes) return { ok: false, error: 'TXT record too large' };
    const text = buf.toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0) continue;
    const key = text.slice(0, eq).toLowerCase();
    if (!fields.has(key)) fields.set(key, text.slice(eq + 1));
  }
  return checkAnnouncement({ v: fields.get('v'), nodeId: fields.get('id'), name: fields.get('name'), port });
}

// ---------------------------------------------------------------- the per-machine folder

/** The file a node writes about itself into the per-machine folder. */
export function encodeRegistryEntry(e: RegistryEntry): string {
  return JSON.stringify({ v: e.v, nodeId: e.nodeId, name: e.name, port: e.port, host: e.host, pid: e.pid }) + '\n';
}

/** Reads such a file (its text, already bounded by the caller to maxAnnouncementBytes). */
export function decodeRegistryEntry(text: string): Checked<RegistryEntry> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, error: 'not an object' };
  const r = raw as Record<string, unknown>;
  const a = checkAnnouncement(r);
  if (!a.ok) return a;
  if (typeof r.host !== 'string' || r.host.length > 64 || !isIP(r.host)) return { ok: false, error: 'no valid host' };
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid) || r.pid < 1 || r.pid > 2 ** 31) return { ok: false, error: 'no valid process id' };
  return { ok: true, value: { ...a.value, host: r.host, pid: r.pid } };
}

/** The file name of a node's entry: its id, so a node has exactly one file. */
export function registryFileName(nodeId: string): string {
  return `${nodeId}.json`;
}
