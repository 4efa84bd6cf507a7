/**
 * Every size, time and count bound of the node in one place, with the reason for it.
 * All of them are options so that tests can shrink them.
 */
export interface Limits {
  /** Bytes one incoming classic connection may send before it is cut: far above any classroom
   *  message (they read 1024) yet small enough that thousands of connections stay cheap. */
  maxIncomingBytes: number;
  /** A sender that stays silent this long is closed: classroom senders write at once. */
  incomingIdleMs: number;
  /** Simultaneous incoming connections; beyond it new ones are closed at once. */
  maxIncomingConnections: number;
  /** Simultaneous incoming connections from one remote IP, so one host cannot take them all. */
  maxIncomingPerAddress: number;
  /** Largest classic write: C++ receivers read 1023 bytes, Python ones 1024. */
  classicWriteBytes: number;
  /** How long a classic send may take (connect + write + close) before it counts as failed. */
  sendTimeoutMs: number;
  /** Retries of a refused or reset classic send: classroom listeners use listen(5). */
  sendRetries: number;
  /** First retry delay; doubled each time. */
  sendRetryBaseMs: number;
  /** Peers kept in the table; the least recently seen are forgotten past it. */
  maxPeers: number;
  /** Messages of chat history kept (memory and disk). */
  maxHistory: number;
  /** Longest text a user may send at once (it is split into classic writes). */
  maxOutgoingTextBytes: number;
  /** Longest name a peer may have in the table; longer ones are cut. */
  maxNameLength: number;
  /** Time the node waits for exit messages at shutdown, so VS Code's exit is never held up long. */
  shutdownGraceMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxIncomingBytes: 64 * 1024,
  incomingIdleMs: 10_000,
  maxIncomingConnections: 512,
  maxIncomingPerAddress: 128,
  classicWriteBytes: 1023,
  sendTimeoutMs: 3_000,
  sendRetries: 3,
  sendRetryBaseMs: 100,
  maxPeers: 1_000,
  maxHistory: 10_000,
  maxOutgoingTextBytes: 64 * 1024,
  maxNameLength: 64,
  shutdownGraceMs: 1_500,
});

export function withLimits(overrides?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
