/**
 * Text rules, one of each: what counts as a control character, how names and terminal output are
 * cleaned, strict UTF-8 decoding, clipping for log lines, and splitting at code points.
 */

// C0 controls but tab, LF and CR, and DEL: binary data or terminal escapes, never message text.
// eslint-disable-next-line no-control-regex
const TEXT_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

// Everything that must never reach a name: all C0/C1 controls, zero-width and bidi-override
// characters, the BOM. A name shows where a reader trusts it, so nothing invisible survives.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

// What a terminal would act on: controls but tab and LF, C1, bidi overrides.
// eslint-disable-next-line no-control-regex
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** True when a text holds control characters other than tab and line ends. */
export function hasControlCharacters(s: string): boolean {
  return TEXT_CONTROL.test(s);
}

/** A peer-supplied name made safe to show: nothing invisible, bounded, never empty. */
export function cleanName(name: string, max = 64): string {
  return name.replace(INVISIBLE, '').slice(0, max) || '?';
}

/** True when a name holds anything cleanName would remove. */
export function hasInvisible(s: string): boolean {
  INVISIBLE.lastIndex = 0;
  const found = INVISIBLE.test(s);
  INVISIBLE.lastIndex = 0;
  return found;
}

/** Text for a terminal: every character a terminal could act on becomes U+FFFD. */
export function forTerminal(text: string): string {
  return text.replace(TERMINAL_UNSAFE, '\ufffd');
}

/**
 * Text for a terminal that may span lines: forTerminal, and every further line starts with
 * `indent`, so no line of it can pose as a line of its own (a message header `[09:41] Bob …`).
 */
export function forTerminalLines(text: string, indent = '  │ '): string {
  return forTerminal(text).split('\n').join(`\n${indent}`);
}

// Line and paragraph separators: JSON.stringify leaves them raw, and some readers end a line there.
const LINE_SEPARATORS = /[\u2028\u2029]/g;

const jsonEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * JSON for a line a consumer may print raw: JSON.stringify, then whatever a terminal would act on
 * that it leaves raw (DEL, C1, bidi overrides) and the line separators as `\uXXXX` escapes. Those
 * only occur inside strings, so the line parses to the same value.
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value).replace(TERMINAL_UNSAFE, jsonEscape).replace(LINE_SEPARATORS, jsonEscape);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes as strict UTF-8; undefined for invalid input (never a U+FFFD guess). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A text bounded for a log line or an error message. */
export function clip(s: string, n = 40): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * Cuts `text` into the longest pieces for which `fits(piece)` holds, only between code points
 * (one Python receiver stops for good after a decode error), preferring to cut after a space in
 * the last quarter of a piece so words stay whole. `fits` must be monotonic in the piece length.
 * @throws RangeError when not even one code point fits.
 */
export function splitAtCodePoints(text: string, fits: (piece: string) => boolean): string[] {
  const cps = Array.from(text);
  const ok = (s: number, e: number) => fits(cps.slice(s, e).join(''));
  const pieces: string[] = [];
  let start = 0;
  while (start < cps.length) {
    if (!ok(start, start + 1)) throw new RangeError('no room for even one character');
    let end: number;
    if (ok(start, cps.length)) {
      end = cps.length;
    } else {
      let lo = start + 1;
      let hi = cps.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (ok(start, mid)) lo = mid;
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
    pieces.push(cps.slice(start, end).join(''));
    start = end;
  }
  return pieces;
}
