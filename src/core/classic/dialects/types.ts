/**
 * Shared shapes of the classic dialects: what a family reads out of one message, the normalised
 * message `parseAny` returns, and who "we" are when a header or a reply needs it.
 */
import { PeerAddress } from '../../address';
import type { OwnAddresses } from '../../self';

/**
 * The wire forms PeerChat reads and writes. One peer speaks one of them; PeerChat learns it from
 * what the peer sends (when the message reveals it) and writes to the peer in it.
 *
 * - `standard`     `IP:PORT NAME TEXT`, one message per connection, no trailing newline
 * - `lineMode`     a persistent connection opened with `PORT` and `CONNECT` lines, then
 *                  `IP:PORT NAME TEXT\n` lines, each answered with `Message received`
 * - `bracket`      `<IP:PORT> NAME TEXT`
 * - `bracketAt`    `<IP:PORT> @ <NAME>\nTEXT\n<end>`
 * - `bracketDated` `<IP:PORT> [YYYY-mm-dd HH:MM:SS] @ <NAME>\nTEXT\n`
 * - `pipe`         `LISTENING_PORT:P|TEAM_NAME:T|TEXT`
 * - `json`         `{"type":"message","content":"<IP:PORT> <NAME> TEXT","sender_name":…,"sender_port":…}`
 * - `headerless`   `NAME : TEXT` (read also: bare text, `CONNECT:PORT`)
 * - `handshake`    the request/answer keywords that stand alone on a connection:
 *                  `IP:PORT CONNECT_REQUEST`, `Connection Request`, `DISCONNECT` and their answers
 */
export type DialectName =
  | 'standard'
  | 'lineMode'
  | 'bracket'
  | 'bracketAt'
  | 'bracketDated'
  | 'pipe'
  | 'json'
  | 'headerless'
  | 'handshake';

export const DIALECT_NAMES: readonly DialectName[] = [
  'standard',
  'lineMode',
  'bracket',
  'bracketAt',
  'bracketDated',
  'pipe',
  'json',
  'headerless',
  'handshake',
];

/** Runtime guard for a dialect name read from settings, storage or the CLI. */
export function isDialectName(v: unknown): v is DialectName {
  return typeof v === 'string' && (DIALECT_NAMES as readonly string[]).includes(v);
}

/**
 * What a message means, whatever its form.
 *
 * - `chat`           text to show
 * - `ping`           `PING`: liveness probe; show nothing
 * - `exit`           `exit` (any case): the peer named by the header address leaves
 * - `greeting`       `Connected` / `Hello, I am connecting!` ("connect to peers")
 * - `connect`        `IP:PORT NAME connect`: wants `IP:PORT NAME connected` on the same socket
 *                    while it is open, or a new connection carrying `IP:PORT NAME connect_ack`
 * - `connectRequest` a request to be let in: `IP:PORT CONNECT_REQUEST`, `Connection Request`,
 *                    `CONNECT:PORT`, and a line-mode connection's opening `PORT` / `CONNECT` lines
 * - `disconnect`     `DISCONNECT`: the sender leaves; wants `DISCONNECT_ACK`
 * - `ack`            an answer: `connected`, `connect_ack`, `CONNECTED`, `Connection Acknowledged`,
 *                    `DISCONNECT_ACK`, `Message received`, `[ACK] Message received from PORT`
 *                    (`keyword` says which). Never answered.
 * - `probe`          a connection that closed without a byte: liveness by bare connect
 */
export type NormalizedKind =
  | 'chat'
  | 'ping'
  | 'exit'
  | 'greeting'
  | 'connect'
  | 'connectRequest'
  | 'disconnect'
  | 'ack'
  | 'probe';

/** This node as it appears in the headers it writes. */
export interface SelfIdentity {
  /** The advertised IP (what goes into headers), not the bind address. */
  ip: string;
  port: number;
  name: string;
}

/** What `parseAny` knows about the connection an input came on. */
export interface ParseContext {
  /** The socket's remote IP (IPv4-mapped prefix already stripped): the one fact that cannot lie. */
  remoteIp: string;
  /** This node's address as written in its headers, `IP:PORT` (defaults to `self`'s). */
  selfAddress?: string;
  /** This node; when given, `message.reply` is filled in with `replyFor(message, self)`. */
  self?: SelfIdentity;
  /** The framer put this connection in line mode: every input is one line of a line-mode sender. */
  lineMode?: boolean;
  /** Every host that reaches this node (its interface IPs, bind address); defaults to the advertised IP. */
  own?: OwnAddresses;
}

/** What to write back, if anything. */
export interface ClassicReply {
  /**
   * Written on the same connection, and only while the sender still has it open: never write to
   * a sender that has already closed.
   */
  sameSocket?: string;
  /**
   * For a sender that closed at once: open a new connection to this address and write `text`
   * (a `connect` that dials back). Only when `sameSocket` could not be written.
   */
  dialBack?: { host: string; port: number; text: string };
}

/** One message, whatever form it came in. */
export interface NormalizedClassic {
  /** The socket's remote IP. */
  remoteIp: string;
  /** The address written in the message, as written: usually the sender's listening address,
   *  sometimes the recipient's (ours), a third party's (a relayed exit) or a loopback one. */
  headerHost?: string;
  headerPort?: number;
  /** The header names this node (the recipient) rather than the sender. */
  headerIsSelf: boolean;
  /** The sender's listening port when known: an explicit field of the form (pipe `LISTENING_PORT`,
   *  JSON `sender_port`, `CONNECT:PORT`, a line-mode opening), else the header's port unless the
   *  header names this node. */
  listenPort?: number;
  /**
   * The peer this message is from, as PeerChat keys it: the socket IP and the listening port
   * (a header's loopback IP is kept when the socket is loopback too, since such programs bind to
   * the IP they advertise). For an `exit` it is the peer who left: the header address, which a
   * relaying program keeps while writing its own name. Undefined when the listening port is
   * unknown or when it would be this node itself: never list yourself as a peer.
   */
  peer?: PeerAddress;
  /** The sender's name, when the form carries one. */
  name?: string;
  /** The text, trailing line end removed; empty only for a probe. */
  text: string;
  kind: NormalizedKind;
  /** The exact keyword behind a handshake kind (`CONNECT_REQUEST`, `Connection Request`,
   *  `DISCONNECT`, `connect`, `connected`, `connect_ack`, `CONNECT`, `PORT`, `CONNECT:PORT`, ...). */
  keyword?: string;
  /** The wire form it came in. */
  dialect: DialectName;
  /**
   * Whether this message shows the form its sender writes chat in, so that a peer's dialect
   * should be learned from it. False for probes, acknowledgements and the stand-alone handshake
   * keywords (any program may send those).
   */
  revealsDialect: boolean;
  /** What the sender waits for, when `ctx.self` was given and it waits for anything. */
  reply?: ClassicReply;
}

/** The result of `parseAny`: a message, or a drop with the reason (to be logged with the remote). */
export type ParseAnyResult =
  | { ok: true; message: NormalizedClassic }
  | {
      ok: false;
      reason: string;
      /** The family that claimed the input, when one did. */
      dialect?: DialectName;
      /** An answer the sender waits for even though its input could not be read (line mode:
       *  every line is answered, or the sender blocks for ever). */
      reply?: ClassicReply;
    };

/** What one family reads out of a text it claimed. */
export interface FamilyFields {
  dialect: DialectName;
  headerHost?: string;
  headerPort?: number;
  /** A listening port the form states explicitly (not the header's). */
  statedPort?: number;
  name?: string;
  text: string;
  kind: NormalizedKind;
  keyword?: string;
  revealsDialect: boolean;
}

export type FamilyResult = { ok: true; fields: FamilyFields } | { ok: false; reason: string };

/** Options of a formatter. */
export interface FormatOptions {
  /** Clock for forms that carry a timestamp. */
  now: Date;
}

/**
 * One wire family: `detect` says whether the input has the family's prefix (cheap, never throws),
 * `parse` reads an input the family claimed, `format` writes a text in each dialect it owns.
 */
export interface Family {
  /** A name for logs and documentation. */
  readonly name: string;
  /** The dialects this family reads and writes. */
  readonly dialects: readonly DialectName[];
  detect(text: string, ctx: ParseContext): boolean;
  parse(text: string, ctx: ParseContext): FamilyResult;
  format(dialect: DialectName, self: SelfIdentity, text: string, opts: FormatOptions): string;
}
