/**
 * Every size, time and count bound of the node in one place, with the reason for it.
 * All of them are options so that tests can shrink them.
 */
export interface Limits {
  /** Bytes one incoming classic message may have before its connection is cut: far above any
   *  classroom message (they read 1024) yet small enough that thousands of connections stay cheap. */
  maxIncomingBytes: number;
  /** A sender that stays silent this long is closed: classroom senders write at once. */
  incomingIdleMs: number;
  /** Idle allowance of a connection that already carried a valid message (persistent senders). */
  persistentIdleMs: number;
  /** Bytes one incoming connection may carry in all (persistent senders write many messages). */
  maxConnectionBytes: number;
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
  /** Bytes the history file may take on disk: past it the file is compacted to the newest
   *  messages that fit half of it, so a flood of large messages cannot fill the disk. */
  maxHistoryBytes: number;
  /** Bytes of history kept in memory (about the size of its records): the oldest are trimmed
   *  beyond it, and no more is read at load, whatever maxHistory allows. */
  maxHistoryMemoryBytes: number;
  /** Longest text a user may send at once (it is split into classic writes). */
  maxOutgoingTextBytes: number;
  /** Longest name a peer may have in the table; longer ones are cut. */
  maxNameLength: number;
  /** Time the node waits for exit messages at shutdown, so VS Code's exit is never held up long. */
  shutdownGraceMs: number;

  // ---- classic flood control (per remote IP)
  /** Chat messages a sender that has not said who it is (no valid `IP:PORT NAME` header, no
   *  announced port) may put into the chat at once, per remote IP; the rest are counted and shown
   *  as one system line. */
  unannouncedBurst: number;
  /** ... and then per second, per remote IP: about what a person types. */
  unannouncedPerSecond: number;
  /** Classic messages one remote IP may send at once before it is cut back. Every classroom
   *  program on this machine comes from 127.0.0.1, so this is far above what a class sends. */
  classicBurst: number;
  /** ... and then per second, per remote IP. */
  classicMessagesPerSecond: number;
  /** Bytes of classic messages one remote IP may send per second (twice that at once). */
  classicBytesPerSecond: number;
  /** A flood counts as over after this long without a drop: its summary (chat line, log line) is
   *  said then, or every dropSummaryEveryMs while it goes on. */
  dropSummaryMs: number;
  dropSummaryEveryMs: number;

  // ---- native sessions (PeerChat to PeerChat)
  /** How long a dialing node waits for the banner before it treats the peer as classic. */
  probeWaitMs: number;
  /** Largest native frame: a 64 KiB text fits with room for JSON escaping. */
  maxFrameBytes: number;
  /** Ping after this much silence on our side. */
  heartbeatMs: number;
  /** A connection silent this long is dead (three missed heartbeats). */
  deadAfterMs: number;
  /** TLS and hello must both finish within this (each takes milliseconds on a LAN). */
  handshakeMs: number;
  /** Above this many unsent bytes on a session, chat frames wait in the outbox instead. */
  highWaterBytes: number;
  /** A session with this much unsent is dropped: the peer is not reading. */
  maxQueuedBytes: number;
  /** Messages waiting for one offline peer; more are refused with a clear error. */
  maxOutboxPerPeer: number;
  /** Native peers learned through exchange that we dial on our own. */
  maxAutoConnect: number;
  /** Simultaneous native sessions. */
  maxNativeSessions: number;
  /** Of those, kept for peers the user connected to, verified or has queued messages for
   *  (at most a quarter of the cap): strangers cannot lock the user's own peers out. */
  reservedNativeSessions: number;
  /** Sessions of unknown peers accepted from one remote IP: one host cannot take every slot. */
  maxNativePerAddress: number;
  /** Accepted connections in their handshake at once, and from one remote IP: sockets that never
   *  finish one hold a slot only this long (handshakeMs) and only this many at a time. */
  maxNativeHandshakes: number;
  maxNativeHandshakesPerAddress: number;
  /** What one native session may send (frames and bytes a second, with a burst of twice that),
   *  and all sessions from one remote IP together. Over it the session is read more slowly
   *  (TCP backpressure), never cut: far above any chat, it stops a peer that floods the disk. */
  nativeFramesPerSecond: number;
  nativeBytesPerSecond: number;
  nativeFramesPerSecondPerAddress: number;
  nativeBytesPerSecondPerAddress: number;
  /** Peers learned through exchange kept at once: strangers' lists cannot fill the table. */
  maxLearnedPeers: number;
  /** Catch-up: bytes of text answered to one sync (one sync per session, and only to peers you know). */
  catchupMaxBytes: number;
  /** Hops an Everyone message may travel through the mesh. */
  floodHops: number;
  /** Ids remembered to drop flood duplicates. */
  seenCacheSize: number;
  /** Catch-up: at most this many Everyone messages, none older than catchupWindowMs. */
  catchupMax: number;
  catchupWindowMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;

  // ---- the outbox as a whole (besides maxOutboxPerPeer)
  /** Messages waiting for all absent peers together: the journal, its compaction and the start-up
   *  reconciliation stay quick, and many fake peers cannot each take maxOutboxPerPeer. */
  maxOutboxMessages: number;
  /** UTF-8 bytes of the texts waiting, all peers together: 64 KiB texts would otherwise let the
   *  outbox take hundreds of MiB of disk and memory. */
  maxOutboxBytes: number;

  // ---- the chat webview (enforced by the extension)
  /** Messages the webview may post per second; beyond it they are dropped (a runaway or hostile
   *  script in the webview must not make the host send thousands of network messages). */
  maxWebviewMessagesPerSecond: number;
  /** Messages of history sent when the chat opens; older ones come in pages on demand, so a
   *  100,000-message history opens as fast as a short one. */
  webviewPageSize: number;

  // ---- the block list (Block Peer)
  /** Entries of the block list (IPs, addresses, node ids): it is read on every accepted
   *  connection and kept in one small file, so it stays small; past it, blocking is refused. */
  maxBlocked: number;

  // ---- discovery (nearby PeerChat nodes: the LAN and this machine)
  /** How often a node says "I am here" on the LAN (mDNS) and refreshes its file in the
   *  per-machine folder; the folder is read this often too. */
  announceIntervalMs: number;
  /** A node not heard of for this long leaves Nearby (three announcements missed); a goodbye
   *  takes it out at once. */
  nearbyExpireMs: number;
  /** The per-machine folder is read this often (a file watch makes it sooner where it works). */
  registryPollMs: number;
  /** Nearby entries kept at once, and from one LAN address: anyone on the LAN can send
   *  announcements, so a flood of them cannot grow the table or the work it causes. */
  maxNearby: number;
  maxNearbyPerHost: number;
  /** Identity checks (a TLS handshake to prove the announced key) running at once, and how long
   *  an unreachable announcement waits before it is checked again. */
  maxProofsAtOnce: number;
  proofRetryMs: number;
  /** Bytes of one announcement we read (an mDNS packet, a file in the per-machine folder);
   *  records per packet, files per folder read. */
  maxAnnouncementBytes: number;
  maxRecordsPerPacket: number;
  maxRegistryFiles: number;
  /** Answers to mDNS queries at most this often: a query flood cannot make us flood the LAN. */
  mdnsAnswerEveryMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxIncomingBytes: 64 * 1024,
  incomingIdleMs: 10_000,
  persistentIdleMs: 10 * 60_000,
  maxConnectionBytes: 4 * 1024 * 1024,
  maxIncomingConnections: 512,
  maxIncomingPerAddress: 128,
  classicWriteBytes: 1023,
  sendTimeoutMs: 3_000,
  sendRetries: 3,
  sendRetryBaseMs: 100,
  maxPeers: 1_000,
  maxHistory: 10_000,
  maxHistoryBytes: 64 * 1024 * 1024,
  maxHistoryMemoryBytes: 16 * 1024 * 1024,
  maxOutgoingTextBytes: 64 * 1024,
  maxNameLength: 64,
  shutdownGraceMs: 1_500,
  unannouncedBurst: 20,
  unannouncedPerSecond: 2,
  classicBurst: 2_000,
  classicMessagesPerSecond: 1_000,
  classicBytesPerSecond: 8 * 1024 * 1024,
  dropSummaryMs: 2_000,
  dropSummaryEveryMs: 10_000,
  probeWaitMs: 400,
  maxFrameBytes: 256 * 1024,
  heartbeatMs: 5_000,
  deadAfterMs: 15_000,
  handshakeMs: 3_000,
  highWaterBytes: 1024 * 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxOutboxPerPeer: 1_000,
  maxAutoConnect: 8,
  maxNativeSessions: 64,
  reservedNativeSessions: 16,
  maxNativePerAddress: 8,
  maxNativeHandshakes: 16,
  maxNativeHandshakesPerAddress: 4,
  nativeFramesPerSecond: 20_000,
  nativeBytesPerSecond: 16 * 1024 * 1024,
  nativeFramesPerSecondPerAddress: 40_000,
  nativeBytesPerSecondPerAddress: 32 * 1024 * 1024,
  maxLearnedPeers: 100,
  catchupMaxBytes: 512 * 1024,
  floodHops: 8,
  seenCacheSize: 20_000,
  catchupMax: 500,
  catchupWindowMs: 24 * 3600 * 1000,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  maxOutboxMessages: 5_000,
  maxOutboxBytes: 16 * 1024 * 1024,
  maxWebviewMessagesPerSecond: 50,
  webviewPageSize: 1_000,
  maxBlocked: 1_000,
  announceIntervalMs: 10_000,
  nearbyExpireMs: 30_000,
  registryPollMs: 2_000,
  maxNearby: 64,
  maxNearbyPerHost: 8,
  maxProofsAtOnce: 4,
  proofRetryMs: 30_000,
  maxAnnouncementBytes: 4_096,
  maxRecordsPerPacket: 32,
  maxRegistryFiles: 256,
  mdnsAnswerEveryMs: 1_000,
});

export function withLimits(overrides?: Partial<Limits>): Limits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
