/** Stable error codes: tests and the UI branch on these, never on message text. */
export type PeerChatErrorCode =
  | 'ERR_PORT_IN_USE'
  | 'ERR_LISTEN'
  | 'ERR_BAD_ADDRESS'
  | 'ERR_BAD_NAME'
  | 'ERR_BAD_INPUT'
  | 'ERR_SEND'
  | 'ERR_NOT_RUNNING'
  | 'ERR_TOO_LARGE'
  | 'ERR_STORE'
  | 'ERR_IDENTITY'
  | 'ERR_BLOCKED';

/** An error with a code and enough context to act on ("could not listen on 0.0.0.0:6000: address in use"). */
export class PeerChatError extends Error {
  constructor(
    readonly code: PeerChatErrorCode,
    message: string,
    readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PeerChatError';
  }
}

/** Turns a Node socket error into a short human reason ("connection refused", "timed out"). */
export function describeSocketError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ECONNRESET':
      return 'connection reset by the peer';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'EADDRINUSE':
      return 'address in use';
    case 'EADDRNOTAVAIL':
      return 'address not available on this machine';
    case 'EACCES':
      return 'permission denied';
    case 'ENOTFOUND':
      return 'host name not found';
    case 'EPIPE':
      return 'the peer closed the connection';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
