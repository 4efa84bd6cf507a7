/**
 * How the node reaches the network: listen on an address, dial an address. The node only ever
 * goes through this, so tests can hand it in-memory connections; real TCP is `tcpTransport`.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { describeSocketError, PeerChatError } from './errors';

/** One connection: a byte stream plus the few socket facts the node reads. */
export interface Connection extends Duplex {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Idle timeout (0 = off); the callback runs once the connection was silent that long. */
  setTimeout(ms: number, onTimeout?: () => void): this;
  readonly timeout?: number;
  setNoDelay(noDelay?: boolean): this;
}

export interface Listening {
  /** The port actually bound (0 asks for any free one). */
  readonly port: number;
  /** Stops accepting; open connections are the caller's to close. */
  close(): Promise<void>;
}

export interface Transport {
  /** Listens; rejects with ERR_PORT_IN_USE or ERR_LISTEN and the address in the message. */
  listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listening>;
  /** Dials; the connection emits 'connect' once open, or 'error'. */
  connect(host: string, port: number): Connection;
}

/** Real TCP. */
export const tcpTransport: Transport = {
  listen(host, port, onConnection) {
    return new Promise((resolve, reject) => {
      const server = net.createServer(onConnection);
      const onError = (err: NodeJS.ErrnoException) => {
        server.close();
        const code = err.code === 'EADDRINUSE' ? 'ERR_PORT_IN_USE' : 'ERR_LISTEN';
        reject(new PeerChatError(code, `could not listen on ${host}:${port}: ${describeSocketError(err)}`, err));
      };
      server.once('error', onError);
      // A large backlog so that bursts of one-connection-per-message senders are not dropped.
      server.listen({ host, port, backlog: 1024, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', () => {
          /* after listening, errors are per connection and handled there */
        });
        resolve({
          port: (server.address() as net.AddressInfo).port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  },
  connect(host, port) {
    return net.connect({ host, port });
  },
};
