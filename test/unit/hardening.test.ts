// Hardening tests of the node that anyone on the network can reach (issue 5, "Hardening"):
// fuzzing the port, slow-loris, a connection flood, every bound of limits.ts, and a shutdown that
// leaves nothing behind. In-process, against a real PeerNode on 127.0.0.1 (clients also bind
// 127.0.0.2.. as source addresses: Linux loopback answers the whole 127/8). Limits are shrunk
// through the node's `limits` option so that every test is fast.
//
// Fuzz inputs come from a seeded PRNG: HARDENING_SEED=<n> picks another input sequence (the seed is
// printed; inputs run concurrently, so timing and the order they reach the node still vary).
// Every valid address a fuzz input carries points at a sink server of this file, so nothing the
// node learns from the fuzz can make it (or the native peer that learns from it) dial a port that
// belongs to another test running at the same time.
import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { after, afterEach, before, describe, it } from 'node:test';
import { tryParseAddress } from '../../src/core/address';
import type { ChatMessage } from '../../src/core/chatTypes';
import type { Limits } from '../../src/core/limits';
import { Identity } from '../../src/core/identity/identity';
import { BANNER, PROTOCOL_VERSION } from '../../src/core/native/frames';
import { LogLevel, NodeOptions, PeerNode } from '../../src/core/node';
import type { Store } from '../../src/core/store';
import { ClassicReceiver, classicReceiver } from '../support/classicReceiver';
import { FakeNativePeer, fakeNativePeer, frame, lengthPrefix } from '../support/fakeNativePeer';
import { rawSend } from '../support/rawSend';
import { Rng } from '../support/rng';
import { delay, until, within } from '../support/until';

const HOST = '127.0.0.1';
const SEED = Number(process.env.HARDENING_SEED ?? 0x5eed_c4a7) >>> 0;

// ------------------------------------------------------------------------------------------ tools

/** Runs fn(0..count-1) with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** A store that keeps nothing, so that memory measured is the node's own. */
class NullStore implements Store {
  readonly identity = Identity.create();
  outbox: unknown[] = [];
  loadPeers() {
    return [];
  }
  savePeers(): void {}
  loadHistory() {
    return [];
  }
  appendHistory(): void {}
  rewriteHistory(): void {}
  loadOutbox() {
    return [];
  }
  saveOutbox(entries: unknown[]): void {
    this.outbox = entries;
  }
  loadIdentity() {
    return this.identity;
  }
  flush(): void {}
}

interface LogLine {
  level: LogLevel;
  text: string;
  at: number;
}

interface TestNode {
  node: PeerNode;
  logs: LogLine[];
  port: number;
  addr: string;
  store: NullStore;
}

const liveNodes = new Set<PeerNode>();
const liveSockets = new Set<net.Socket>();
const liveServers = new Set<net.Server>();
const liveReceivers = new Set<ClassicReceiver>();

async function startNode(name: string, limits: Partial<Limits> = {}, o: Partial<NodeOptions> = {}, keepLogs = 20_000): Promise<TestNode> {
  const store = new NullStore();
  const node = new PeerNode({
    host: HOST,
    port: 0,
    name,
    advertisedIp: HOST,
    inactiveAfterSeconds: 0,
    store,
    ...o,
    limits: { probeWaitMs: 150, reconnectBaseMs: 50, reconnectMaxMs: 300, sendRetries: 1, sendRetryBaseMs: 50, shutdownGraceMs: 500, ...limits },
  });
  const logs: LogLine[] = [];
  node.on('log', (level, text) => {
    if (level === 'trace') return;
    logs.push({ level, text, at: Date.now() });
    if (logs.length > keepLogs) logs.splice(0, logs.length - keepLogs / 2);
  });
  liveNodes.add(node);
  await node.start();
  return { node, logs, port: node.listeningPort, addr: `${HOST}:${node.listeningPort}`, store };
}

async function stopNode(t: TestNode | PeerNode | undefined): Promise<void> {
  const n = t instanceof PeerNode ? t : t?.node;
  if (!n) return;
  liveNodes.delete(n);
  await n.stop();
}

/** What the node holds open, seen from inside (private fields; 0 when they are gone). */
function held(n: PeerNode): { classic: number; handshaking: number; sessions: number } {
  const pub = (n as unknown as { activeResources?: () => { incoming: number; handshaking: number; sessions: number } }).activeResources?.();
  if (pub) return { classic: pub.incoming, handshaking: pub.handshaking, sessions: pub.sessions };
  const x = n as unknown as { listener?: { connectionCount?: number }; handshaking?: { size: number }; sessions?: { size: number } };
  return { classic: x.listener?.connectionCount ?? 0, handshaking: x.handshaking?.size ?? 0, sessions: x.sessions?.size ?? 0 };
}

/** Incoming connections the node holds from one remote IP (its per-address count). */
function heldFrom(n: PeerNode, ip: string): number {
  const perIp = (n as unknown as { listener?: { perIp?: unknown } }).listener?.perIp;
  if (perIp instanceof Map) return Number(perIp.get(ip) ?? 0);
  return held(n).classic; // the count is private: the total is an upper bound
}

/**
 * Server-side TCP sockets on `port` the kernel still has open for a process (ESTABLISHED,
 * SYN_RECV, CLOSE_WAIT), seen from outside the node; -1 where /proc/net/tcp does not exist.
 */
function kernelHeld(port: number): number {
  let text: string;
  try {
    text = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return -1;
  }
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (f[1].endsWith(hex) && (f[3] === '01' || f[3] === '03' || f[3] === '08')) n++;
  }
  return n;
}

/** Waits until the kernel holds no server-side socket on `port` (polled slowly: see kernelHeld). */
async function kernelClear(port: number, ms = 3000): Promise<void> {
  if (kernelHeld(port) < 0) return;
  await until(`the kernel to hold no server-side socket on port ${port}`, () => kernelHeld(port) === 0, ms, () => `it still holds ${kernelHeld(port)}`, 100);
}

function connect(port: number, localAddress = HOST): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port, localAddress });
    liveSockets.add(s);
    s.on('close', () => liveSockets.delete(s));
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Watches a client socket: what the node wrote, and when (if) it closed. */
function watch(s: net.Socket): { data: () => Buffer; closed: () => boolean; closedAt: () => number | undefined; waitClose(ms: number): Promise<boolean> } {
  const chunks: Buffer[] = [];
  let closedAt: number | undefined;
  const waiters: (() => void)[] = [];
  s.on('data', (d: Buffer) => {
    if (chunks.length < 64) chunks.push(d);
  });
  s.on('close', () => {
    closedAt = Date.now();
    waiters.splice(0).forEach((w) => w());
  });
  return {
    data: () => Buffer.concat(chunks),
    closed: () => closedAt !== undefined,
    closedAt: () => closedAt,
    waitClose: (ms) =>
      closedAt !== undefined
        ? Promise.resolve(true)
        : new Promise((resolve) => {
            const t = setTimeout(() => resolve(false), ms);
            waiters.push(() => {
              clearTimeout(t);
              resolve(true);
            });
          }),
  };
}

/** A silent server that counts who connects: where every valid fuzz address points. */
async function sink(): Promise<{ port: number; connections: () => number; server: net.Server }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    liveSockets.add(s);
    s.on('error', () => {});
    s.on('close', () => liveSockets.delete(s));
    s.on('end', () => s.destroy());
    s.setTimeout(3000, () => s.destroy());
  });
  liveServers.add(server);
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => n, server };
}

/** A classic receiver (test/support), closed after the file. */
async function receiver(): Promise<ClassicReceiver> {
  const r = await classicReceiver(HOST);
  liveReceivers.add(r);
  return r;
}

async function closeReceiver(r: ClassicReceiver): Promise<void> {
  liveReceivers.delete(r);
  await r.close();
}

function closeServer(s: net.Server): Promise<void> {
  liveServers.delete(s);
  return new Promise((r) => s.close(() => r()));
}

/**
 * A hand-driven native client (test/support): connects from `localAddress`, waits for the banner,
 * echoes it. Undefined when the node never sent the banner (it refused or closed the connection).
 */
async function nativeRaw(port: number, localAddress = HOST): Promise<FakeNativePeer | undefined> {
  const c = await fakeNativePeer(port, { localAddress });
  if (!c) return undefined;
  liveSockets.add(c.socket);
  c.socket.on('close', () => liveSockets.delete(c.socket));
  return c;
}

const hello = (nodeId: string, listen: string, extra: object = {}) => ({ type: 'hello', v: PROTOCOL_VERSION, nodeId, name: 'fz', listen, ...extra });

/** Classic message in: a normal sender delivers one, from `localAddress`. */
async function assertClassicIn(t: TestNode, from: string, localAddress = HOST, ms = 4000): Promise<void> {
  const text = `classic-in-${Math.random().toString(36).slice(2)}`;
  await rawSend(t.port, `${from} probe ${text}`, { localAddress, timeoutMs: 2000 });
  await until(`classic message "${text}" from ${from} in the node's history`, () => t.node.getHistory().find((m) => m.direction === 'in' && m.text === text && m.peer === from), ms, () =>
    t.logs.slice(-8).map((l) => `  ${l.level} ${l.text}`).join('\n'),
  );
}

/** Classic message out: the node sends one to a classic receiver. */
async function assertClassicOut(t: TestNode, r: { addr: string; got: string[] }): Promise<void> {
  const text = `classic-out-${Math.random().toString(36).slice(2)}`;
  const { result } = await t.node.send(r.addr, text);
  assert.equal(result.ok, true, `send to ${r.addr} failed: ${result.error}`);
  await until(`the classic receiver to get "${text}"`, () => r.got.find((g) => g.endsWith(text) && g.startsWith(`${t.addr} `)));
}

/** A second PeerNode connects natively and delivers a message with its receipt. */
async function assertNative(t: TestNode, b: TestNode): Promise<void> {
  const r = await b.node.connect(t.addr);
  assert.equal(r.ok, true, `native connect failed: ${r.error}`);
  assert.equal(b.node.peers.get(t.addr)?.protocol, 'native');
  const text = `native-${Math.random().toString(36).slice(2)}`;
  const { message, result } = await b.node.send(`node:${t.node.nodeId}`, text);
  assert.equal(result.ok, true, result.error);
  await until(`"${text}" in the node's history`, () => t.node.getHistory().find((m) => m.direction === 'in' && m.text === text));
  await until(`a receipt for "${text}"`, () => {
    const s = b.node.getHistory().find((m) => m.id === message.id)?.state;
    return s === 'delivered' || s === 'read';
  });
}

function gcFn(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

async function heapAfterGc(): Promise<number> {
  const gc = gcFn();
  for (let i = 0; i < 3; i++) {
    gc?.();
    await delay(30); // part of the measurement: finalizers and weak callbacks run between passes
  }
  return process.memoryUsage().heapUsed;
}

/** An address whose host is dotted digits but no IP: "999.1.1.1", "1.2.3" (no DNS name is all digits). */
function numericPseudoHost(addr: string): boolean {
  const a = tryParseAddress(addr);
  return !!a && /^[\d.]+$/.test(a.host) && !net.isIP(a.host);
}

// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

after(async () => {
  await Promise.all([...liveNodes].map((n) => n.stop().catch(() => undefined)));
  for (const s of liveSockets) s.destroy();
  await Promise.all([...liveServers].map((s) => closeServer(s)));
  await Promise.all([...liveReceivers].map((r) => closeReceiver(r)));
});

// ------------------------------------------------------------------------------------------ fuzz

/** How one fuzz input travels. */
type FuzzInput =
  | { kind: string; via: 'classic'; chunks: Buffer[]; close: 'end' | 'destroy' | 'hold'; gapMs: number }
  | { kind: string; via: 'native'; frames: Buffer[]; close: 'end' | 'wait' };

const BAD_ADDRESSES = [
  '999.1.1.1:5000', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:99999', '127.0.0.1:-1', ':5000', '127.0.0.1:', '[::1:5000', '[zz]:5000',
  '127.0.0.1:80:80', '127.0.0.1:0x50', '127.0.0.1:５０００', '1.2.3:4', '-bad-.host:5000', `${'a'.repeat(300)}.com:5000`, '127.0.0.1 :5000',
  '<127.0.0.1:0>', '[]:1', 'LISTENING_PORT:0|TEAM_NAME:x|hi', 'LISTENING_PORT:70000|TEAM_NAME:x|hi', 'CONNECT:0', 'CONNECT:65536',
  '\u202e127.0.0.1:5000', '127.0.0.1:5000\u0000', '０.０.０.０:5000', '::ffff:127.0.0.1:5000',
];

const INVALID_UTF8 = [[0xc3, 0x28], [0xa0, 0xa1], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xff], [0xfe, 0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]];

function fuzzGenerator(rng: Rng, o: { sinkAddr: string; sinkPort: number; selfAddr: string; maxIncomingBytes: number; maxFrameBytes: number; selfNodeId: string }) {
  const templates = [
    `${o.sinkAddr} fz hello there`,
    `${o.sinkAddr} fz PING`,
    `${o.sinkAddr} fz exit`,
    `${o.sinkAddr} fz Hello, I am connecting!`,
    `${o.sinkAddr} fz Broadcast Message`,
    `<${o.sinkAddr}> @ <fz>\nhello\n<end>`,
    `<${o.sinkAddr}> [2024-01-01 10:00:00] @ <fz>\nhello\n`,
    `<${o.sinkAddr}> fz hello`,
    `LISTENING_PORT:${o.sinkPort}|TEAM_NAME:fz|hello`,
    `{"type":"message","content":"<${o.sinkAddr}> fz hi","sender_name":"fz","sender_port":${o.sinkPort}}`,
    `${o.sinkPort}\nCONNECT\n${o.sinkAddr} fz line one\n`,
    `fz : headerless hi`,
    `CONNECT:${o.sinkPort}`,
    `${o.sinkAddr} CONNECT_REQUEST`,
    'Connection Request',
    'DISCONNECT',
    `${o.selfAddr} fz claims to be you`,
  ];
  const mutate = (b: Buffer): Buffer => {
    const a = [...b];
    const n = rng.int(1, 8);
    for (let i = 0; i < n; i++) {
      const at = rng.int(0, Math.max(0, a.length - 1));
      switch (rng.int(0, 4)) {
        case 0:
          a[at] = rng.int(0, 255);
          break;
        case 1:
          a.splice(at, 0, rng.int(0, 255));
          break;
        case 2:
          a.splice(at, 1);
          break;
        case 3:
          a.splice(at, 0, ...a.slice(at, at + rng.int(1, 16)));
          break;
        default:
          a[at] = rng.pick([0x20, 0x3a, 0x0a, 0x3c, 0x3e, 0x7c, 0x7b, 0x22, 0x00]);
      }
    }
    return Buffer.from(a);
  };
  const splitChunks = (b: Buffer): Buffer[] => {
    if (b.length < 2 || !rng.chance(0.25)) return [b];
    const out: Buffer[] = [];
    let off = 0;
    while (off < b.length) {
      const n = rng.int(1, Math.max(1, Math.ceil(b.length / 3)));
      out.push(b.subarray(off, off + n));
      off += n;
    }
    return out;
  };
  const classic = (kind: string, b: Buffer, close?: 'end' | 'destroy' | 'hold'): FuzzInput => ({
    kind,
    via: 'classic',
    chunks: splitChunks(b),
    close: close ?? (rng.chance(0.8) ? 'end' : rng.pick(['destroy', 'hold'] as const)),
    gapMs: rng.pick([0, 0, 5, 200]),
  });
  const anyAddress = () => rng.pick([o.sinkAddr, o.sinkAddr, o.selfAddr, rng.pick(BAD_ADDRESSES), rng.printable(rng.int(0, 20)), '']);
  const weird = (): unknown =>
    rng.pick<() => unknown>([
      () => rng.printable(rng.int(0, 40)),
      () => rng.int(-1e9, 1e9),
      () => 1e308,
      () => -0.5,
      () => null,
      () => true,
      () => [],
      () => ({}),
      () => [rng.printable(5)],
      () => 'x'.repeat(rng.int(60, 300)),
      () => '\u202e\u0000\u200b<script>alert(1)</script>',
    ])();
  const validChat = () => ({
    type: 'chat',
    id: rng.hex(16),
    origin: rng.chance(0.5) ? rng.hex(16) : o.selfNodeId,
    originName: rng.pick(['fz', '\u202eevil\u0007', 'a b', '', 'x'.repeat(200)]),
    ...(rng.chance(0.7) ? { originAddress: anyAddress() } : {}),
    ts: rng.pick([Date.now(), 0, -1, 9e15, 1.5]),
    conv: rng.pick(['everyone', 'direct']),
    text: rng.pick([rng.printable(rng.int(1, 200)), '', '\u0000\u0001', 'y'.repeat(rng.int(1000, 3000))]),
    hops: rng.pick([0, 1, 8, 1e9, -5, 0.5]),
  });
  const afterHello = (): object =>
    rng.pick<() => object>([
      validChat,
      () => ({ ...validChat(), [rng.pick(['id', 'origin', 'originName', 'ts', 'conv', 'text', 'hops', 'originAddress'])]: weird() }),
      () => ({ type: 'ack', id: rng.chance(0.5) ? rng.hex(16) : weird() }),
      () => ({ type: 'read', ids: rng.chance(0.3) ? Array.from({ length: 1001 }, () => 'a') : [rng.hex(8), weird()] }),
      () => ({ type: 'peers', peers: Array.from({ length: rng.int(0, 6) }, () => ({ nodeId: rng.chance(0.1) ? o.selfNodeId : rng.hex(16), address: anyAddress(), name: rng.pick(['fz', '\u202eevil', weird()]) })) }),
      () => ({ type: 'peers', peers: rng.chance(0.5) ? weird() : Array.from({ length: 501 }, () => ({ nodeId: 'a', address: 'b', name: 'c' })) }),
      () => ({ type: 'sync', since: rng.chance(0.5) ? rng.pick([0, -1, 1e308]) : weird() }),
      () => ({ type: 'error', code: weird(), message: weird() }),
      () => ({ type: rng.pick(['ping', 'pong', 'bye', 'hello', 'zz-unknown', 'CHAT', '']) }),
      () => ({ type: weird() }),
      () => hello(rng.hex(16), anyAddress()),
    ])();
  const nativeInput = (kind: string, frames: Buffer[]): FuzzInput => ({ kind, via: 'native', frames, close: rng.chance(0.7) ? 'end' : 'wait' });
  const fuzzHello = () => hello(rng.chance(0.05) ? o.selfNodeId : rng.hex(16), anyAddress());

  const gens: Array<[number, () => FuzzInput]> = [
    [8, () => classic('random bytes', rng.bytes(rng.int(1, 1500)))],
    [5, () => classic('random text', Buffer.from(rng.printable(rng.int(1, 600))))],
    [2, () => classic('huge line, no terminator', Buffer.alloc(o.maxIncomingBytes + rng.int(1, 4096), rng.pick([0x41, 0x20, 0x0a, 0x7c])), rng.pick(['end', 'hold'] as const))],
    [5, () => classic('invalid UTF-8', Buffer.concat([Buffer.from(`${o.sinkAddr} fz `), Buffer.from(rng.pick(INVALID_UTF8)), Buffer.from(rng.printable(rng.int(0, 20)))]))],
    [8, () => classic('bad header address', Buffer.from(`${rng.pick(BAD_ADDRESSES)} fz ${rng.pick(['hello', 'PING', 'exit', 'Connected'])}`))],
    [15, () => classic('mutated classic form', mutate(Buffer.from(rng.pick(templates))))],
    [3, () => classic('banner too early', Buffer.concat([Buffer.from(BANNER), frame(hello(rng.hex(16), o.sinkAddr))]))],
    [2, () => nativeInput('4 GiB length prefix', [Buffer.from([0xff, 0xff, 0xff, 0xff]), rng.bytes(rng.int(0, 64))])],
    [2, () => nativeInput('oversized frame', [lengthPrefix(o.maxFrameBytes + rng.int(1, 1 << 20)), rng.bytes(rng.int(0, 2048))])],
    [3, () => nativeInput('truncated frame', [frame(fuzzHello()).subarray(0, rng.int(1, 30))])],
    [3, () => nativeInput('frame of random bytes', [frame(rng.bytes(rng.int(0, 300)))])],
    [2, () => nativeInput('frame of invalid UTF-8', [frame(Buffer.concat([Buffer.from('{"type":"'), Buffer.from(rng.pick(INVALID_UTF8)), Buffer.from('"}')]))])],
    [2, () => nativeInput('non-object JSON', [frame(rng.pick(['[]', '1', '"x"', 'null', 'true', '[{"type":"hello"}]']))])],
    [2, () => nativeInput('unknown types before hello', [frame({ type: 'zz-unknown' }), frame({ type: 'chat-v9', x: 1 })])],
    [4, () => nativeInput('hello with wrong field types', [frame({ ...fuzzHello(), [rng.pick(['v', 'nodeId', 'name', 'listen'])]: weird() })])],
    [3, () => nativeInput('hello with a bad version', [frame({ ...fuzzHello(), v: rng.pick([0, 2, -1, 999, 1e308, 0.5, 2.5]) })])],
    [3, () => nativeInput('frame before hello', [frame(afterHello())])],
    [12, () => nativeInput('hello, then fuzzed frames', [frame(fuzzHello()), ...Array.from({ length: rng.int(1, 6) }, () => frame(afterHello()))])],
    [4, () => nativeInput('hello, then mutated frame bytes', [frame(fuzzHello()), mutate(frame(afterHello()))])],
  ];
  const total = gens.reduce((s, [w]) => s + w, 0);
  return (): FuzzInput => {
    let r = rng.next() * total;
    for (const [w, g] of gens) {
      r -= w;
      if (r < 0) {
        const input = g();
        // A standard `connect` makes the node dial the sender back: only ever toward our sink.
        if (input.via === 'classic' && /(^|\s)connect(\s|$)/.test(Buffer.concat(input.chunks).toString('latin1'))) return classic('random bytes', rng.bytes(64));
        return input;
      }
    }
    return gens[0][1]();
  };
}

async function deliver(port: number, input: FuzzInput, rng: Rng, localAddress = HOST): Promise<void> {
  if (input.via === 'classic') {
    let s: net.Socket;
    try {
      s = await connect(port, localAddress);
    } catch {
      return;
    }
    const w = watch(s);
    for (const c of input.chunks) {
      if (w.closed()) break;
      s.write(c);
      if (input.gapMs) await delay(input.gapMs); // stimulus: a sender that pauses between chunks
    }
    if (input.close === 'end') s.end();
    else if (input.close === 'destroy') s.destroy();
    else await delay(rng.int(0, 150)); // stimulus: a sender that holds the socket open
    if (!(await w.waitClose(input.close === 'hold' ? 50 : 1500))) s.destroy();
    return;
  }
  const c = await nativeRaw(port, localAddress);
  if (!c) return;
  for (const f of input.frames) if (!c.closed()) c.write(f);
  if (input.close === 'end') {
    await delay(rng.int(0, 40)); // stimulus: a peer that lingers before it closes
    c.end();
  }
  if (!(await c.waitClose(1500))) c.socket.destroy();
}

describe(`hardening: fuzzing the port (seed ${SEED}, HARDENING_SEED to change)`, () => {
  const FUZZ_LIMITS: Partial<Limits> = {
    maxIncomingBytes: 4096,
    maxConnectionBytes: 16 * 1024,
    incomingIdleMs: 400,
    persistentIdleMs: 600,
    maxFrameBytes: 8 * 1024,
    handshakeMs: 400,
    heartbeatMs: 200,
    deadAfterMs: 600,
    maxHistory: 200,
    maxPeers: 100,
    seenCacheSize: 500,
    maxAutoConnect: 2,
  };
  const WARMUP = 300;
  const INPUTS = 3000;
  // The fuzz met a bug here once (fixed): a JSON "content" host was taken unchecked.
  const JSON_HOST_TODO = {};
  const HEAP_BOUND = 4 * 1024 * 1024;
  let a: TestNode;
  let s: Awaited<ReturnType<typeof sink>>;
  let heapBefore = 0;
  let heapAfter = 0;
  let fuzzMs = 0;
  const kinds = new Map<string, number>();
  let fuzzError: unknown;
  const garbage = (addr: string | undefined) => addr !== undefined && (!tryParseAddress(addr) || addr === a.addr);
  const show = (ms: ChatMessage[]) => ms.slice(0, 5).map((m) => ({ peer: m.peer, name: m.name, text: m.text.slice(0, 60), origin: m.origin }));
  const shown = { classicGarbage: [] as ChatMessage[], nativeGarbage: [] as ChatMessage[], unsafeName: [] as ChatMessage[], numericHost: [] as ChatMessage[] };

  before(async () => {
    s = await sink();
    a = await startNode('hard', FUZZ_LIMITS, {}, 200); // few log lines kept: the heap measured is the node's
    // Every message shown during the fuzz is judged as it appears (history keeps only the last ones).
    a.node.on('message', (m) => {
      if (m.direction !== 'in') return;
      const list = garbage(m.peer) ? (m.origin ? shown.nativeGarbage : shown.classicGarbage) : undefined;
      if (list) list.push(m);
      if (UNSAFE_NAME.test(m.name)) shown.unsafeName.push(m);
      if (m.peer && numericPseudoHost(m.peer)) shown.numericHost.push(m);
      for (const l of Object.values(shown)) if (l.length > 20) l.length = 20;
    });
    const rng = new Rng(SEED);
    const gen = fuzzGenerator(rng, {
      sinkAddr: `${HOST}:${s.port}`,
      sinkPort: s.port,
      selfAddr: a.addr,
      maxIncomingBytes: FUZZ_LIMITS.maxIncomingBytes!,
      maxFrameBytes: FUZZ_LIMITS.maxFrameBytes!,
      selfNodeId: a.node.nodeId,
    });
    try {
      const run = (n: number) =>
        pool(n, 48, async () => {
          const input = gen();
          kinds.set(input.kind, (kinds.get(input.kind) ?? 0) + 1);
          await deliver(a.port, input, rng, rng.chance(0.5) ? HOST : `127.0.0.${rng.int(2, 9)}`);
        });
      await run(WARMUP);
      await until('the node to close every warm-up connection', () => Object.values(held(a.node)).every((v) => v === 0), 5000);
      heapBefore = await heapAfterGc();
      const t0 = Date.now();
      await run(INPUTS);
      fuzzMs = Date.now() - t0;
    } catch (err) {
      fuzzError = err;
    }
  });

  it(`takes ${INPUTS} random and mutated inputs without breaking (every kind exercised)`, () => {
    if (fuzzError) throw fuzzError;
    assert.equal(a.node.status.state, 'listening');
    for (const k of ['random bytes', 'huge line, no terminator', 'invalid UTF-8', 'bad header address', 'mutated classic form', '4 GiB length prefix', 'oversized frame', 'truncated frame', 'hello with wrong field types', 'hello with a bad version', 'hello, then fuzzed frames']) {
      assert.ok((kinds.get(k) ?? 0) > 10, `fuzz kind "${k}" ran ${kinds.get(k) ?? 0} times`);
    }
    // Documents the run in the report.
    console.log(`fuzz: ${INPUTS} inputs in ${fuzzMs} ms; ${[...kinds].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  });

  it('closes every fuzz connection: nothing held, inside or in the kernel', async () => {
    await until('no classic connection, handshake or native session left', () => Object.values(held(a.node)).every((v) => v === 0), 5000, () => JSON.stringify(held(a.node)));
    await kernelClear(a.port);
  });


  it('never lists an unparseable address, or its own, as a peer', JSON_HOST_TODO, () => {
    const bad = a.node.peerViews().filter((p) => garbage(p.address));
    assert.deepEqual(bad.slice(0, 5).map((p) => ({ address: p.address, name: p.name, protocol: p.protocol })), [], `${bad.length} peers with a garbage (or own) address`);
  });

  it('never shows a fuzz input as a message from an unparseable address, or its own', JSON_HOST_TODO, () => {
    assert.deepEqual(show(shown.classicGarbage), [], 'classic messages shown as from a garbage address');
    assert.deepEqual(show(shown.nativeGarbage), [], 'native messages shown as from a garbage address');
  });

  it(
    'never takes a dotted all-numeric name that is no IP (999.1.1.1, 1.2.3, 256.256.256.256) for an address',
    {},
    () => {
      const bad = [...shown.numericHost.map((m) => `message from ${m.peer}`), ...a.node.peerViews().filter((p) => numericPseudoHost(p.address)).map((p) => `peer ${p.address}`)];
      assert.deepEqual(bad.slice(0, 8), [], `${bad.length} numeric pseudo-host addresses`);
    },
  );

  it('never shows a peer-supplied name with control or bidi characters (messages and peer table)', () => {
    assert.deepEqual(show(shown.unsafeName).map((m) => ({ ...m, name: JSON.stringify(m.name) })), [], 'messages shown under an unsafe name');
    const badPeers = a.node.peerViews().filter((p) => UNSAFE_NAME.test(p.name));
    assert.deepEqual(badPeers.map((p) => JSON.stringify(p.name)), []);
  });

  it('keeps history and the peer table within their bounds', () => {
    assert.ok(a.node.getHistory().length <= FUZZ_LIMITS.maxHistory!, `history ${a.node.getHistory().length}`);
    assert.ok(a.node.peers.size <= FUZZ_LIMITS.maxPeers!, `peers ${a.node.peers.size}`);
  });

  it(`has not grown its heap by more than ${HEAP_BOUND / 1024 / 1024} MiB (after gc)`, async () => {
    await until('connections closed', () => Object.values(held(a.node)).every((v) => v === 0), 3000).catch(() => undefined); // judged above
    heapAfter = await heapAfterGc();
    const grew = heapAfter - heapBefore;
    console.log(`fuzz: heap ${(heapBefore / 1048576).toFixed(1)} → ${(heapAfter / 1048576).toFixed(1)} MiB (gc ${gcFn() ? 'on' : 'unavailable'})`);
    assert.ok(grew < HEAP_BOUND, `heap grew by ${(grew / 1048576).toFixed(1)} MiB`);
  });

  it('still delivers a normal classic message both ways', async () => {
    const r = await receiver();
    await assertClassicIn(a, r.addr);
    await assertClassicIn(a, r.addr, '127.0.0.2');
    await assertClassicOut(a, r);
  });

  it('still answers a native peer: a second node connects and a message is delivered with its receipt', async () => {
    const b = await startNode('hardb', { probeWaitMs: 300 });
    try {
      await assertNative(a, b);
    } finally {
      await stopNode(b);
    }
  });

  after(async () => {
    await stopNode(a);
    if (s) await closeServer(s.server);
  });
});

// --------------------------------------------------------------------- addresses a stranger claims

describe('hardening: addresses a stranger claims', () => {
  let a: TestNode;
  before(async () => {
    a = await startNode('claims', {});
  });
  after(() => stopNode(a));

  const MARKER_FROM = '127.0.0.1:5199';
  let markers = 0;

  /** Sends one classic input from a loopback address; returns the messages and peers it produced. */
  async function claim(input: string): Promise<{ peers: string[]; messages: (string | undefined)[] }> {
    const beforePeers = new Set(a.node.peerViews().map((p) => p.address));
    const seen: ChatMessage[] = [];
    const on = (m: ChatMessage) => void (m.direction === 'in' && seen.push(m));
    a.node.on('message', on);
    await rawSend(a.port, input);
    // The node closed that connection; a marker sent after it is read later, so once the marker
    // is in, whatever the input was going to produce is in too.
    const marker = `marker-${++markers}`;
    await rawSend(a.port, `${MARKER_FROM} mk ${marker}`);
    await until(`the marker "${marker}"`, () => seen.find((m) => m.text === marker && m.peer === MARKER_FROM));
    a.node.off('message', on);
    return {
      peers: a.node.peerViews().map((p) => p.address).filter((x) => !beforePeers.has(x) && x !== MARKER_FROM),
      messages: seen.filter((m) => m.text !== marker).map((m) => m.peer),
    };
  }

  it('a well-formed header from this machine is taken as it is (control case)', async () => {
    const r = await claim('127.0.0.1:5100 fz hello');
    assert.deepEqual(r, { peers: ['127.0.0.1:5100'], messages: ['127.0.0.1:5100'] });
  });

  it(
    'the JSON form: a host inside "content" that is no host is never taken for an address',
    {},
    async () => {
      const r = await claim('{"type":"message","content":"127..0.0{1:43 fz hi","sender_name":"fz","sender_port":43953}');
      const bad = [...r.peers, ...r.messages.filter((x): x is string => !!x)].filter((x) => !tryParseAddress(x));
      assert.deepEqual(bad, [], `shown/listed as ${JSON.stringify(r)}`);
    },
  );

  it(
    'a dotted all-numeric host that is no IP (999.1.1.1, 1.2.3, 256.256.256.256) is never taken for an address',
    {},
    async () => {
      const got: string[] = [];
      for (const h of ['999.1.1.1:5101', '1.2.3:5102', '256.256.256.256:5103']) {
        const r = await claim(`${h} fz hi`);
        got.push(...r.peers, ...r.messages.filter((x): x is string => !!x));
      }
      assert.deepEqual(got.filter(numericPseudoHost), []);
    },
  );
});

// ------------------------------------------------------------------------------------- slow-loris

describe('hardening: slow-loris (200 connections from one address, one byte at a time)', () => {
  const LIMITS: Partial<Limits> = { incomingIdleMs: 1500, persistentIdleMs: 1500, maxIncomingPerAddress: 20, maxIncomingConnections: 60, maxIncomingBytes: 8192 };
  const BYTE_EVERY_MS = 250;
  const N = 200;
  const ATTACK_MS = 2500;
  let a: TestNode;
  let r: ClassicReceiver;
  let maxClassic = 0;
  let maxTotal = 0;
  let accepted = 0;
  let refusals = 0;
  let deliveredDuringAttack: unknown;
  let deliveredMs = 0;
  const sockets = new Set<net.Socket>();
  let attackStart = 0;

  before(async () => {
    a = await startNode('loris', LIMITS);
    r = await receiver();
    attackStart = Date.now();
    let stop = false;
    const loris = async () => {
      while (!stop) {
        let s: net.Socket;
        try {
          s = await connect(a.port);
        } catch {
          await delay(20); // stimulus: the attacker retries a failed connect
          continue;
        }
        sockets.add(s);
        const w = watch(s);
        const bytes = Buffer.from('127.0.0.1:1 loris ' + 'x'.repeat(200));
        let i = 0;
        let counted = false;
        // One byte every 250 ms, well below the idle timeout.
        while (!stop && !w.closed() && i < bytes.length) {
          s.write(bytes.subarray(i, i + 1));
          i++;
          await delay(BYTE_EVERY_MS); // stimulus: the trickle
          if (i === 4 && !w.closed() && !counted) {
            counted = true;
            accepted++; // trickling for most of a second: it was accepted and kept
          }
        }
        if (w.closed() && w.data().length === 0 && i < 3) refusals++;
        s.destroy();
        sockets.delete(s);
        if (!stop) await delay(300); // stimulus: a refused attacker comes back
      }
    };
    // Cheap samples only: reading /proc/net/tcp costs milliseconds of kernel time once thousands of
    // TIME_WAIT sockets are around, so the kernel's view is read once, at the end.
    const sampler = setInterval(() => {
      maxClassic = Math.max(maxClassic, heldFrom(a.node, HOST));
      maxTotal = Math.max(maxTotal, held(a.node).classic);
    }, 20);
    const attackers = Array.from({ length: N }, () => loris());
    // Stimulus: the attack's schedule (a normal message 800 ms in, the attack ATTACK_MS long).
    await delay(800);
    const t0 = Date.now();
    deliveredDuringAttack = await assertClassicIn(a, r.addr, '127.0.0.2', 8000).then(
      () => true,
      (e) => e,
    );
    deliveredMs = Date.now() - t0;
    await delay(Math.max(0, ATTACK_MS - 800 - deliveredMs)); // stimulus: the rest of the attack
    stop = true;
    for (const s of sockets) s.destroy();
    await Promise.all(attackers);
    clearInterval(sampler);
  });

  it(`keeps within the per-address cap (${LIMITS.maxIncomingPerAddress}) and the total cap while ${N} connections trickle`, () => {
    assert.ok(maxClassic > 0 && accepted > 0, 'some loris connections were accepted');
    assert.ok(maxClassic <= LIMITS.maxIncomingPerAddress!, `held ${maxClassic} connections from 127.0.0.1 at once`);
    assert.ok(maxTotal <= LIMITS.maxIncomingConnections!, `held ${maxTotal} connections in all`);
    assert.ok(refusals > 0, 'connections over the cap were refused');
  });

  it('refuses the ones over the cap with a log line saying why', () => {
    const lines = a.logs.filter((l) => /more than 20 simultaneous connections from 127\.0\.0\.1/.test(l.text));
    assert.ok(lines.length > 0, `no log line for ${refusals} refusals`);
  });

  it(
    'rate-limits that log: a sustained attack does not write a line per refused connection',
    () => {
      const lines = a.logs.filter((l) => /more than 20 simultaneous connections/.test(l.text) && l.at >= attackStart);
      // A rate-limited log says it once, or a few times with a count: not once per connection.
      assert.ok(lines.length <= 5, `${lines.length} log lines for ${refusals} refused connections in ${ATTACK_MS / 1000} s`);
    },
  );

  it('still receives a normal message from another source address (127.0.0.2) during the attack', () => {
    if (deliveredDuringAttack !== true) throw deliveredDuringAttack;
  });

  it('closes everything afterwards', async () => {
    await until('no connection held', () => held(a.node).classic === 0, 3000, () => JSON.stringify(held(a.node)));
    await kernelClear(a.port);
    console.log(`slow-loris: max held from 127.0.0.1 ${maxClassic} (in all ${maxTotal}), refused ${refusals}, accepted and kept trickling ${accepted}; a message from 127.0.0.2 took ${deliveredMs} ms`);
    await assertClassicIn(a, r.addr);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await stopNode(a);
  });
});

// ---------------------------------------------------------------------------------------- flood

describe('hardening: connection flood', () => {
  const LIMITS: Partial<Limits> = { incomingIdleMs: 1000, persistentIdleMs: 1000, maxIncomingPerAddress: 64, maxIncomingConnections: 256 };
  const BARE = 1500;
  const GARBAGE = 1500;
  const BUDGET_MS = 25_000;
  let a: TestNode;

  before(async () => {
    a = await startNode('flood', LIMITS);
  });

  it(`takes ${BARE} bare connect/close quickly: no message, no warning`, async () => {
    const before = a.node.getHistory().length;
    const warns = a.logs.length;
    const t0 = Date.now();
    await pool(BARE, 100, async (i) => {
      try {
        const s = await connect(a.port, `127.0.0.${2 + (i % 8)}`);
        s.destroy();
      } catch {
        /* refused under load: fine */
      }
    });
    const ms = Date.now() - t0;
    await until('connections closed', () => held(a.node).classic === 0, 5000, () => JSON.stringify(held(a.node)));
    assert.ok(ms < BUDGET_MS, `${BARE} connects took ${ms} ms`);
    assert.equal(a.node.getHistory().length, before, 'a bare connect is not a message');
    assert.deepEqual(a.logs.slice(warns).filter((l) => l.level !== 'info').map((l) => l.text).slice(0, 5), [], 'a bare connect is not an error');
  });

  it(`takes ${GARBAGE} connect/send-garbage/close quickly: no crash, no leak, a normal message afterwards`, async () => {
    const rng = new Rng(SEED ^ 0xf100d);
    const t0 = Date.now();
    await pool(GARBAGE, 100, async (i) => {
      let s: net.Socket;
      try {
        s = await connect(a.port, `127.0.0.${2 + (i % 8)}`);
      } catch {
        return;
      }
      const w = watch(s);
      s.end(rng.chance(0.5) ? rng.bytes(rng.int(1, 512)) : Buffer.from(rng.printable(rng.int(1, 64)).replace(/connect/g, '')));
      if (!(await w.waitClose(2000))) s.destroy();
    });
    const ms = Date.now() - t0;
    console.log(`flood: ${GARBAGE} garbage connections in ${ms} ms; ${a.logs.filter((l) => l.level === 'warn').length} warn lines`);
    assert.ok(ms < BUDGET_MS, `${GARBAGE} connections took ${ms} ms`);
    await until('connections closed', () => Object.values(held(a.node)).every((v) => v === 0), 5000, () => JSON.stringify(held(a.node)));
    await kernelClear(a.port);
    assert.equal(a.node.status.state, 'listening');
    const r = await receiver();
    await assertClassicIn(a, r.addr);
    await assertClassicOut(a, r);
  });

  after(() => stopNode(a));
});

// --------------------------------------------------------------------------------------- limits

describe('hardening: every bound of limits.ts is enforced, and only on the one that exceeds it', () => {
  const nodes: TestNode[] = [];
  const mk = async (name: string, limits: Partial<Limits>) => {
    const t = await startNode(name, limits);
    nodes.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((t) => stopNode(t)));
  });

  it('maxIncomingBytes: a message over the bound closes that connection; one at the bound and other senders pass', async () => {
    const a = await mk('lb', { maxIncomingBytes: 2048, incomingIdleMs: 3000 });
    const big = await connect(a.port);
    const w = watch(big);
    big.write(`127.0.0.1:5001 big ${'b'.repeat(3000)}`);
    assert.ok(await w.waitClose(1500), 'the oversize connection was not closed');
    const atBound = `127.0.0.1:5002 fit `;
    const text = 'f'.repeat(2048 - atBound.length);
    await rawSend(a.port, atBound + text, 2000);
    await until('the message at the bound', () => a.node.getHistory().find((m) => m.text === text));
    await assertClassicIn(a, '127.0.0.1:5003', '127.0.0.2');
    assert.ok(!a.node.getHistory().some((m) => m.text.startsWith('bbbb')), 'no part of the oversize message is shown');
    assert.ok(a.logs.some((l) => /2048/.test(l.text) && /dropped connection/.test(l.text)), 'the drop is logged with the bound');
  });

  it('maxConnectionBytes: a connection that keeps writing is closed past its total; others pass', async () => {
    const a = await mk('lcb', { maxIncomingBytes: 1000, maxConnectionBytes: 3000, incomingIdleMs: 3000, persistentIdleMs: 3000 });
    const s = await connect(a.port);
    const w = watch(s);
    for (let i = 0; i < 6 && !w.closed(); i++) {
      s.write(`127.0.0.1:5011 many m${i}-${'m'.repeat(700)}`);
      // The next write only once this one was taken (past the quiet gap: each write is one
      // message), or the connection was cut.
      await until(`m${i} taken or the connection cut`, () => w.closed() || a.node.getHistory().some((m) => m.peer === '127.0.0.1:5011' && m.text.startsWith(`m${i}-`)), 3000);
    }
    assert.ok(await w.waitClose(1000), 'the connection was not closed past maxConnectionBytes');
    const shown = a.node.getHistory().filter((m) => m.peer === '127.0.0.1:5011' && m.direction === 'in').length;
    assert.ok(shown >= 2 && shown <= 4, `${shown} of its messages shown (expected those within 3000 bytes)`);
    assert.ok(a.logs.some((l) => /3000 bytes/.test(l.text)), 'the cut is logged');
    await assertClassicIn(a, '127.0.0.1:5012', '127.0.0.2');
  });

  it('incomingIdleMs: a silent connection, or one that sent only unreadable bytes, is closed after the idle time', async () => {
    const a = await mk('li', { incomingIdleMs: 400, persistentIdleMs: 5000 });
    const t0 = Date.now();
    const silent = watch(await connect(a.port));
    const junk = await connect(a.port);
    const wj = watch(junk);
    junk.write(Buffer.from([1, 2, 3]));
    assert.ok(await silent.waitClose(2500), 'silent connection not closed');
    assert.ok(await wj.waitClose(2500), 'junk connection not closed');
    const ts = silent.closedAt()! - t0;
    assert.ok(ts >= 300, `closed after ${ts} ms, before the idle time`);
    assert.ok(a.logs.some((l) => /idle/.test(l.text)), 'the idle close is logged');
    await assertClassicIn(a, '127.0.0.1:5021');
  });

  it('persistentIdleMs: a sender that delivered a message keeps its connection only for the longer allowance', async () => {
    const a = await mk('lp', { incomingIdleMs: 300, persistentIdleMs: 900 });
    const s = await connect(a.port);
    const w = watch(s);
    const t0 = Date.now();
    s.write('127.0.0.1:5031 keeper first message');
    await until('the message', () => a.node.getHistory().find((m) => m.text === 'first message'));
    assert.ok(await w.waitClose(3000), 'a persistent sender that went silent was never closed');
    const ms = w.closedAt()! - t0;
    assert.ok(ms >= 700, `closed after ${ms} ms: the persistent allowance was not given`);
  });

  it('handshakeMs: a native client that echoes the banner but never says hello is closed', async () => {
    const a = await mk('lh', { handshakeMs: 400 });
    const c = await nativeRaw(a.port);
    assert.ok(c, 'no banner');
    const t0 = Date.now();
    assert.ok(await c.waitClose(2500), 'not closed');
    assert.ok(Date.now() - t0 >= 300);
    await until('no handshake left', () => held(a.node).handshaking === 0, 1000);
  });

  it('deadAfterMs: a native peer that stops talking after its hello is closed; a live native peer stays', async () => {
    const a = await mk('ld', { heartbeatMs: 150, deadAfterMs: 500 });
    const b = await mk('ldb', {});
    const c = await nativeRaw(a.port);
    assert.ok(c);
    c.send(hello(c.nodeId, `${HOST}:1`));
    await until('the silent session to be ready', () => held(a.node).sessions >= 1, 1500);
    await assertNative(a, b);
    assert.ok(await c.waitClose(3000), 'the silent native session was never closed');
    assert.equal(a.node.activeResources().sessions, 1, 'the live native peer kept its session');
    await assertNative(a, b);
  });

  it('maxFrameBytes: a frame over the bound closes that session with ERR_BAD_FRAME; one at the bound and other peers pass', async () => {
    const a = await mk('lf', { maxFrameBytes: 4096 });
    const b = await mk('lfb', {});
    await assertNative(a, b);
    const c = await nativeRaw(a.port);
    assert.ok(c);
    const id = c.nodeId;
    c.send(hello(id, `${HOST}:1`));
    const chat = { type: 'chat', id: 'c0ffee00c0ffee00', origin: id, originName: 'fz', ts: Date.now(), conv: 'direct', hops: 0, text: '' };
    const baseLen = Buffer.byteLength(JSON.stringify(chat));
    const fits = { ...chat, text: 't'.repeat(4096 - baseLen) };
    assert.equal(Buffer.byteLength(JSON.stringify(fits)), 4096);
    c.send(fits);
    await until('the frame at the bound', () => a.node.getHistory().find((m) => m.id === chat.id));
    c.write(lengthPrefix(4097));
    assert.ok(await c.waitClose(2000), 'the session with an oversize frame was not closed');
    const frames = c.frames() as { type?: string; code?: string }[];
    assert.ok(frames.some((f) => f?.type === 'error' && f.code === 'ERR_BAD_FRAME'), `no ERR_BAD_FRAME: ${JSON.stringify(frames.map((f) => f?.type))}`);
    assert.equal(a.node.activeResources().sessions, 1, 'the other native peer kept its session');
    await assertNative(a, b);
  });

  it('maxIncomingPerAddress: the connection over the cap from one address is refused; other addresses and later connections pass', async () => {
    const a = await mk('lpa', { maxIncomingPerAddress: 4, maxIncomingConnections: 50, incomingIdleMs: 5000 });
    const held4 = await Promise.all(Array.from({ length: 4 }, () => connect(a.port)));
    const w4 = held4.map(watch);
    await until('four held', () => held(a.node).classic === 4, 1000);
    const fifth = watch(await connect(a.port));
    assert.ok(await fifth.waitClose(1000), 'the fifth connection from 127.0.0.1 was not refused');
    assert.equal(fifth.data().length, 0, 'the refused connection got a banner: it was accepted');
    const other = watch(await connect(a.port, '127.0.0.2'));
    await until('a banner for 127.0.0.2 (accepted)', () => other.data().length > 0, 1500);
    assert.ok(w4.every((w) => !w.closed()), 'the held connections were disturbed');
    assert.ok(a.logs.some((l) => /more than 4 simultaneous connections from 127\.0\.0\.1/.test(l.text)), 'the refusal is logged with the reason');
    held4[0].destroy();
    await until('one freed', () => held(a.node).classic === 4, 1000);
    const again = watch(await connect(a.port));
    await until('a banner again for 127.0.0.1', () => again.data().length > 0 || again.closed(), 1500);
    assert.ok(!again.closed(), 'a new connection after one closed was refused: the count leaked');
  });

  it('maxIncomingConnections: the connection over the total is refused; after one closes a new one passes', async () => {
    const a = await mk('ltot', { maxIncomingPerAddress: 3, maxIncomingConnections: 6, incomingIdleMs: 5000 });
    const socks = [...(await Promise.all([0, 1, 2].map(() => connect(a.port, '127.0.0.2')))), ...(await Promise.all([0, 1, 2].map(() => connect(a.port, '127.0.0.3'))))];
    await until('six held', () => held(a.node).classic === 6, 1000, () => JSON.stringify(held(a.node)));
    const seventh = watch(await connect(a.port, '127.0.0.4'));
    assert.ok(await seventh.waitClose(1000), 'the seventh connection was not refused');
    assert.equal(seventh.data().length, 0);
    assert.equal(held(a.node).classic, 6);
    socks[0].destroy();
    await until('one freed', () => held(a.node).classic === 5, 1000);
    const again = watch(await connect(a.port, '127.0.0.4'));
    await until('a banner for the new connection', () => again.data().length > 0 || again.closed(), 1500);
    assert.ok(!again.closed(), 'refused after a slot was freed');
  });

  it(
    'maxIncomingConnections: a refusal over the total is logged with the reason',
    async () => {
      const a = await mk('ltotlog', { maxIncomingPerAddress: 3, maxIncomingConnections: 3, incomingIdleMs: 5000 });
      await Promise.all([0, 1, 2].map(() => connect(a.port, '127.0.0.2')));
      await until('three held', () => held(a.node).classic === 3, 1000);
      const w = watch(await connect(a.port, '127.0.0.3'));
      assert.ok(await w.waitClose(1000));
      await until('a log line about the total', () => a.logs.find((l) => /connections/.test(l.text) && /127\.0\.0\.3/.test(l.text)), 1000);
    },
  );

  it('maxNativeSessions: a native peer over the cap is refused; the others keep delivering', async () => {
    const a = await mk('lns', { maxNativeSessions: 2 });
    const b = await mk('lnsb', {});
    const c = await mk('lnsc', {});
    const d = await mk('lnsd', {});
    await assertNative(a, b);
    await assertNative(a, c);
    const r = await d.node.connect(a.addr);
    assert.equal(r.ok && d.node.peers.get(a.addr)?.protocol === 'native' && d.node.activeResources().sessions > 0, false, 'a third native session was accepted');
    assert.equal(a.node.activeResources().sessions, 2);
    await assertNative(a, b);
    await assertNative(a, c);
  });

  it('maxPeers: a flood of messages from many header ports keeps the table at the cap; connected peers stay', async () => {
    const a = await mk('lmp', { maxPeers: 20 });
    const b = await mk('lmpb', {});
    await assertNative(a, b);
    await rawSend(a.port, '127.0.0.1:6000 friend Connected', 2000);
    await until('friend connected', () => a.node.peers.get('127.0.0.1:6000')?.state === 'connected');
    await pool(60, 10, (i) => rawSend(a.port, `127.0.0.1:${7000 + i} n${i} hi`, 2000).then(() => undefined, () => undefined));
    await until('the last flood message', () => a.node.getHistory().find((m) => m.peer === '127.0.0.1:7059'));
    assert.ok(a.node.peers.size <= 20, `${a.node.peers.size} peers in the table`);
    assert.equal(a.node.peers.get('127.0.0.1:6000')?.state, 'connected', 'the connected classic peer was evicted');
    assert.equal(a.node.peers.get(b.addr)?.protocol, 'native', 'the native peer was evicted');
    await assertNative(a, b);
  });

  it(
    'maxPeers: holds even when the flood is of greetings (every flooder "connected")',
    async () => {
      const a = await mk('lmpg', { maxPeers: 20 });
      let greeted = 0;
      a.node.on('message', (m) => void (m.direction === 'system' && /\(127\.0\.0\.1:71\d\d\) connected/.test(m.text) && greeted++));
      await pool(60, 10, (i) => rawSend(a.port, `127.0.0.1:${7100 + i} g${i} Hello, I am connecting!`, 2000).then(() => undefined, () => undefined));
      // Every greeting's connection was closed by the node; a marker after them is read last.
      await rawSend(a.port, '127.0.0.1:7200 mk greetings done', 2000);
      await until('the marker after the greetings', () => a.node.getHistory().find((m) => m.peer === '127.0.0.1:7200' && m.text === 'greetings done'), 3000);
      assert.ok(greeted > 20, `only ${greeted} greetings taken: the cap was not tested`);
      assert.ok(a.node.peers.size <= 20, `${a.node.peers.size} peers in the table (cap 20)`);
    },
  );

  it('maxHistory: history keeps the newest messages up to the bound', async () => {
    const a = await mk('lmh', { maxHistory: 30 });
    for (let i = 0; i < 50; i++) await rawSend(a.port, `127.0.0.1:6100 hist m${i}`, 2000);
    await until('the last message', () => a.node.getHistory().find((m) => m.text === 'm49'));
    const h = a.node.getHistory();
    assert.ok(h.length <= 30, `history ${h.length}`);
    assert.ok(!h.some((m) => m.text === 'm0'), 'the oldest was kept');
    assert.ok(h.some((m) => m.text === 'm48'));
  });

  it('maxOutboxPerPeer: a peer that is away gets at most the bound queued; further sends fail clearly; other peers are unaffected', async () => {
    const a = await mk('lob', { maxOutboxPerPeer: 3 });
    const c = await mk('lobc', {});
    const d = await mk('lobd', {});
    const b = await mk('lobb', {});
    await assertNative(a, b);
    for (const x of [c, d]) assert.equal((await a.node.connect(x.addr)).ok, true);
    const cId = c.node.nodeId;
    const dId = d.node.nodeId;
    await stopNode(c);
    await stopNode(d);
    await until('c and d away', () => a.node.activeResources().sessions === 1, 3000);
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await a.node.send(`node:${cId}`, `to c ${i}`)).result);
    assert.deepEqual(results.map((r) => r.ok), [true, true, true, false, false], JSON.stringify(results));
    assert.ok(results.slice(0, 3).every((r) => r.queued));
    assert.match(results[3].error ?? '', /outbox .*full/);
    const toD = (await a.node.send(`node:${dId}`, 'to d')).result;
    assert.equal(toD.ok, true, 'another away peer could not queue');
    assert.equal(a.node.outboxEntries().length, 4);
    const text = 'to b while c is full';
    const { message } = await a.node.send(`node:${b.node.nodeId}`, text);
    await until('b to receive', () => b.node.getHistory().find((m) => m.text === text));
    await until('a receipt from b', () => ['delivered', 'read'].includes(a.node.getHistory().find((m) => m.id === message.id)?.state ?? ''));
  });

  it(
    'maxAutoConnect: a peers frame listing many addresses makes the node dial at most maxAutoConnect of them',
    async () => {
      const sinks = await Promise.all(Array.from({ length: 10 }, () => sink()));
      try {
        const a = await mk('lac', { maxAutoConnect: 2, probeWaitMs: 300 });
        const c = await nativeRaw(a.port);
        assert.ok(c);
        c.send(hello(c.nodeId, `${HOST}:${sinks[0].port}`));
        c.send({ type: 'peers', peers: sinks.map((x, i) => ({ nodeId: `${i}`.padStart(16, 'e'), address: `${HOST}:${x.port}`, name: `p${i}` })) });
        // The node decides its dials while it reads the frame; once it has learned all nine and
        // no dial is under way any more, no other dial can follow from it.
        const learned = () => a.node.peerViews().filter((p) => /^p\d$/.test(p.name)).length;
        const dialed = () => sinks.reduce((n, x) => n + x.connections(), 0);
        await until('nine peers learned, a dial made and finished', () => learned() === 9 && dialed() >= 1 && a.node.activeResources().dialing === 0, 3000, () => `learned ${learned()}, dialed ${dialed()}, ${JSON.stringify(a.node.activeResources())}`);
        assert.ok(dialed() >= 1 && dialed() <= 2, `dialed ${dialed()} of 9 learned peers (maxAutoConnect 2)`);
        c.socket.destroy();
      } finally {
        await Promise.all(sinks.map((x) => closeServer(x.server)));
      }
    },
  );
});

// ------------------------------------------------------------------------------------- shutdown

interface Tracked {
  type: string;
  at: number;
  stack: string;
}

/** Resources (timers, sockets, servers) created from src/core that have not been destroyed. */
function trackCoreResources(): { stop(): void; alive(): Tracked[]; created(): Tracked[] } {
  const live = new Map<number, Tracked>();
  const created: Tracked[] = [];
  const types = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'TCPCONNECTWRAP']);
  const prevLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const hook = createHook({
    init(id, type) {
      if (!types.has(type)) return;
      const stack = new Error().stack ?? '';
      if (!/[\\/]src[\\/]core[\\/]/.test(stack)) return;
      const t: Tracked = { type, at: Date.now(), stack: stack.split('\n').filter((l) => /[\\/]src[\\/]core[\\/]/.test(l)).slice(0, 4).join('\n') };
      live.set(id, t);
      if (created.length < 2000) created.push(t);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    stop() {
      hook.disable();
      Error.stackTraceLimit = prevLimit;
    },
    alive: () => [...live.values()],
    created: () => created.slice(),
  };
}

function resourceCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (/TCP|Timeout|Pipe/.test(r)) out[r] = (out[r] ?? 0) + 1;
  return out;
}

function activeHandles(): unknown[] {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
}

/** Sockets and servers, for failure messages. */
function describeHandles(handles: unknown[]): string {
  return handles
    .map((h) => {
      if (h instanceof net.Socket) return `  socket ${h.localAddress}:${h.localPort} -> ${h.remoteAddress}:${h.remotePort}${h.destroyed ? ' (destroyed)' : ''}`;
      if (h instanceof net.Server) return `  server ${JSON.stringify(h.address())}`;
      return `  ${(h as object)?.constructor?.name}`;
    })
    .join('\n');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: HOST, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

describe('hardening: shutdown leaves nothing behind', () => {
  // One scenario, observed at three moments; the tests below judge what was seen.
  const seen = {
    error: undefined as unknown,
    refdLeft: undefined as string | undefined,
    early: [] as Tracked[],
    portFree: false,
    exitTold: false,
    outboxFlushed: false,
    late: [] as Tracked[],
  };

  before(async () => {
    // The test's own: a classic receiver and native peers, started before the node under test.
    const r = await receiver();
    const b = await startNode('shb', {});
    const c = await startNode('shc', {});
    const idle = (t: TestNode) => {
      const x = t.node.activeResources();
      return x.listening && x.incoming + x.sessions + x.handshaking + x.dialing + x.timers === 0;
    };
    await until('b and c listening, with nothing else under way', () => idle(b) && idle(c), 2000, () => JSON.stringify([b.node.activeResources(), c.node.activeResources()]));
    const baseline = resourceCounts();
    const baselineHandles = new Set(activeHandles());
    const tracker = trackCoreResources();
    let a: TestNode | undefined;
    try {
      a = await startNode('sha', { heartbeatMs: 100, deadAfterMs: 2000 }, { inactiveAfterSeconds: 1 });
      assert.equal((await a.node.connect(r.addr)).ok, true);
      assert.equal(a.node.peers.get(r.addr)?.state, 'connected');
      assert.equal((await a.node.connect(b.addr)).ok, true);
      assert.equal((await a.node.connect(c.addr)).ok, true);
      await until('two native sessions', () => a!.node.activeResources().sessions === 2, 2000);
      // c goes away: a keeps redialing it (timers) and queues a message for it.
      await stopNode(c);
      await until('c away', () => a!.node.activeResources().sessions === 1, 2000);
      const q = await a.node.send(`node:${c.node.nodeId}`, 'waiting for c');
      assert.equal(q.result.queued, true);
      // An incoming classic connection still open, and a native handshake in progress.
      const open = await connect(a.port, '127.0.0.2');
      open.write('127.0.0.1:5999 half a message');
      const half = await nativeRaw(a.port);
      await until('the classic connection and the handshake held', () => held(a!.node).classic >= 1 && held(a!.node).handshaking >= 1, 2000, () => JSON.stringify(held(a!.node)));
      await delay(250); // stimulus: time passes so heartbeats, prune and redial timers run
      const port = a.port;
      const exits = r.got.length;

      await a.node.shutdown();
      liveNodes.delete(a.node);
      // The test's own client sockets go too (the node closed their other ends).
      open.destroy();
      half?.socket.destroy();

      // Unref'd timers do not show in getActiveResourcesInfo: the tracker sees them. Right after
      // shutdown (a few event-loop turns, for closed handles and cleared timers to report their
      // end), only the 1 s guard a closing native session sets on its socket is excused.
      await delay(30); // stimulus: "right after" is a moment, the same for every run
      // Also excused: the other node (b, still running) saving its directory 250 ms after its
      // session with a closed; it is gone by the 'a moment later' check below.
      seen.early = tracker
        .alive()
        .filter((x) => !(x.type === 'Timeout' && /^\s*at NativeSession\.close /.test(x.stack.split('\n')[0])))
        .filter((x) => !(x.type === 'Timeout' && /^\s*at PeerSaver\.schedule [\s\S]*at Sessions\.onClose /.test(x.stack)));
      // Servers and sockets that did not exist before the node started, other than the test's own
      // client sockets; and no more ref'd timers than before.
      const own = (h: net.Socket) => liveSockets.has(h) || h.localPort === r.port; // ours, or the receiver's end
      const leftover = () => activeHandles().filter((h) => !baselineHandles.has(h) && (h instanceof net.Server || (h instanceof net.Socket && !own(h))));
      const timers = () => resourceCounts().Timeout ?? 0;
      await until('no server, socket or timer left from the node', () => leftover().length === 0 && timers() <= (baseline.Timeout ?? 0), 500).catch(() => {
        seen.refdLeft = `new handles:\n${describeHandles(leftover())}\nref'd timers now ${timers()}, before ${baseline.Timeout ?? 0}`;
      });
      seen.portFree = await portFree(port);
      seen.exitTold = await until('exit', () => r.got.slice(exits).find((g) => g === `${HOST}:${port} sha exit`), 2000).then(
        () => true,
        () => false,
      );
      seen.outboxFlushed = a.store.outbox.length >= 1;
      await delay(1200); // stimulus: "a moment later", past the 1 s guard excused above
      seen.late = tracker.alive();
    } catch (err) {
      seen.error = err;
    } finally {
      tracker.stop();
      if (a) await stopNode(a);
      await stopNode(b);
      await closeReceiver(r);
    }
  });

  const show = (xs: Tracked[]) => xs.map((x) => `${x.type}\n${x.stack}`);

  it('with classic and native peers connected, timers running and a message queued: no server, socket or ref\'d timer is left, and the port is free', () => {
    if (seen.error) throw seen.error;
    assert.equal(seen.refdLeft, undefined, seen.refdLeft);
    assert.ok(seen.portFree, 'the port is still taken after shutdown');
  });

  it('tells the connected classic peer exit and flushes the outbox to the store', () => {
    if (seen.error) throw seen.error;
    assert.ok(seen.exitTold, 'the classic peer never got exit');
    assert.ok(seen.outboxFlushed, 'the queued message was not in the stored outbox');
  });

  it('a moment later nothing the node created is alive, unref\'d timers included', () => {
    if (seen.error) throw seen.error;
    assert.deepEqual(show(seen.late), [], `${seen.late.length} resources from src/core alive 1.2 s after shutdown`);
  });

  it('right after shutdown no timer or socket of the node is pending but the known short-lived ones (reconnect, prune, heartbeat, sends all stopped)', () => {
    if (seen.error) throw seen.error;
    assert.deepEqual(show(seen.early), [], `${seen.early.length} resources from src/core alive right after shutdown`);
  });

  describe('a classic send still retrying when shutdown starts', () => {
    const r = { error: undefined as unknown, dialsAfter: [] as Tracked[], aliveAfter: [] as Tracked[] };
    before(async () => {
      const dead = await sink();
      const deadPort = dead.port;
      await closeServer(dead.server); // a port nobody listens on: every connect is refused
      const tracker = trackCoreResources();
      try {
        const a = await startNode('shr', { sendRetries: 3, sendRetryBaseMs: 200 });
        const sending = a.node.send(`${HOST}:${deadPort}`, 'into the void');
        await delay(150); // stimulus: shutdown starts between attempts (refused at once, next in 200 ms)
        await a.node.shutdown();
        liveNodes.delete(a.node);
        const stoppedAt = Date.now();
        await delay(300); // stimulus: time passes so a retry timer left behind would show
        r.aliveAfter = tracker.alive();
        await within(sending, 3000); // bounded: nothing of this test outlives it
        r.dialsAfter = tracker.created().filter((x) => x.at > stoppedAt && x.type !== 'Timeout');
      } catch (err) {
        r.error = err;
      } finally {
        tracker.stop();
      }
    });

    it('makes no connection after shutdown', () => {
      if (r.error) throw r.error;
      assert.deepEqual(r.dialsAfter.map((x) => `${x.type}\n${x.stack}`), [], 'sockets opened by src/core after shutdown');
    });

    it(
      'leaves no retry timer pending after shutdown',
      {},
      () => {
        if (r.error) throw r.error;
        assert.deepEqual(r.aliveAfter.map((x) => `${x.type}\n${x.stack}`), [], 'resources from src/core alive 300 ms after shutdown');
      },
    );
  });
});
