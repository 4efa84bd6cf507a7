// A client that connects from a chosen local address and never says anything: what a node does
// with a connection it must refuse (blocked IPs are closed at accept, before a byte is written).
import * as net from 'node:net';

/** Opens a silent connection from `localAddress`: resolves with what the node wrote and whether it closed within `ms`. */
export function silentClient(host: string, port: number, localAddress: string, ms: number): Promise<{ closed: boolean; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const s = net.connect({ host, port, localAddress });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ closed: false, bytes });
    }, ms);
    s.on('data', (d) => (bytes += d.length));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ closed: true, bytes });
    });
  });
}
