// A raw classic send: one connection, one write, half-close, read what comes back until the other
// side closes.
import * as net from 'node:net';

export interface RawSendOptions {
  /** Where to connect; default 127.0.0.1. */
  host?: string;
  /** Source address to bind (Linux loopback answers the whole 127/8). */
  localAddress?: string;
  /** How long to wait for the other side to close before destroying the socket; default 3000. */
  timeoutMs?: number;
}

/**
 * Connects to host:port, writes `data` in one write and half-closes, then waits for the other side
 * to close (bounded; then the socket is destroyed). Resolves with whatever the other side wrote
 * back. Rejects only if the connection cannot be made (e.g. ECONNREFUSED). A number as the third
 * argument is the timeout.
 */
export function rawSend(port: number, data: Buffer | string, opts: RawSendOptions | number = {}): Promise<Buffer> {
  const o: RawSendOptions = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let connected = false;
    const sock = net.createConnection({ host: o.host ?? '127.0.0.1', port, localAddress: o.localAddress }, () => {
      connected = true;
      sock.end(data);
    });
    const timer = setTimeout(() => sock.destroy(), o.timeoutMs ?? 3000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (err) => {
      if (!connected) {
        clearTimeout(timer);
        reject(err);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (connected) resolve(Buffer.concat(chunks));
    });
  });
}
