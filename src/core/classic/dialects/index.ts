/**
 * The classic dialects: one file per classroom family, `registry.ts` (which family reads what, in
 * which order), `parse.ts` (`parseAny`), `attribution.ts` (who sent it), `replies.ts` (what the
 * sender waits for) and `writes.ts` (a text in a peer's own form). This file only re-exports.
 */
export * from './types';
export { LINE_ACK, isLineModeOpening, lineModeOpening } from './lineMode';
export { bracketTimestamp } from './bracket';
export { CONNECT_KEYWORDS } from './common';
export { HANDSHAKE_ANSWERS, HANDSHAKE_KEYWORDS } from './handshake';
export { DEFAULT_DIALECT, DIALECT_LABELS, FAMILIES, familyOf } from './registry';
export { parseAny } from './parse';
export { ackText, replyFor } from './replies';
export { formatFor, formatWritesFor, openingFor, type FormatForOptions } from './writes';
