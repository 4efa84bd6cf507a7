/** Dialing an address whose protocol we do not know yet, and finding out. */
import { describeSocketError } from '../../errors';
import { Connection, Transport } from '../../transport';
import { bannerBytes, matchBanner } from './detect';

export type ProbeResult =
  | { kind: 'native'; socket: Connection; leftover: Buffer }
  | { kind: 'classic'; socket: Connection }
  | { kind: 'error'; error: string; retryable: boolean };

/**
 * Dials and waits briefly for a PeerChat banner. Banner: echo it, the socket is native.
 * Silence: a classic server (they never speak first); the open socket is handed back untouched
 * so the classic text goes on this same connection.
 */
export function probeDial(transport: Transport, host: string, port: number, waitMs: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = transport.connect(host, port);
    let settled = false;
    let got = Buffer.alloc(0);
    let waitTimer: NodeJS.Timeout | undefined;
    const connectTimer = setTimeout(() => fail(`connecting to ${host}:${port} timed out after ${timeoutMs} ms`, false), timeoutMs);
    const cleanup = () => {
      clearTimeout(waitTimer);
      clearTimeout(connectTimer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(r);
    };
    const fail = (error: string, retryable: boolean) => {
      socket.destroy();
      done({ kind: 'error', error, retryable });
    };
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const m = matchBanner(got);
      if (m === 'partial') return;
      if (m === 'match') {
        socket.write(bannerBytes());
        done({ kind: 'native', socket, leftover: got.subarray(bannerBytes().length) });
      } else {
        // A server that speaks first but not our banner: not PeerChat. Treat as classic.
        done({ kind: 'classic', socket });
      }
    };
    const onError = (err: NodeJS.ErrnoException) =>
      fail(`could not connect to ${host}:${port}: ${describeSocketError(err)}`, err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET');
    const onClose = () => fail(`${host}:${port} closed the connection`, true);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      waitTimer = setTimeout(() => done({ kind: 'classic', socket }), waitMs);
    });
  });
}
