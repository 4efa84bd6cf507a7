/**
 * The classroom families PeerChat reads and writes, in the order they are asked, with their
 * names and labels.
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
import { bracketFamily } from './bracket';
import { handshakeFamily } from './handshake';
import { headerlessFamily } from './headerless';
import { jsonFamily } from './json';
import { lineModeFamily } from './lineMode';
import { pipeFamily } from './pipe';
import { standardFamily } from './standard';
import { DialectName, Family } from './types';

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

/** The family that writes a dialect. */
export function familyOf(dialect: DialectName): Family {
  return FAMILY_OF.get(dialect) ?? standardFamily;
}

const FAMILY_OF: ReadonlyMap<DialectName, Family> = new Map(FAMILIES.flatMap((f) => f.dialects.map((d) => [d, f] as const)));
