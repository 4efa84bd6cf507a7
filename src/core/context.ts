/** What the node's parts share, handed to each one instead of the node itself. */
import type { ChatMessage } from './chatTypes';
import type { MessageLog } from './history/log';
import type { Identity } from './identity/identity';
import type { Limits } from './limits';
import type { BlockQuery } from './peers/blocklist';
import type { PeerTable } from './peers/table';
import type { Self } from './self';
import type { Transport } from './transport';

export type LogLevel = 'trace' | 'info' | 'warn' | 'error';

export interface NodeContext {
  readonly limits: Limits;
  /** The clock; every time stamp and age comes from here. */
  readonly now: () => number;
  /** This node's id: the hash of its public key. */
  readonly nodeId: string;
  /** Its key pair and certificate: TLS and signatures. */
  readonly identity: Identity;
  readonly self: Self;
  readonly peers: PeerTable;
  readonly history: MessageLog;
  readonly transport: Transport;
  /** Whether this node speaks the native protocol with PeerChat peers. */
  native(): boolean;
  /** Whether the listener is up: nothing new is dialed or sent while it is not. */
  running(): boolean;
  /** Aborted when the node stops: waits end at once. */
  stopSignal(): AbortSignal;
  log(level: LogLevel, text: string): void;
  /** A warning about untrusted input, rate-limited per remote IP and kind of problem. */
  logDrop(remote: string, reason: string, line: string, level?: LogLevel): void;
  /** True (and logged, rate-limited) when the block list covers any of these facts: the caller
   *  drops what it was handling. `what` says what was refused and from where. */
  blocked(q: BlockQuery, remote: string, what: string): boolean;
  /** A system line in a conversation. */
  system(conversation: string, text: string): ChatMessage;
}
