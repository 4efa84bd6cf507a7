/**
 * The tolerant classic reader and writer: one entry point, `parseAny`, turns the bytes of one
 * message (as the framer cut them) into a normalised message or a drop with the reason, whatever
 * classroom program sent them; `formatFor` writes a text in a peer's own dialect; `replyFor` says
 * what a sender waits for.
 *
 * ## Which family reads an input
 * Before any family: zero bytes are a liveness probe (bare connect); bytes that are not strict
 * UTF-8, or hold control characters other than tab and line ends, are dropped. Then the families
 * are asked in this fixed order, and the first whose prefix matches reads the input (if it cannot,
 * the input is dropped with its reason; no later family is tried):
 *
 * 1. line mode  — only on a connection the framer put in line mode (its first line was a port
 *                 number). That is a property of the connection, not of the text: on such a
 *                 connection a line `5000` is an opening, elsewhere it is bare text.
 * 2. json       — starts with `{"key":`. Nothing else can: names have no colon, and a headerless
 *                 `NAME : text` has a space before its colon.
 * 3. bracket    — starts with `<host:port>`. The standard form has no `<`.
 * 4. pipe       — starts with `LISTENING_PORT:`; its first token has no port, so the standard
 *                 form would not claim it anyway, but the explicit prefix says it is this family.
 * 5. handshake  — the whole text is a stand-alone keyword (`DISCONNECT`, `Connection Request`,
 *                 `CONNECTED`, ...) or `IP:PORT CONNECT_REQUEST`. Before standard, because the
 *                 two-token request begins with a standard header and would be dropped there for
 *                 lacking a text; before headerless, which would show the keywords as chat.
 * 6. standard   — starts with `IP:PORT` (an IP, `[IPv6]`, a dotted name or `localhost`) and white
 *                 space. The `connect`/`connected`/`connect_ack` keywords are this form.
 * 7. headerless — everything else (`Team : msg`, `CONNECT:PORT`, bare text). No prefix: last.
 *
 * Exact, distinct prefixes make every input belong to exactly one family. The one real overlap
 * is bare text that happens to begin with an address (`10.0.0.1:80 is down`): it reads as the
 * standard form, which fourteen of twenty-three programs speak.
 */
import { isLoopback, isValidHost, normalizeIp, PeerAddress, tryParseAddress } from '../../address';
import { bracketFamily } from './bracket';
import { clip, hasControlCharacters } from './common';
import { HANDSHAKE_ANSWERS, handshakeFamily } from './handshake';
import { headerlessFamily } from './headerless';
import { jsonFamily } from './json';
import { LINE_ACK, lineModeFamily, lineModeOpening } from './lineMode';
import { pipeFamily } from './pipe';
import { formatStandard, standardFamily } from './standard';
import {
  ClassicReply,
  DialectName,
  Family,
  FamilyFields,
  NormalizedClassic,
  ParseAnyResult,
  ParseContext,
  SelfIdentity,
} from './types';

export * from './types';
export { LINE_ACK, isLineModeOpening, lineModeOpening } from './lineMode';
export { bracketTimestamp } from './bracket';
export { CONNECT_KEYWORDS } from './common';
export { HANDSHAKE_ANSWERS, HANDSHAKE_KEYWORDS } from './handshake';

/** The families in the order they are asked (see the top of this file for why). */
export const FAMILIES: readonly Family[] = Object.freeze([
  lineModeFamily,
  jsonFamily,
  bracketFamily,
  pipeFamily,
  handshakeFamily,
  standardFamily,
  headerlessFamily,
]);

/** The dialect PeerChat writes to a peer it has learned nothing about. */
export const DEFAULT_DIALECT: DialectName = 'standard';

/** Short descriptions for tooltips, pickers and logs. */
export const DIALECT_LABELS: Readonly<Record<DialectName, string>> = Object.freeze({
  standard: 'standard (IP:PORT NAME MESSAGE)',
  lineMode: 'line mode (persistent, one line per message, acknowledged)',
  bracket: 'bracket (<IP:PORT> NAME MESSAGE)',
  bracketAt: 'bracket with @ (<IP:PORT> @ <NAME> / MESSAGE / <end>)',
  bracketDated: 'bracket with date (<IP:PORT> [date] @ <NAME> / MESSAGE)',
  pipe: 'pipe (LISTENING_PORT:P|TEAM_NAME:T|MESSAGE)',
  json: 'JSON ({"type":"message","content":…})',
  headerless: 'headerless (NAME : MESSAGE)',
  handshake: 'handshake keywords (chat in the standard form)',
});

const FAMILY_OF: ReadonlyMap<DialectName, Family> = new Map(FAMILIES.flatMap((f) => f.dialects.map((d) => [d, f] as const)));

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one classic message, whatever program sent it. Never throws: anything it cannot read
 * becomes `{ ok: false, reason }`, to be logged with the remote address.
 */
export function parseAny(bytes: Uint8Array, ctx: ParseContext): ParseAnyResult {
  try {
    return parseAnyUnguarded(bytes, ctx);
  } catch (e) {
    // Not expected (the property tests look for it); one odd input must never take the node down.
    return { ok: false, reason: `internal error while reading a classic message: ${clip(String((e as Error)?.message ?? e), 80)}` };
  }
}

function parseAnyUnguarded(bytes: Uint8Array, ctxIn: ParseContext): ParseAnyResult {
  const ctx: ParseContext = { ...ctxIn, remoteIp: normalizeIp(ctxIn.remoteIp) };
  const lineReply: ClassicReply | undefined = ctx.lineMode ? { sameSocket: LINE_ACK } : undefined;
  const drop = (reason: string, dialect?: DialectName): ParseAnyResult => ({
    ok: false,
    reason,
    ...(dialect ? { dialect } : {}),
    ...(lineReply ? { reply: lineReply } : {}),
  });
  if (bytes.length === 0) {
    return {
      ok: true,
      message: { remoteIp: ctx.remoteIp, headerIsSelf: false, text: '', kind: 'probe', dialect: ctx.lineMode ? 'lineMode' : DEFAULT_DIALECT, revealsDialect: false },
    };
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return drop('not valid UTF-8 text');
  }
  if (text.startsWith('\ufeff')) text = text.slice(1);
  if (hasControlCharacters(text)) return drop('binary data (control characters)');
  if (text.trim() === '') return drop('blank message');
  for (const family of FAMILIES) {
    if (!family.detect(text, ctx)) continue;
    const r = family.parse(text, ctx);
    if (!r.ok) return drop(r.reason, family.dialects[0]);
    const message = normalize(r.fields, ctx);
    if (ctx.self) {
      const reply = replyFor(message, ctx.self);
      if (reply) message.reply = reply;
    }
    return { ok: true, message };
  }
  return drop('no family reads it'); // unreachable: headerless reads everything
}

function selfOf(ctx: ParseContext): { ip: string; port: number } | undefined {
  const a = ctx.selfAddress ? tryParseAddress(ctx.selfAddress) : undefined;
  if (a) return { ip: a.host, port: a.port };
  return ctx.self ? { ip: ctx.self.ip, port: ctx.self.port } : undefined;
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * Whether host:port is this node: its advertised address, or — for a message from this machine
 * (loopback socket) — a loopback or unspecified host at its port (only one program here can hold
 * that port).
 */
function isSelfAddress(host: string, port: number, ctx: ParseContext): boolean {
  const me = selfOf(ctx);
  if (!me || port !== me.port) return false;
  if (host.toLowerCase() === me.ip.toLowerCase()) return true;
  return (isLoopback(host) || isUnspecified(host)) && isLoopback(ctx.remoteIp);
}

function normalize(f: FamilyFields, ctx: ParseContext): NormalizedClassic {
  const hasHeader = f.headerHost !== undefined && f.headerPort !== undefined;
  const headerIsSelf = hasHeader ? isSelfAddress(f.headerHost!, f.headerPort!, ctx) : false;
  const listenPort = f.statedPort ?? (hasHeader && !headerIsSelf ? f.headerPort : undefined);
  const m: NormalizedClassic = {
    remoteIp: ctx.remoteIp,
    headerIsSelf,
    text: f.text,
    kind: f.kind,
    dialect: f.dialect,
    revealsDialect: f.revealsDialect,
  };
  if (hasHeader) {
    m.headerHost = f.headerHost;
    m.headerPort = f.headerPort;
  }
  if (listenPort !== undefined) m.listenPort = listenPort;
  if (f.name !== undefined) m.name = f.name;
  if (f.keyword !== undefined) m.keyword = f.keyword;
  const peer = attribute(f, ctx, headerIsSelf, listenPort);
  if (peer) m.peer = peer;
  return m;
}

/**
 * Who the message is from (or, for an exit, who left), keyed as the guide says: the socket IP and
 * the listening port; never this node.
 */
function attribute(f: FamilyFields, ctx: ParseContext, headerIsSelf: boolean, listenPort: number | undefined): PeerAddress | undefined {
  const remote = ctx.remoteIp;
  const usableHeader = f.headerHost !== undefined && f.headerPort !== undefined && !headerIsSelf;
  let host = remote;
  let port = listenPort;
  if (f.kind === 'exit' && usableHeader && f.statedPort === undefined) {
    // The address, not the name, says who left: a program that relays an exit keeps the leaving
    // peer's address and writes its own name. A loopback header from a LAN socket is no address.
    host = isLoopback(f.headerHost!) && !isLoopback(remote) ? remote : f.headerHost!;
    port = f.headerPort;
  } else if (usableHeader && isLoopback(remote)) {
    // A program on this machine binds the IP it advertises (often 127.0.1.1, or the LAN IP
    // while it dials us on 127.0.0.1): only its header IP reaches it.
    host = f.headerHost!;
  }
  if (port === undefined) return undefined;
  if (!isValidHost(host)) host = remote; // a header host that is no host: the socket's IP stands
  if (isSelfAddress(host, port, ctx)) return undefined;
  return { host, port };
}

/** The acknowledgement PeerChat writes to a standard-form sender that keeps its socket open. */
export function ackText(self: SelfIdentity): string {
  return `[ACK] Message received from ${self.port}`;
}

/**
 * What the sender of `message` waits for, if anything; `self` is this node as its headers name it.
 *
 * - line mode: `Message received\n` to every line (the sender blocks until it reads it);
 * - `IP:PORT CONNECT_REQUEST` → `CONNECTED`; `Connection Request` → `Connection Acknowledged`;
 *   `DISCONNECT` → `DISCONNECT_ACK`;
 * - `IP:PORT NAME connect` → `IP:PORT NAME connected` on the same socket while the sender keeps it
 *   open, else a new connection to the sender carrying `IP:PORT NAME connect_ack`;
 * - any other standard-form message → `[ACK] Message received from PORT`, for the senders that
 *   wait for a reply on the same socket (written only while the socket is open);
 * - acknowledgements, probes and the other forms (one-shot senders) → nothing.
 *
 * No answer ends with a newline except line mode's: a trailing newline breaks exact matching.
 */
export function replyFor(message: NormalizedClassic, self: SelfIdentity): ClassicReply | undefined {
  if (message.kind === 'probe' || message.kind === 'ack') return undefined;
  switch (message.dialect) {
    case 'lineMode':
      return { sameSocket: LINE_ACK };
    case 'handshake': {
      const k = message.keyword;
      return k !== undefined && Object.prototype.hasOwnProperty.call(HANDSHAKE_ANSWERS, k) ? { sameSocket: HANDSHAKE_ANSWERS[k] } : undefined;
    }
    case 'standard': {
      if (message.kind === 'connect') {
        const r: ClassicReply = { sameSocket: formatStandard(self, 'connected') };
        if (message.peer) r.dialBack = { host: message.peer.host, port: message.peer.port, text: formatStandard(self, 'connect_ack') };
        return r;
      }
      return { sameSocket: ackText(self) };
    }
    case 'bracket':
    case 'bracketAt':
    case 'bracketDated':
    case 'pipe':
    case 'json':
    case 'headerless':
      return undefined;
    default: {
      const never: never = message.dialect;
      return never;
    }
  }
}

export interface FormatForOptions {
  /** Clock for the dated bracket form; defaults to now. */
  now?: Date;
}

/**
 * The exact text of one write of `text` to a peer of `dialect` (encode it as UTF-8). It does not
 * split: use `formatWritesFor` for texts that may exceed a receiver's buffer. Every form carries
 * this node's own address (the one a reply needs), never the recipient's.
 *
 * - standard:     `IP:PORT NAME text` (no trailing newline)
 * - lineMode:     `IP:PORT NAME text\n` (newlines in the text become spaces); first write
 *                 `openingFor('lineMode', self)` on a new connection
 * - bracket:      `<IP:PORT> NAME text`
 * - bracketAt:    `<IP:PORT> @ <NAME>\ntext\n<end>`
 * - bracketDated: `<IP:PORT> [YYYY-mm-dd HH:MM:SS] @ <NAME>\ntext\n`
 * - pipe:         `LISTENING_PORT:PORT|TEAM_NAME:NAME|text`
 * - json:         `{"type":"message","content":"<IP:PORT> <NAME> text","sender_name":"NAME","sender_port":PORT}`
 * - headerless:   `NAME : text`
 * - handshake:    `IP:PORT CONNECT_REQUEST` for `CONNECT_REQUEST`, a stand-alone keyword as it is,
 *                 anything else in the standard form
 */
export function formatFor(dialect: DialectName, self: SelfIdentity, text: string, opts: FormatForOptions = {}): string {
  const family = FAMILY_OF.get(dialect) ?? standardFamily;
  return family.format(dialect, self, text, { now: opts.now ?? new Date() });
}

/** Lines to write first on a new connection to a peer of this dialect (line mode's `PORT`,
 *  `CONNECT`, each answered with `Message received`); none for the others. */
export function openingFor(dialect: DialectName, self: SelfIdentity): string[] {
  return dialect === 'lineMode' ? lineModeOpening(self) : [];
}

/**
 * `text` as the writes to send to a peer of `dialect`: each the formatted form of one piece, at
 * most `maxBytes` UTF-8 bytes (1023: C++ receivers read that much), cut only between code points
 * (one Python receiver stops for good after a decode error) and preferably after a space in the
 * last quarter of a piece. Pieces that would be blank are left out (some receivers reject an
 * empty text), so a blank text gives no write at all.
 * @throws RangeError when the form alone leaves no room for text within maxBytes.
 */
export function formatWritesFor(dialect: DialectName, self: SelfIdentity, text: string, maxBytes: number, opts: FormatForOptions = {}): string[] {
  const now = opts.now ?? new Date();
  const fmt = (piece: string) => formatFor(dialect, self, piece, { now });
  const cps = Array.from(text);
  const size = (s: number, e: number) => Buffer.byteLength(fmt(cps.slice(s, e).join('')), 'utf8');
  const writes: string[] = [];
  let start = 0;
  while (start < cps.length) {
    if (size(start, start + 1) > maxBytes) {
      throw new RangeError(`the ${dialect} form leaves no room for text in ${maxBytes}-byte writes`);
    }
    let end: number;
    if (size(start, cps.length) <= maxBytes) {
      end = cps.length;
    } else {
      // Largest end that fits: the size only grows as the piece does.
      let lo = start + 1;
      let hi = cps.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (size(start, mid) <= maxBytes) lo = mid;
        else hi = mid - 1;
      }
      end = lo;
      const floor = start + Math.floor((end - start) * 0.75);
      for (let i = end; i > floor; i--) {
        if (cps[i - 1] === ' ') {
          end = i;
          break;
        }
      }
    }
    const piece = cps.slice(start, end).join('');
    if (piece.trim() !== '') writes.push(fmt(piece));
    start = end;
  }
  return writes;
}
