/**
 * An in-memory network for unit tests: listeners by port, connections as pairs of duplex streams
 * with TCP's shape (connect or ECONNREFUSED, half-close, reset on destroy, idle timeouts on the
 * global timers, so node:test's fake timers drive them). One host: every address reaches it.
 */
import { Duplex } from 'node:stream';
import type { Connection, Listening, Transport } from '../../src/core/transport';

let nextEphemeral = 50_000;

export class MemorySocket extends Duplex implements Connection {
  /** Set by the network: bytes written vanish (a cable pulled without either side noticing). */
  cut = () => false;
  remoteAddress: string;
  remotePort: number;
  timeout = 0;
  other: MemorySocket | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(remoteAddress: string, remotePort: number) {
    super({ allowHalfOpen: false });
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  override _read(): void {
    /* data is pushed by the other end */
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    const to = this.other;
    if (!to || to.destroyed) {
      cb(Object.assign(new Error('write after the other end closed'), { code: 'EPIPE' }));
      return;
    }
    if (!this.cut()) {
      const data = Buffer.from(chunk);
      // Delivered on a later tick, as from a real socket: a reader never sees the bytes inside
      // the writer's call (TLS over a synchronous pipe would finish before its listeners exist).
      process.nextTick(() => {
        if (to.destroyed) return;
        to.touch();
        to.push(data);
      });
    }
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const to = this.other;
    process.nextTick(() => to?.push(null)); // after the data written before it
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.idle);
    const to = this.other;
    this.other = undefined;
    if (to && !to.destroyed) {
      // The far end sees the connection end, as after a TCP reset or close.
      to.other = undefined;
      process.nextTick(() => to.destroy());
    }
    cb(err);
  }

  setTimeout(ms: number, onTimeout?: () => void): this {
    this.timeout = ms;
    if (onTimeout) this.once('timeout', onTimeout);
    this.touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    if (this.timeout > 0 && !this.destroyed) this.idle = setTimeout(() => this.emit('timeout'), this.timeout);
  }
}

export class MemoryNetwork {
  private readonly listeners = new Map<number, (c: Connection) => void>();
  /** While true, every byte written on any connection is lost, and nobody is told. */
  silent = false;
  /** Every dial, in order: for tests of who dialed whom and when. */
  readonly dials: { port: number; at: number; accepted: boolean }[] = [];

  /** A host's view of the network: its connections come from `ip` (as a listener sees them). */
  transport(ip = '127.0.0.1'): Transport {
    return {
      listen: (_host, port, onConnection) => this.listen(port, onConnection),
      connect: (host, port) => this.connect(host, port, ip),
    };
  }

  private listen(port: number, onConnection: (c: Connection) => void): Promise<Listening> {
    const bound = port || nextEphemeral++;
    if (this.listeners.has(bound)) {
      return Promise.reject(Object.assign(new Error(`could not listen on :${bound}: address in use`), { code: 'ERR_PORT_IN_USE' }));
    }
    this.listeners.set(bound, onConnection);
    return Promise.resolve({
      port: bound,
      close: () => {
        this.listeners.delete(bound);
        return Promise.resolve();
      },
    });
  }

  private connect(host: string, port: number, from = '127.0.0.1'): Connection {
    const client = new MemorySocket(host, port);
    client.cut = () => this.silent;
    process.nextTick(() => {
      const accept = this.listeners.get(port);
      this.dials.push({ port, at: Date.now(), accepted: !!accept && !client.destroyed });
      if (client.destroyed) return;
      if (!accept) {
        client.destroy(Object.assign(new Error(`connect ECONNREFUSED ${host}:${port}`), { code: 'ECONNREFUSED' }));
        return;
      }
      const server = new MemorySocket(from, nextEphemeral++);
      server.cut = () => this.silent;
      client.other = server;
      server.other = client;
      accept(server);
      client.emit('connect');
    });
    return client;
  }
}

/** Runs the event loop (real I/O turns) and the fake clock until `p` settles or `maxMs` of fake time passed. */
export async function settle<T>(clock: { tick(ms: number): void }, p: Promise<T>, maxMs = 30_000, stepMs = 10): Promise<T> {
  let done = false;
  const watched = p.finally(() => (done = true));
  for (let t = 0; !done && t <= maxMs; t += stepMs) {
    await turns();
    if (!done) clock.tick(stepMs);
  }
  await turns();
  if (!done) throw new Error(`still pending after ${maxMs} ms of fake time`);
  return watched;
}

/** Lets queued I/O callbacks, microtasks and immediates run (none of them fake). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Advances fake time in steps, letting I/O run between them, until `cond` holds. */
export async function advanceUntil(clock: { tick(ms: number): void }, what: string, cond: () => boolean, maxMs = 30_000, stepMs = 10): Promise<number> {
  for (let t = 0; t <= maxMs; t += stepMs) {
    await turns();
    if (cond()) return t;
    clock.tick(stepMs);
  }
  throw new Error(`timed out waiting for ${what} after ${maxMs} ms of fake time`);
}

/** A classic one-shot sender on the memory network: connect from `from`, write, close. */
export function memorySend(net: MemoryNetwork, from: string, port: number, text: string): void {
  const c = net.transport(from).connect('127.0.0.1', port);
  c.on('error', () => undefined);
  c.once('connect', () => c.end(text));
}
