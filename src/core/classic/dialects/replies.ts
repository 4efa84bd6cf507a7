/** What a classic sender waits for after its message, in its own form. */
import { HANDSHAKE_ANSWERS } from './handshake';
import { LINE_ACK } from './lineMode';
import { formatStandard } from './standard';
import { ClassicReply, NormalizedClassic, SelfIdentity } from './types';

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
