/**
 * What one classic message does to the peer table, pure: from the peer as it was and what it
 * sent, the patch for its record, the system line to show and the chat text to add.
 */
import { formatHostPort } from '../address';
import { DIALECT_LABELS } from './dialects/registry';
import type { DialectName, NormalizedKind } from './dialects/types';
import type { PeerRecord, PeerState } from '../peers/table';
import { conversationOf } from '../peers/views';

export type PeerPatch = Partial<Omit<PeerRecord, 'address' | 'host' | 'port'>>;

/** A classic message from a known listening address, as the reducer needs it. */
export interface ClassicEvent {
  kind: Exclude<NormalizedKind, 'probe' | 'ack'>;
  host: string;
  port: number;
  /** The name it gave, already cleaned. */
  name?: string;
  text: string;
  /** The dialect, when the message shows which one the sender speaks. */
  revealed?: DialectName;
}

export interface ClassicOutcome {
  patch: PeerPatch;
  /** A system line for the peer's conversation. */
  system?: { conversation: string; text: string };
  /** The header gave a known peer another name: said, never silent. */
  renamed?: { conversation: string; text: string };
  /** A chat message to add: in the peer's conversation, under its name. */
  chat?: { conversation: string; name: string; text: string };
  /** Worth a line in the log. */
  log?: string;
}

export function reduceClassic(before: PeerRecord | undefined, e: ClassicEvent, o: { now: number; native: boolean }): ClassicOutcome {
  const key = formatHostPort(e.host, e.port);
  if (before?.protocol === 'native' && before.nodeId) {
    // A classic message cannot prove it comes from the PeerChat node at that address (anyone can
    // write that header): it changes nothing of that peer and never lands in its conversation.
    const note = `classic ${e.kind} claiming ${key}, a PeerChat peer's address: shown under the address only`;
    return e.kind === 'chat' ? { patch: {}, chat: { conversation: key, name: e.name ?? e.host, text: e.text }, log: note } : { patch: {}, log: note };
  }
  const wasConnected = before?.state === 'connected';
  // A classic message says the sender speaks classic, unless we already know better; "Connect"
  // looks again, so a PeerChat node that fell back to classic once is not stuck there.
  const protocol = before?.protocol ?? (o.native ? 'classic' : undefined);
  const dialect = e.revealed && !before?.dialectManual && before?.protocol !== 'native' ? e.revealed : undefined;
  const log = dialect && before?.dialect && before.dialect !== dialect ? `${key} now speaks ${DIALECT_LABELS[dialect]}` : undefined;
  const common: PeerPatch = { lastSeen: o.now, protocol, dialect, ...(e.name ? { name: e.name } : {}) };
  // The record as it will be after the patch: names and conversations of the lines come from it.
  const after = (patch: PeerPatch) => {
    const rec = { address: key, host: e.host, port: e.port, name: e.host, state: 'known' as PeerState, source: 'message' as const, ...before, ...defined(patch) };
    return { name: rec.name, conversation: conversationOf(rec) };
  };
  const renamed = (patch: PeerPatch): ClassicOutcome['renamed'] =>
    before && patch.name !== undefined && patch.name !== before.name ? { conversation: after(patch).conversation, text: `${before.name} (${key}) is now called ${patch.name}` } : undefined;
  const withRename = (o: ClassicOutcome): ClassicOutcome => {
    const r = renamed(o.patch);
    return r ? { ...o, renamed: r } : o;
  };
  switch (e.kind) {
    case 'ping':
      return withRename({ patch: { ...common, state: before && before.state !== 'gone' && before.state !== 'inactive' ? before.state : 'known' }, log });
    case 'exit':
    case 'disconnect': {
      // The address, not the name, says who left (relayed exits carry the relay's name).
      const patch: PeerPatch = { lastSeen: o.now, protocol, state: 'gone', ...(before ? {} : e.name ? { name: e.name } : {}) };
      const a = after(patch);
      return { patch, system: { conversation: a.conversation, text: `${a.name} (${key}) left the network` }, log };
    }
    case 'greeting':
    case 'connect':
    case 'connectRequest': {
      const patch: PeerPatch = { ...common, state: 'connected', lastError: undefined };
      const a = after(patch);
      const system = wasConnected ? undefined : { conversation: a.conversation, text: `${a.name} (${key}) connected${e.kind === 'greeting' ? `: "${e.text}"` : ''}` };
      return withRename({ patch, system, log });
    }
    case 'chat': {
      const patch: PeerPatch = { ...common, state: wasConnected ? 'connected' : 'known', lastError: undefined };
      const a = after(patch);
      // A first message from an address nobody knew: say who joined, in the address's conversation.
      const system = before ? undefined : { conversation: key, text: `${a.name} (${key}) joined` };
      return withRename({ patch, system, chat: { conversation: a.conversation, name: a.name, text: e.text }, log });
    }
    default: {
      const never: never = e.kind;
      throw new Error(`unhandled kind ${String(never)}`);
    }
  }
}

function defined(p: PeerPatch): PeerPatch {
  return Object.fromEntries(Object.entries(p).filter(([k, v]) => v !== undefined || k === 'lastError')) as PeerPatch;
}
