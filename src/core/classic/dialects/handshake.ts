/**
 * Request/answer handshakes that stand alone on a connection, and the answers other programs
 * write back: `IP:PORT CONNECT_REQUEST` → `CONNECTED`, `Connection Request` →
 * `Connection Acknowledged`, `DISCONNECT` → `DISCONNECT_ACK`, plus the acknowledgements
 * `Message received` (line mode) and `[ACK] Message received from PORT` (ack-waiting senders).
 *
 * Each is matched as the whole text (trailing line end and surrounding blanks ignored), exactly
 * and case-sensitively, so a chat text that merely contains one of them is not taken for it.
 * The three-token `IP:PORT NAME connect|connected|connect_ack` forms are the standard form with a
 * keyword (see `CONNECT_KEYWORDS` in common.ts): the standard family reads them, and this family
 * writes them in the standard form.
 */
import { checkAddress, clip, formatAddress, WHOLE_ADDRESS } from './common';
import { formatStandard } from './standard';
import { Family, FamilyResult, NormalizedKind } from './types';

export const CONNECT_REQUEST = 'CONNECT_REQUEST';

/** Stand-alone keywords and what they are. */
export const HANDSHAKE_KEYWORDS: Readonly<Record<string, NormalizedKind>> = Object.freeze({
  'Connection Request': 'connectRequest',
  DISCONNECT: 'disconnect',
  CONNECTED: 'ack',
  'Connection Acknowledged': 'ack',
  DISCONNECT_ACK: 'ack',
  'Message received': 'ack',
});

/** The answer each request waits for. */
export const HANDSHAKE_ANSWERS: Readonly<Record<string, string>> = Object.freeze({
  [CONNECT_REQUEST]: 'CONNECTED',
  'Connection Request': 'Connection Acknowledged',
  DISCONNECT: 'DISCONNECT_ACK',
});

const ACK_FROM = /^\[ACK\] Message received from (\d{1,5})$/;

function whole(text: string): string {
  return text.replace(/^\s+|\s+$/g, '');
}

function twoTokenRequest(t: string): RegExpExecArray | null {
  const sp = t.lastIndexOf(' ');
  if (sp < 0 || t.slice(sp + 1) !== CONNECT_REQUEST) return null;
  return WHOLE_ADDRESS.exec(t.slice(0, sp));
}

function hasKeyword(t: string): boolean {
  return Object.prototype.hasOwnProperty.call(HANDSHAKE_KEYWORDS, t);
}

export const handshakeFamily: Family = {
  name: 'handshake',
  dialects: ['handshake'],
  detect(text) {
    const t = whole(text);
    return hasKeyword(t) || ACK_FROM.test(t) || twoTokenRequest(t) !== null;
  },
  parse(text): FamilyResult {
    const t = whole(text);
    if (hasKeyword(t)) {
      return { ok: true, fields: { dialect: 'handshake', text: t, kind: HANDSHAKE_KEYWORDS[t], keyword: t, revealsDialect: false } };
    }
    if (ACK_FROM.test(t)) {
      return { ok: true, fields: { dialect: 'handshake', text: t, kind: 'ack', keyword: '[ACK]', revealsDialect: false } };
    }
    const m = twoTokenRequest(t);
    if (!m) return { ok: false, reason: `handshake: not a request or answer: "${clip(t)}"` };
    const addr = checkAddress(m[1], m[2]);
    if (!addr.ok) return { ok: false, reason: `handshake: bad address in "${clip(t)}": ${addr.reason}` };
    return {
      ok: true,
      fields: {
        dialect: 'handshake',
        headerHost: addr.host,
        headerPort: addr.port,
        text: CONNECT_REQUEST,
        kind: 'connectRequest',
        keyword: CONNECT_REQUEST,
        revealsDialect: false,
      },
    };
  },
  /** The stand-alone keywords as they are, `CONNECT_REQUEST` behind this node's address, and any
   *  other text (chat, `connect`, ...) in the standard form. */
  format(_dialect, self, text) {
    if (text === CONNECT_REQUEST) return `${formatAddress(self.ip, self.port)} ${CONNECT_REQUEST}`;
    if (hasKeyword(text)) return text;
    return formatStandard(self, text);
  },
};
