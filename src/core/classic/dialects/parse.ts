/**
 * The tolerant classic reader: `parseAny` turns the bytes of one message (as the framer cut them)
 * into a normalised message or a drop with the reason, whatever classroom program sent it. The
 * order in which the families are asked, and why, is in `registry.ts`.
 */
import { normalizeIp } from '../../address';
import { clip, decodeUtf8, hasControlCharacters } from '../../text';
import { attribute, isSelfHeader } from './attribution';
import { LINE_ACK } from './lineMode';
import { DEFAULT_DIALECT, FAMILIES } from './registry';
import { replyFor } from './replies';
import { ClassicReply, DialectName, FamilyFields, NormalizedClassic, ParseAnyResult, ParseContext } from './types';

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
  let text = decodeUtf8(bytes);
  if (text === undefined) return drop('not valid UTF-8 text');
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

function normalize(f: FamilyFields, ctx: ParseContext): NormalizedClassic {
  const hasHeader = f.headerHost !== undefined && f.headerPort !== undefined;
  const headerIsSelf = hasHeader ? isSelfHeader(f.headerHost!, f.headerPort!, ctx) : false;
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
