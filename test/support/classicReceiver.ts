// A classic receiver as the classroom programs are: one connection = one message, read to the
// sender's close, then closed. Listens on 127.0.0.1:0.
import * as net from 'node:net';
import { until } from './until';

export interface ClassicReceiver {
  port: number;
  /** "127.0.0.1:port" */
  addr: string;
  /** The text of each connection, in the order the connections ended. */
  got: string[];
  /** The next text not returned by next() yet (waits for it, bounded). */
  next(timeoutMs?: number): Promise<string>;
  /** Stops listening and destroys the connections still open. */
  close(): Promise<void>;
}

export async function classicReceiver(host = '127.0.0.1'): Promise<ClassicReceiver> {
  const got: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const chunks: Buffer[] = [];
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => {
      got.push(Buffer.concat(chunks).toString('utf8'));
      s.end();
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  let read = 0;
  return {
    port,
    addr: `${host}:${port}`,
    got,
    next: async (timeoutMs = 5000) => {
      await until(`a message at the classic receiver ${host}:${port}`, () => got.length > read, timeoutMs, () => `received so far: ${JSON.stringify(got)}`);
      return got[read++];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
