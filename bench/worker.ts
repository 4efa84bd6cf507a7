/**
 * One benchmark worker process (started by bench/lib/workers.ts through tsx). It answers commands
 * over IPC and can play these roles:
 *   node.*  a PeerNode under test (the product's core, loopback only)
 *   load.*  a classic load generator: one TCP connection per message, N in flight
 *   recv.*  a classic receiver: a plain TCP server reading one message per connection
 *   peers.* a crowd of raw native peers: banner + hello handshake, count chat frames, ack, pong
 *   sess.*  raw NativeSessions (the product's session class, no PeerNode around it), over plain
 *           TCP and over TLS 1.3 made by the product's secureConnection
 *   tls.*   TLS handshakes alone (secureConnection on both ends of fresh TCP connections)
 *   dial.*  fresh PeerNodes, each timing one PeerNode.connect to a node, then shut down
 * Times are process.hrtime (CLOCK_MONOTONIC, shared by every process on the machine) in µs, so
 * a send time taken in one worker and an arrival time taken in another can be subtracted.
 * Every wait is bounded by a timeout; every loop by a count.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import type { ChatMessage } from '../src/core/chatTypes';
import { DEFAULT_LIMITS, Limits } from '../src/core/limits';
import { Identity, TlsCredentials } from '../src/core/identity/identity';
import { BANNER, ChatFrame, PROTOCOL_VERSION } from '../src/core/native/frames';
import { secureConnection } from '../src/core/native/secure';
import { NativeSession } from '../src/core/native/session';
import { PeerNode } from '../src/core/node';
import { FileStore, MemoryStore } from '../src/core/store';

const HOST = '127.0.0.1';
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
/** Wall clock with sub-millisecond resolution (what a browser's performance.timeOrigin + now() gives). */
const wallMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const PAD = 'x'.repeat(64 * 1024);

/** A text of exactly `size` ASCII bytes starting with `prefix` and the index. */
function textOf(prefix: string, i: number, size: number): string {
  const head = `${prefix}${i} `;
  return head.length >= size ? head : head + PAD.slice(0, size - head.length);
}

/** Counts arrivals; remembers the first and last arrival time. */
class Counter {
  count = 0;
  firstUs = 0;
  lastUs = 0;
  private target = Infinity;
  private armedUs = 0;
  private wake: (() => void) | undefined;

  arm(target: number): void {
    this.count = 0;
    this.firstUs = 0;
    this.lastUs = 0;
    this.target = target;
    this.armedUs = nowUs();
  }

  hit(t = nowUs()): void {
    if (this.count === 0) this.firstUs = t;
    this.lastUs = t;
    this.count++;
    if (this.count >= this.target) this.wake?.();
  }

  /** Resolves when the target is reached, after quietMs without arrivals, or after timeoutMs. */
  async collect(quietMs: number, timeoutMs: number): Promise<{ count: number; firstUs: number; lastUs: number; complete: boolean }> {
    const start = nowUs();
    while (this.count < this.target) {
      const idleMs = (nowUs() - Math.max(this.lastUs, this.armedUs)) / 1000;
      if (idleMs > quietMs || (nowUs() - start) / 1000 > timeoutMs) break;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 20);
      });
      this.wake = undefined;
    }
    return { count: this.count, firstUs: this.firstUs, lastUs: this.lastUs, complete: this.count >= this.target };
  }
}

// ------------------------------------------------------------------------------------------ node

let node: PeerNode | undefined;
let nodeDir: string | undefined;
const nodeIn = new Counter();
let nodeInPrefix = '';
let warnings = 0;
const lastWarnings: string[] = [];
/** Listeners for the node's message events used by the send loops below. */
const messageHooks = new Set<(m: ChatMessage) => void>();

function needNode(): PeerNode {
  if (!node) throw new Error('node not started');
  return node;
}

const delivered = (m: ChatMessage) => m.state === 'delivered' || m.state === 'read';

const nodeCommands = {
  /**
   * Starts a node on 127.0.0.1:0. `prefill` messages of history are in its store before it starts
   * (a node in use has its history at the cap; the first 10,000 messages of a fresh one cost less).
   */
  async 'node.start'(a: { name: string; limits?: Partial<Limits>; fileStore?: boolean; prefill?: number }) {
    const old: ChatMessage[] = [];
    const t = Date.now() - 86_400_000;
    for (let i = 0; i < (a.prefill ?? 0); i++) {
      old.push({ id: `old-${i}`, conversation: '127.0.0.1:1', direction: 'in', peer: '127.0.0.1:1', name: 'old', text: textOf('old ', i, 100), ts: t + i });
    }
    let store;
    if (a.fileStore) {
      nodeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-bench-node-'));
      if (old.length) fs.writeFileSync(path.join(nodeDir, 'history.jsonl'), old.map((m) => JSON.stringify(m)).join('\n') + '\n');
      store = new FileStore(nodeDir, 10_000);
    } else {
      const mem = new MemoryStore();
      mem.history = old;
      store = mem;
    }
    node = new PeerNode({ host: HOST, port: 0, name: a.name, advertisedIp: HOST, inactiveAfterSeconds: 0, limits: a.limits, store });
    node.on('message', (m) => {
      if (m.direction === 'in' && nodeInPrefix && m.text.startsWith(nodeInPrefix)) nodeIn.hit();
      for (const h of messageHooks) h(m);
    });
    node.on('log', (level, text) => {
      if (level !== 'warn' && level !== 'error') return;
      warnings++;
      if (lastWarnings.length < 5) lastWarnings.push(text.slice(0, 200));
    });
    await node.start();
    return { port: node.listeningPort, nodeId: node.nodeId, address: node.address };
  },

  'node.arm'(a: { prefix: string; n: number }) {
    nodeInPrefix = a.prefix;
    nodeIn.arm(a.n);
    warnings = 0;
    lastWarnings.length = 0;
    return {};
  },

  'node.collect'(a: { quietMs: number; timeoutMs: number }) {
    return nodeIn.collect(a.quietMs, a.timeoutMs);
  },

  async 'node.connect'(a: { address: string }) {
    const r = await needNode().connect(a.address);
    const peer = needNode().peerViews().find((p) => p.address === a.address);
    return { ok: r.ok, error: r.error, protocol: peer?.protocol, nodeId: peer?.nodeId, sessions: needNode().activeResources().sessions };
  },

  /** Sends n texts through PeerNode.send with at most `window` not yet delivered. */
  async 'node.sendNative'(a: { target: string; n: number; size: number; window: number; prefix: string; timeoutMs: number }) {
    const n0 = needNode();
    let sent = 0;
    let done = 0;
    let failed = 0;
    const seen = new Set<string>();
    let finish: (() => void) | undefined;
    let pumping = false;
    // pump() runs again from the receipts of earlier messages: `window` stay in flight.
    const pump = () => {
      if (pumping) return;
      pumping = true;
      try {
        while (sent < a.n && sent - done - failed < a.window) {
          const i = sent++;
          const fail = () => {
            failed++;
            queueMicrotask(pump);
          };
          n0.send(a.target, textOf(a.prefix, i, a.size)).then((r) => {
            if (!r.result.ok) fail();
          }, fail);
        }
      } finally {
        pumping = false;
      }
      if (done + failed >= a.n) finish?.();
    };
    const hook = (m: ChatMessage) => {
      if (m.direction !== 'out' || !delivered(m) || seen.has(m.id) || !m.text.startsWith(a.prefix)) return;
      seen.add(m.id);
      done++;
      queueMicrotask(pump);
    };
    messageHooks.add(hook);
    const t0 = nowUs();
    try {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, a.timeoutMs);
        finish = () => {
          clearTimeout(t);
          resolve();
        };
        pump();
      });
    } finally {
      messageHooks.delete(hook);
    }
    return { t0, tEnd: nowUs(), sent, delivered: done, failed };
  },

  /** n sequential sends, each waiting for its 'delivered' receipt: round-trip samples in µs. */
  async 'node.rtt'(a: { target: string; n: number; size: number; prefix: string }) {
    const n0 = needNode();
    const samples: number[] = [];
    const waiters = new Map<string, () => void>();
    const hook = (m: ChatMessage) => {
      if (m.direction === 'out' && delivered(m)) waiters.get(m.id)?.();
    };
    messageHooks.add(hook);
    try {
      for (let i = 0; i < a.n; i++) {
        const t = nowUs();
        let got: (() => void) | undefined;
        const arrived = new Promise<boolean>((resolve) => {
          got = () => resolve(true);
          setTimeout(() => resolve(false), 2000);
        });
        const { message } = await n0.send(a.target, textOf(a.prefix, i, a.size));
        waiters.set(message.id, got as () => void);
        const ok = delivered(message) || (await arrived);
        waiters.delete(message.id);
        if (!ok) throw new Error(`message ${i} was not delivered within 2 s`);
        samples.push(nowUs() - t);
      }
    } finally {
      messageHooks.delete(hook);
    }
    return { samples };
  },

  /** n classic sends through PeerNode.send to one classic peer, `concurrency` calls outstanding. */
  async 'node.sendClassic'(a: { target: string; n: number; size: number; prefix: string; concurrency: number; timeoutMs: number }) {
    const n0 = needNode();
    let issued = 0;
    let ok = 0;
    let failed = 0;
    const deadline = Date.now() + a.timeoutMs;
    const t0 = nowUs();
    const runner = async () => {
      while (issued < a.n && Date.now() < deadline) {
        const i = issued++;
        try {
          const r = await n0.send(a.target, textOf(a.prefix, i, a.size));
          if (r.result.ok) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: a.concurrency }, runner));
    return { t0, tEnd: nowUs(), ok, failed, issued };
  },

  /**
   * One broadcast. tFlushed: a setImmediate queued right after the call runs after the sessions'
   * own flushes (queued during the call), so it marks every frame handed to the kernel.
   */
  async 'node.broadcast'(a: { text: string }) {
    const t0 = nowUs();
    const p = needNode().broadcast(a.text);
    const tCall = nowUs();
    const tFlushed = await new Promise<number>((r) => setImmediate(() => r(nowUs())));
    const res = await p;
    return { t0, tCall, tFlushed, results: res.results.length, ok: res.results.filter((x) => x.ok).length };
  },

  'node.stats'() {
    const n0 = needNode();
    const mem = process.memoryUsage();
    return {
      history: n0.getHistory().length,
      sessions: n0.activeResources().sessions,
      peers: n0.peers.size,
      rssMiB: mem.rss / 1048576,
      heapMiB: mem.heapUsed / 1048576,
      warnings,
      lastWarnings: [...lastWarnings],
    };
  },

  async 'node.stop'() {
    await node?.shutdown();
    node = undefined;
    if (nodeDir) fs.rmSync(nodeDir, { recursive: true, force: true });
    nodeDir = undefined;
    return {};
  },
};

// ------------------------------------------------------------------------------------------ load

function classicPayload(headerPort: number, name: string, text: string): Buffer {
  return Buffer.from(`${HOST}:${headerPort} ${name} ${text}`, 'utf8');
}

/**
 * One classic message: connect, write, half-close. Closed loop (the default): resolves when the
 * receiver has closed too, so `concurrency` bounds what the receiver holds. Open loop
 * (untilWritten): resolves once the bytes and the FIN are handed to the kernel, as a classroom
 * sender's sendall + close, whatever the receiver does next.
 */
function classicOnce(port: number, payload: (unused?: number) => Buffer, errors: Record<string, number>, untilWritten = false, connectMs?: number[]): Promise<boolean> {
  return new Promise((resolve) => {
    let written = false;
    const t0 = nowUs();
    const s = net.connect({ host: HOST, port });
    s.setNoDelay(true);
    s.setTimeout(untilWritten ? 15_000 : 5000, () => s.destroy(new Error('ETIMEDOUT')));
    s.on('connect', () =>
      s.end(payload(connectMs?.push((nowUs() - t0) / 1000)), () => {
        written = true;
        if (untilWritten) resolve(true);
      }),
    );
    s.on('error', (e: NodeJS.ErrnoException) => {
      const k = e.code ?? e.message;
      errors[k] = (errors[k] ?? 0) + 1;
    });
    s.on('close', () => resolve(written));
  });
}

const loadCommands = {
  /** n classic messages into `port` with `concurrency` connections in flight. */
  async 'load.classic'(a: { port: number; n: number; concurrency: number; size: number; prefix: string; headerPort: number; name: string; timeoutMs: number }) {
    let issued = 0;
    let ok = 0;
    let failed = 0;
    const errors: Record<string, number> = {};
    const deadline = Date.now() + a.timeoutMs;
    const t0 = nowUs();
    const runner = async () => {
      while (issued < a.n && Date.now() < deadline) {
        const i = issued++;
        if (await classicOnce(a.port, () => classicPayload(a.headerPort, a.name, textOf(a.prefix, i, a.size)), errors)) ok++;
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: a.concurrency }, runner));
    return { t0, tEnd: nowUs(), ok, failed, issued, errors };
  },

  /**
   * A paced burst for the end-to-end test: `rate` messages a second for `seconds`, open loop
   * (each sender writes and closes, as classroom senders do; at most maxInFlight not yet written).
   * Each text starts with "pcb<i>@<wall ms>", the wall-clock time taken just before the write,
   * for the webview to compute the latency.
   */
  async 'load.paced'(a: { port: number; rate: number; seconds: number; maxInFlight: number; size: number; headerPort: number; name: string; markdown?: boolean }) {
    const total = Math.round(a.rate * a.seconds);
    const errors: Record<string, number> = {};
    let issued = 0;
    let inFlight = 0;
    let ok = 0;
    let failed = 0;
    let maxLagMs = 0;
    const connectMs: number[] = [];
    const start = wallMs();
    const hardStop = start + a.seconds * 1000 + 20_000;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = wallMs();
        const due = Math.min(total, Math.floor(((now - start) / 1000) * a.rate));
        while (issued < due && inFlight < a.maxInFlight) {
          const i = issued++;
          inFlight++;
          maxLagMs = Math.max(maxLagMs, now - (start + (i / a.rate) * 1000));
          const payload = () => {
            const stamp = `pcb${a.markdown ? 1_000_000 + i : i}@${wallMs().toFixed(3)}`; // the runs' ids never meet
            // Markdown on one line (a classic message ends at a line end): strong, a code span, a
            // link and a code location, so every message takes the Markdown path of the chat.
            const head = a.markdown ? `**${stamp}** see \`x${i}()\` in src/core/node.ts:${(i % 300) + 1} and _[docs](https://example.com/${i})_ ` : `${stamp} `;
            return classicPayload(a.headerPort, a.name, head + PAD.slice(0, Math.max(0, a.size - head.length)));
          };
          void classicOnce(a.port, payload, errors, true, connectMs).then((w) => {
            inFlight--;
            if (w) ok++;
            else failed++;
          });
        }
        if ((issued >= total && inFlight === 0) || now > hardStop) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 2);
    });
    const sorted = connectMs.sort((x, y) => x - y);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
    return { total, issued, ok, failed, errors, elapsedMs: wallMs() - start, maxLagMs, connectP50: at(0.5), connectP99: at(0.99) };
  },

  /** Wall clock of this process, for clock-offset calibration against a browser. */
  'load.wallMs'() {
    return { wallMs: wallMs() };
  },
};

// ------------------------------------------------------------------------------------------ recv

let recvServer: net.Server | undefined;
const recvIn = new Counter();

const recvCommands = {
  async 'recv.start'() {
    recvServer = net.createServer((s) => {
      let got = 0;
      s.on('data', (d) => (got += d.length));
      s.on('end', () => {
        if (got > 0) recvIn.hit();
        s.end();
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => recvServer!.listen({ host: HOST, port: 0, backlog: 1024 }, r));
    return { port: (recvServer.address() as net.AddressInfo).port };
  },
  'recv.arm'(a: { n: number }) {
    recvIn.arm(a.n);
    return {};
  },
  'recv.collect'(a: { quietMs: number; timeoutMs: number }) {
    return recvIn.collect(a.quietMs, a.timeoutMs);
  },
};

// ------------------------------------------------------------------------------------------ echo

let echoServer: net.Server | undefined;

const echoCommands = {
  /** Baseline: a plain TCP echo server (what a round trip costs with no PeerChat code at all). */
  async 'echo.start'() {
    echoServer = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('data', (d) => s.write(d));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => echoServer!.listen({ host: HOST, port: 0 }, r));
    return { port: (echoServer.address() as net.AddressInfo).port };
  },
  /** n sequential 32-byte writes, each until the echo is back. */
  async 'echo.rtt'(a: { port: number; n: number }) {
    const s = net.connect({ host: HOST, port: a.port });
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    const msg = Buffer.alloc(32, 1);
    const samples: number[] = [];
    let want = 0;
    let wake: (() => void) | undefined;
    s.on('data', (d) => {
      want -= d.length;
      if (want <= 0) wake?.();
    });
    try {
      for (let i = 0; i < a.n; i++) {
        const t = nowUs();
        want = msg.length;
        const ok = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 2000);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
          s.write(msg);
        });
        if (!ok) throw new Error('echo timed out');
        samples.push(nowUs() - t);
      }
    } finally {
      s.destroy();
    }
    return { samples };
  },
};

// ------------------------------------------------------------------------------------------ plain

let plainServer: net.Server | undefined;
const plainAccepted: net.Socket[] = [];
const plainClients: net.Socket[] = [];
const plainIn = new Counter();

const plainCommands = {
  /** Baseline for the fan-out: a server that writes the same bytes to every accepted socket. */
  async 'plain.server'() {
    plainServer = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('error', () => undefined);
      plainAccepted.push(s);
    });
    await new Promise<void>((r) => plainServer!.listen({ host: HOST, port: 0, backlog: 1024 }, r));
    return { port: (plainServer.address() as net.AddressInfo).port };
  },
  'plain.count'() {
    return { accepted: plainAccepted.length };
  },
  /** Writes `bytes` bytes to every accepted socket in one loop. */
  'plain.broadcast'(a: { bytes: number }) {
    const data = Buffer.alloc(a.bytes, 120);
    const t0 = nowUs();
    for (const s of plainAccepted) s.write(data);
    return { t0, tWritten: nowUs() };
  },
  /** `count` plain TCP clients; each counts one arrival per armed round. */
  async 'plain.connect'(a: { port: number; count: number }) {
    for (let i = 0; i < a.count; i++) {
      const s = net.connect({ host: HOST, port: a.port });
      s.setNoDelay(true);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      const state = { got: false };
      s.on('data', () => {
        const t = nowUs();
        if (!state.got) {
          state.got = true;
          plainIn.hit(t);
        }
      });
      (s as net.Socket & { benchState?: { got: boolean } }).benchState = state;
      plainClients.push(s);
    }
    return { clients: plainClients.length };
  },
  'plain.arm'() {
    for (const s of plainClients) (s as net.Socket & { benchState?: { got: boolean } }).benchState!.got = false;
    plainIn.arm(plainClients.length);
    return {};
  },
  'plain.collect'(a: { timeoutMs: number }) {
    return plainIn.collect(a.timeoutMs, a.timeoutMs);
  },
  'plain.close'() {
    for (const s of [...plainAccepted, ...plainClients]) s.destroy();
    plainAccepted.length = 0;
    plainClients.length = 0;
    plainServer?.close();
    return {};
  },
};

// ------------------------------------------------------------------------------------------ peers

interface RawPeer {
  /** The TLS stream once secured (frames go over it). */
  socket: Duplex;
  ready: boolean;
  gotMarker: boolean;
  onPong?: () => void;
}

const rawPeers: RawPeer[] = [];
const rawIn = new Counter();
let rawMarker = '';

function encode(f: object): Buffer {
  const body = Buffer.from(JSON.stringify(f), 'utf8');
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

interface Credentials {
  nodeId: string;
  creds: TlsCredentials;
}

/** A new identity (EC key + self-signed certificate), as a node makes at first start. */
async function newCredentials(): Promise<Credentials> {
  const id = Identity.create();
  return { nodeId: id.nodeId, creds: await id.tls() };
}

/**
 * Dials the node as a PeerChat client: wait for the banner, echo it, TLS 1.3 as the dialing side
 * (its own identity), hello naming the proven id, then frames.
 */
function rawPeer(port: number, i: number, me: Credentials): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const tcp = net.connect({ host: HOST, port });
    tcp.setNoDelay(true);
    const peer: RawPeer = { socket: tcp, ready: false, gotMarker: false };
    const banner = Buffer.from(BANNER);
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      peer.socket.destroy();
      reject(new Error(`raw peer ${i}: no handshake within 10 s`));
    }, 10_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    tcp.on('error', fail);
    const onBanner = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (buf.length < banner.length) return;
      tcp.off('data', onBanner);
      if (!buf.subarray(0, banner.length).equals(banner)) {
        tcp.destroy();
        fail(new Error(`raw peer ${i}: unexpected bytes instead of the banner`));
        return;
      }
      tcp.write(banner);
      void secureConnection(tcp, buf.subarray(banner.length), true, me.creds, 10_000).then((sec) => {
        if (!sec.ok) {
          fail(new Error(`raw peer ${i}: ${sec.error}`));
          return;
        }
        frames(sec.stream);
      });
    };
    tcp.on('data', onBanner);
    const frames = (stream: Duplex) => {
      peer.socket = stream;
      buf = Buffer.alloc(0);
      stream.on('error', () => undefined);
      stream.write(encode({ type: 'hello', v: PROTOCOL_VERSION, nodeId: me.nodeId, name: `p${i}`, listen: `${HOST}:${20000 + i}` }));
      stream.on('data', (d: Buffer) => {
        const arrivedUs = nowUs();
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        let off = 0;
        while (buf.length - off >= 4) {
          const len = buf.readUInt32BE(off);
          if (buf.length - off - 4 < len) break;
          const f = JSON.parse(buf.toString('utf8', off + 4, off + 4 + len)) as { type: string; id?: string; text?: string };
          off += 4 + len;
          if (f.type === 'hello' && !peer.ready) {
            peer.ready = true;
            clearTimeout(timer);
            resolve(peer);
          } else if (f.type === 'chat') {
            if (rawMarker && !peer.gotMarker && f.text?.startsWith(rawMarker)) {
              peer.gotMarker = true;
              rawIn.hit(arrivedUs);
            }
            // Receipts go after this turn's reads, so that the crowd's own writes do not delay
            // the arrival times measured on the other sockets.
            const ack = encode({ type: 'ack', id: f.id });
            setImmediate(() => stream.write(ack));
          } else if (f.type === 'ping') {
            stream.write(encode({ type: 'pong' }));
          } else if (f.type === 'pong') {
            peer.onPong?.();
          }
        }
        buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
      });
    };
  });
}

const peersCommands = {
  /** Adds `count` raw native peers, `concurrency` handshakes at a time. */
  async 'peers.connect'(a: { port: number; count: number; concurrency: number }) {
    // Every peer is its own node: its own key and certificate, made before the clock starts.
    const ids: Credentials[] = [];
    for (let k = 0; k < a.count; k++) ids.push(await newCredentials());
    const t0 = Date.now();
    let next = 0;
    const base = rawPeers.length;
    const runner = async () => {
      while (next < a.count) {
        const k = next++;
        rawPeers.push(await rawPeer(a.port, base + k, ids[k]));
      }
    };
    await Promise.all(Array.from({ length: Math.min(a.concurrency, a.count) }, runner));
    return { peers: rawPeers.length, tookMs: Date.now() - t0 };
  },
  'peers.arm'(a: { marker: string }) {
    rawMarker = a.marker;
    for (const p of rawPeers) p.gotMarker = false;
    rawIn.arm(rawPeers.length);
    return {};
  },
  'peers.collect'(a: { timeoutMs: number }) {
    return rawIn.collect(a.timeoutMs, a.timeoutMs);
  },
  /** Session-level round trips: n sequential ping frames on the first peer, each until its pong. */
  async 'peers.ping'(a: { n: number }) {
    const p = rawPeers[0];
    if (!p) throw new Error('no raw peer');
    const samples: number[] = [];
    const ping = encode({ type: 'ping' });
    for (let i = 0; i < a.n; i++) {
      const t = nowUs();
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2000);
        p.onPong = () => {
          clearTimeout(timer);
          resolve(true);
        };
        p.socket.write(ping);
      });
      p.onPong = undefined;
      if (!ok) throw new Error(`no pong within 2 s (ping ${i})`);
      samples.push(nowUs() - t);
    }
    return { samples };
  },
  'peers.close'() {
    for (const p of rawPeers) p.socket.destroy();
    rawPeers.length = 0;
    return {};
  },
};

// ------------------------------------------------------------------------------------------ sess

type SessMode = 'plain' | 'tls';
const sessServers: net.Server[] = [];
const sessions: Partial<Record<SessMode, NativeSession>> = {};
const sessIn = new Counter();
let sessPrefix = '';
let sessMe: Credentials | undefined;
const NO_BYTES = Buffer.alloc(0);

function sessionOptions(initiator: boolean, nodeId: string, provenNodeId?: string) {
  return {
    nodeId,
    name: initiator ? 'tx' : 'rx',
    listen: `${HOST}:1`,
    initiator,
    maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
    heartbeatMs: DEFAULT_LIMITS.heartbeatMs,
    deadAfterMs: DEFAULT_LIMITS.deadAfterMs,
    highWaterBytes: DEFAULT_LIMITS.highWaterBytes,
    maxQueuedBytes: DEFAULT_LIMITS.maxQueuedBytes,
    handshakeMs: DEFAULT_LIMITS.handshakeMs,
    provenNodeId,
  };
}

/**
 * A NativeSession on a connected TCP socket: directly (plain), or on the TLS stream the product's
 * secureConnection makes of it, the hello then having to name the proven id (as PeerNode does).
 */
async function sessionOn(socket: net.Socket, mode: SessMode, initiator: boolean): Promise<NativeSession> {
  if (mode === 'plain') return new NativeSession(socket, sessionOptions(initiator, randomBytes(8).toString('hex')));
  sessMe ??= await newCredentials();
  const sec = await secureConnection(socket, NO_BYTES, initiator, sessMe.creds, DEFAULT_LIMITS.handshakeMs);
  if (!sec.ok) throw new Error(sec.error);
  return new NativeSession(sec.stream, sessionOptions(initiator, sessMe.nodeId, sec.peerId));
}

const sessCommands = {
  /** Two listeners, one plain and one TLS, counting chat frames into the same counter. */
  async 'sess.server'() {
    sessMe ??= await newCredentials();
    const ports: Record<string, number> = {};
    for (const mode of ['plain', 'tls'] as const) {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        sessionOn(socket, mode, false).then(
          (s) =>
            s.on('frame', (f) => {
              if (f.type === 'chat' && sessPrefix && f.text.startsWith(sessPrefix)) sessIn.hit();
            }),
          () => socket.destroy(),
        );
      });
      await new Promise<void>((r) => server.listen({ host: HOST, port: 0 }, r));
      sessServers.push(server);
      ports[mode] = (server.address() as net.AddressInfo).port;
    }
    return { port: ports.plain, tlsPort: ports.tls };
  },
  'sess.arm'(a: { prefix: string; n: number }) {
    sessPrefix = a.prefix;
    sessIn.arm(a.n);
    return {};
  },
  'sess.collect'(a: { quietMs: number; timeoutMs: number }) {
    return sessIn.collect(a.quietMs, a.timeoutMs);
  },
  async 'sess.client'(a: { port: number; mode?: SessMode }) {
    const mode = a.mode ?? 'plain';
    const socket = net.connect({ host: HOST, port: a.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const s = await sessionOn(socket, mode, true);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no session handshake within 5 s')), 5000);
      s.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
    sessions[mode] = s;
    return {};
  },
  /** Writes n chat frames as fast as the session takes them (waits on 'drain' when it refuses). */
  async 'sess.burst'(a: { n: number; size: number; prefix: string; timeoutMs: number; mode?: SessMode }) {
    const s = sessions[a.mode ?? 'plain'];
    if (!s) throw new Error(`no ${a.mode ?? 'plain'} session`);
    const deadline = Date.now() + a.timeoutMs;
    const frame = (i: number): ChatFrame => ({ type: 'chat', id: `b${i}`, origin: 'bench', originName: 'tx', ts: Date.now(), conv: 'direct', text: textOf(a.prefix, i, a.size), hops: 0 });
    const t0 = nowUs();
    let i = 0;
    while (i < a.n && Date.now() < deadline) {
      if (s.trySend(frame(i))) {
        i++;
        continue;
      }
      // The session refuses while its unflushed batch is over highWaterBytes. Its 'drain' event
      // comes only from the socket's, which never fires when the kernel takes the batch at once
      // (loopback): so also watch the queued bytes, one event-loop turn at a time.
      await new Promise<void>((r) => {
        const low = DEFAULT_LIMITS.highWaterBytes / 2;
        const check = () => (s.queuedBytes <= low || Date.now() > deadline ? r() : setImmediate(check));
        setImmediate(check);
      });
    }
    return { t0, tQueued: nowUs(), sent: i };
  },
};

// ------------------------------------------------------------------------------------------ tls

let tlsServer: net.Server | undefined;
/** Accepting side: when each accepted connection's secureConnection resolved ok, in order. */
const tlsServerOk: number[] = [];
let tlsServerFailed = 0;

const tlsCommands = {
  /**
   * The accepting side of bare TLS handshakes: secureConnection as the server (as a node does after
   * the banner), then one byte back so the client knows this side is done before it closes.
   */
  async 'tls.server'() {
    const me = await newCredentials();
    tlsServer = net.createServer((socket) => {
      socket.on('error', () => undefined);
      void secureConnection(socket, NO_BYTES, false, me.creds, 5000).then((sec) => {
        if (!sec.ok) {
          tlsServerFailed++;
          return;
        }
        tlsServerOk.push(nowUs());
        sec.stream.on('error', () => undefined);
        sec.stream.write('k');
      });
    });
    await new Promise<void>((r) => tlsServer!.listen({ host: HOST, port: 0, backlog: 1024 }, r));
    return { port: (tlsServer.address() as net.AddressInfo).port };
  },
  /** Server-side ok times recorded since the last call (and clears them). */
  'tls.serverTimes'() {
    const times = tlsServerOk.splice(0);
    const failed = tlsServerFailed;
    tlsServerFailed = 0;
    return { times, failed };
  },
  /**
   * n sequential handshakes: t0 before net.connect, tConnect at 'connect', tOk when this side's
   * secureConnection resolved; each waits for the server's byte (its ok) before closing.
   */
  async 'tls.handshakes'(a: { port: number; n: number }) {
    const me = await newCredentials();
    const t0: number[] = [];
    const tConnect: number[] = [];
    const tOk: number[] = [];
    for (let i = 0; i < a.n; i++) {
      const start = nowUs();
      const socket = net.connect({ host: HOST, port: a.port });
      socket.setNoDelay(true);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const connected = nowUs();
      const sec = await secureConnection(socket, NO_BYTES, true, me.creds, 5000);
      const ok = nowUs();
      if (!sec.ok) throw new Error(`handshake ${i}: ${sec.error}`);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`handshake ${i}: the server never confirmed`)), 5000);
        sec.stream.once('data', () => {
          clearTimeout(t);
          resolve();
        });
      });
      sec.stream.destroy();
      t0.push(start);
      tConnect.push(connected);
      tOk.push(ok);
    }
    return { t0, tConnect, tOk };
  },
};

// ------------------------------------------------------------------------------------------ dial

const dialCommands = {
  /**
   * n fresh dials: each a new PeerNode (new identity, MemoryStore) started untimed, then
   * PeerNode.connect(address) timed until it resolves with a ready native session, then shut down.
   */
  async 'dial.fresh'(a: { address: string; n: number }) {
    const samples: number[] = [];
    for (let i = 0; i < a.n; i++) {
      const d = new PeerNode({ host: HOST, port: 0, name: `dialer${i}`, advertisedIp: HOST, inactiveAfterSeconds: 0, store: new MemoryStore() });
      await d.start();
      try {
        const t0 = nowUs();
        const r = await d.connect(a.address);
        const t1 = nowUs();
        const peer = d.peerViews().find((p) => p.address === a.address);
        if (!r.ok || peer?.protocol !== 'native') throw new Error(`dial ${i}: no native session (${r.error ?? peer?.protocol})`);
        samples.push(t1 - t0);
      } finally {
        await d.shutdown();
      }
    }
    return { samples };
  },
};

// ------------------------------------------------------------------------------------------ ipc

type Handler = (a: never) => unknown;
const commands: Record<string, Handler> = {
  hello: () => ({ pid: process.pid }),
  sleep: (a: { ms: number }) => sleep(a.ms).then(() => ({})),
  exit: () => {
    setImmediate(() => process.exit(0));
    return {};
  },
  ...nodeCommands,
  ...loadCommands,
  ...recvCommands,
  ...echoCommands,
  ...plainCommands,
  ...peersCommands,
  ...sessCommands,
  ...tlsCommands,
  ...dialCommands,
};

process.on('message', (msg: { id: number; cmd: string; args: never }) => {
  const h = commands[msg.cmd];
  Promise.resolve()
    .then(() => {
      if (!h) throw new Error(`unknown command ${msg.cmd}`);
      return h(msg.args);
    })
    .then(
      (result) => process.send?.({ id: msg.id, result }),
      (err: Error) => process.send?.({ id: msg.id, error: String(err?.stack ?? err) }),
    );
});

// A FileStore folder never outlives the worker.
process.on('exit', () => {
  if (nodeDir) fs.rmSync(nodeDir, { recursive: true, force: true });
});

// The parent going away ends this worker: nothing is left listening.
process.on('disconnect', () => process.exit(0));
