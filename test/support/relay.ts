// A TCP relay on loopback, for man-in-the-middle tests: every connection made to its port is
// forwarded to a target port, and the bytes are recorded in both directions. Past the PeerChat
// banner, what it forwards is cut into TLS records (5-byte header, then the length it names), so
// a test can look at, or change, one record: `tamper` may return a changed copy of it.
import * as net from 'node:net';
import { BANNER } from '../../src/core/native/frames';

/** 'up' = from the dialing side to the target, 'down' = back. */
export type RelayDirection = 'up' | 'down';

export interface TlsRecord {
  /** The TLS content type byte: 0x16 handshake, 0x17 application data, 0x14 change cipher spec, 0x15 alert. */
  type: number;
  /** The whole record, header included. */
  bytes: Buffer;
  /** Its index among the records of this direction of this connection, from 0. */
  index: number;
  /** Which relayed connection it belongs to, from 0. */
  connection: number;
}

export interface RelayOptions {
  host?: string;
  /** Called for each whole TLS record; a Buffer returned is forwarded instead of it. */
  tamper?: (dir: RelayDirection, r: TlsRecord) => Buffer | undefined;
}

export interface Relay {
  port: number;
  /** "127.0.0.1:port" */
  addr: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Everything forwarded in a direction, over every connection, in order. */
  bytes(dir: RelayDirection): Buffer;
  /** The records forwarded in a direction (as forwarded, after tampering). */
  records(dir: RelayDirection): TlsRecord[];
  close(): Promise<void>;
}

export async function relay(targetPort: number, o: RelayOptions = {}): Promise<Relay> {
  const host = o.host ?? '127.0.0.1';
  const seen: Record<RelayDirection, Buffer[]> = { up: [], down: [] };
  const recs: Record<RelayDirection, TlsRecord[]> = { up: [], down: [] };
  const sockets = new Set<net.Socket>();
  let count = 0;

  /** Forwards from `from` to `to`, record by record once past the banner. */
  const pipe = (dir: RelayDirection, connection: number, from: net.Socket, to: net.Socket) => {
    let buf = Buffer.alloc(0);
    let pastBanner = false;
    let index = 0;
    const forward = (b: Buffer) => {
      seen[dir].push(b);
      if (!to.destroyed) to.write(b);
    };
    from.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!pastBanner) {
        if (buf.length < BANNER.length && BANNER.startsWith(buf.toString('latin1'))) return;
        pastBanner = true;
        if (buf.subarray(0, BANNER.length).toString('latin1') === BANNER) {
          forward(buf.subarray(0, BANNER.length));
          buf = buf.subarray(BANNER.length);
        }
      }
      while (buf.length >= 5) {
        const len = buf.readUInt16BE(3);
        if (buf.length < 5 + len) break;
        const bytes = Buffer.from(buf.subarray(0, 5 + len));
        buf = buf.subarray(5 + len);
        const r: TlsRecord = { type: bytes[0], bytes, index: index++, connection };
        const changed = o.tamper?.(dir, r);
        if (changed) r.bytes = changed;
        recs[dir].push(r);
        forward(r.bytes);
      }
    });
    from.on('end', () => to.end());
  };

  const server = net.createServer((client) => {
    const connection = count++;
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    pipe('up', connection, client, upstream);
    pipe('down', connection, upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    addr: `${host}:${port}`,
    connections: () => count,
    bytes: (dir) => Buffer.concat(seen[dir]),
    records: (dir) => recs[dir],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
