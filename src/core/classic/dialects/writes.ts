/** Writing a text in a peer's own dialect, split into writes its receiver can read whole. */
import { splitAtCodePoints } from '../../text';
import { lineModeOpening } from './lineMode';
import { familyOf } from './registry';
import { DialectName, SelfIdentity } from './types';

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
  return familyOf(dialect).format(dialect, self, text, { now: opts.now ?? new Date() });
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
  let pieces: string[];
  try {
    pieces = splitAtCodePoints(text, (piece) => Buffer.byteLength(fmt(piece), 'utf8') <= maxBytes);
  } catch {
    throw new RangeError(`the ${dialect} form leaves no room for text in ${maxBytes}-byte writes`);
  }
  return pieces.filter((p) => p.trim() !== '').map(fmt);
}
