/** A history message as the chat frame that carries it. */
import type { ChatMessage } from '../chatTypes';
import type { ChatFrame } from './frames';

/** Who "we" are in frames we originate. */
export interface Origin {
  nodeId: string;
  name: string;
  address: string;
}

export function toChatFrame(m: ChatMessage, me: Origin, conv: 'everyone' | 'direct', hops: number): ChatFrame {
  const own = m.direction === 'out';
  return {
    type: 'chat',
    id: m.id,
    origin: own ? me.nodeId : m.origin ?? me.nodeId,
    originName: own ? me.name : m.name,
    originAddress: own ? me.address : m.peer,
    ts: m.ts,
    conv,
    text: m.text,
    hops,
    ...(conv === 'everyone' && m.sig && m.key ? { sig: m.sig, key: m.key } : {}),
  };
}
