// Hardening of the real terminal peer (dist/cli.js --json) in its own process, so that its memory
// can be read from outside (/proc/<pid>/status VmRSS): thousands of random and mutated inputs at
// its port, then it must still talk classic both ways, still answer a native peer, hold no
// connection, and its resident memory must not have grown past a bound. The CLI runs with its
// default limits (the product's own), on 127.0.0.1 only.
//
// Every valid address a fuzz input carries points at a silent sink server of this file, so the
// peer never dials a port that belongs to another test. HARDENING_SEED changes the inputs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CLI_PATH, cleanupAll, cliAvailable, type Cli, delay, type Event, HOST, rawSend, settle, startCli, until } from './helpers';
import { classicReceiver, type ClassicReceiver } from '../support/classicReceiver';
import { fakeNativePeer, frame, lengthPrefix } from '../support/fakeNativePeer';
import { Rng } from '../support/rng';

const SEED = Number(process.env.HARDENING_SEED ?? 0x0c11_5eed) >>> 0;
const INPUTS = 2000;
const WARMUP = 300;
/** Resident memory the CLI may gain over the fuzz (after warm-up), with its default limits. */
const RSS_BOUND = 48 * 1024 * 1024;


function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Server-side sockets the kernel holds open on `port` (ESTABLISHED, SYN_RECV, CLOSE_WAIT). */
function kernelHeld(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 4 && f[1].endsWith(hex) && (f[3] === '01' || f[3] === '03' || f[3] === '08')) n++;
  }
  return n;
}

/** Polls slowly: reading /proc/net/tcp is not free with thousands of TIME_WAIT sockets. */
function untilHeld(what: string, f: () => boolean, ms: number, detail?: () => string): Promise<boolean> {
  return until(what, f, ms, detail, 100);
}

/**
 * The resident memory once it has stopped moving: samples 200 ms apart until two in a row differ
 * by less than 1 MiB (bounded; then the last sample).
 */
async function steadyRss(pid: number, ms = 5000): Promise<number> {
  let prev = rssOf(pid);
  let last = prev;
  await until(
    'a steady VmRSS',
    () => {
      last = rssOf(pid);
      const steady = Math.abs(last - prev) < 1024 * 1024;
      prev = last;
      return steady;
    },
    ms,
    undefined,
    200,
  ).catch(() => undefined);
  return last;
}

async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

const sockets = new Set<net.Socket>();
const servers = new Set<net.Server>();
const receivers: ClassicReceiver[] = [];

type Input = { via: 'classic'; data: Buffer; close: 'end' | 'destroy' } | { via: 'native'; frames: Buffer[] };

function generator(rng: Rng, sinkAddr: string, sinkPort: number, selfAddr: string): () => Input {
  const templates = [
    `${sinkAddr} fz hello there`,
    `${sinkAddr} fz PING`,
    `${sinkAddr} fz exit`,
    `${sinkAddr} fz Hello, I am connecting!`,
    `<${sinkAddr}> @ <fz>\nhello\n<end>`,
    `<${sinkAddr}> fz hello`,
    `LISTENING_PORT:${sinkPort}|TEAM_NAME:fz|hello`,
    `{"type":"message","content":"<${sinkAddr}> fz hi","sender_name":"fz","sender_port":${sinkPort}}`,
    `fz : headerless hi`,
    `${selfAddr} fz claims to be you`,
  ];
  const bad = ['999.1.1.1:5000', '127.0.0.1:0', '127.0.0.1:65536', ':5000', '127.0.0.1:', '[zz]:5000', '127.0.0.1:80:80', '\u202e127.0.0.1:5000', '127.0.0.1:5000\u0000'];
  const mutate = (b: Buffer) => {
    const a = [...b];
    for (let i = rng.int(1, 8); i > 0; i--) {
      const at = rng.int(0, Math.max(0, a.length - 1));
      const op = rng.int(0, 3);
      if (op === 0) a[at] = rng.int(0, 255);
      else if (op === 1) a.splice(at, 0, rng.int(0, 255));
      else if (op === 2) a.splice(at, 1);
      else a.splice(at, 0, ...a.slice(at, at + rng.int(1, 16)));
    }
    return Buffer.from(a);
  };
  const addr = () => rng.pick([sinkAddr, sinkAddr, selfAddr, rng.pick(bad), rng.printable(rng.int(0, 20))]);
  const hello = () => ({ type: 'hello', v: 1, nodeId: rng.hex(16), name: rng.pick(['fz', '\u202eevil']), listen: addr() });
  const afterHello = () =>
    rng.pick<() => object>([
      () => ({ type: 'chat', id: rng.hex(16), origin: rng.hex(16), originName: 'fz', originAddress: addr(), ts: Date.now(), conv: rng.pick(['everyone', 'direct']), text: rng.printable(rng.int(1, 300)), hops: rng.pick([0, 1, 8, 1e9]) }),
      () => ({ type: 'chat', id: 5, text: null }),
      () => ({ type: 'ack', id: rng.hex(16) }),
      () => ({ type: 'read', ids: Array.from({ length: rng.pick([1, 1001]) }, () => rng.hex(8)) }),
      () => ({ type: 'peers', peers: Array.from({ length: rng.int(0, 4) }, () => ({ nodeId: rng.hex(16), address: addr(), name: 'fz' })) }),
      () => ({ type: 'sync', since: rng.pick([0, -1, 'x']) }),
      () => ({ type: rng.pick(['ping', 'pong', 'zz-unknown', 7]) }),
    ])();
  const classic = (data: Buffer): Input => ({ via: 'classic', data, close: rng.chance(0.85) ? 'end' : 'destroy' });
  const native = (...frames: Buffer[]): Input => ({ via: 'native', frames });
  const gens: Array<() => Input> = [
    () => classic(rng.bytes(rng.int(1, 1500))),
    () => classic(Buffer.from(rng.printable(rng.int(1, 600)))),
    () => classic(Buffer.alloc(64 * 1024 + rng.int(1, 4096), 0x41)),
    () => classic(Buffer.concat([Buffer.from(`${sinkAddr} fz `), Buffer.from(rng.pick([[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xff], [0xc0, 0xaf]]))])),
    () => classic(Buffer.from(`${rng.pick(bad)} fz hello`)),
    () => classic(mutate(Buffer.from(rng.pick(templates)))),
    () => classic(mutate(Buffer.from(rng.pick(templates)))),
    () => native(lengthPrefix(0xffffffff), rng.bytes(16)),
    () => native(lengthPrefix(256 * 1024 + rng.int(1, 1 << 20)), rng.bytes(512)),
    () => native(frame(hello()).subarray(0, rng.int(1, 30))),
    () => native(frame(rng.bytes(rng.int(0, 200)))),
    () => native(frame({ ...hello(), v: rng.pick([0, 2, -1, 1e308, '1']) })),
    () => native(frame({ ...hello(), listen: 42 })),
    () => native(frame(hello()), ...Array.from({ length: rng.int(1, 5) }, () => frame(afterHello()))),
    () => native(frame(hello()), mutate(frame(afterHello()))),
  ];
  return () => {
    const input = rng.pick(gens)();
    // A standard `connect` makes the peer dial the sender back: never at a port not ours.
    if (input.via === 'classic' && /(^|\s)connect(\s|$)/.test(input.data.toString('latin1'))) return classic(rng.bytes(32));
    return input;
  };
}

function connectTo(port: number, localAddress: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port, localAddress });
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.once('connect', () => resolve(s));
    s.on('error', () => resolve(undefined));
  });
}

function closed(s: net.Socket, ms: number): Promise<boolean> {
  if (s.destroyed && s.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function deliver(port: number, input: Input, localAddress: string): Promise<void> {
  if (input.via === 'classic') {
    const s = await connectTo(port, localAddress);
    if (!s) return;
    if (input.close === 'end') s.end(input.data);
    else {
      s.write(input.data);
      s.destroy();
    }
    if (!(await closed(s, 1500))) s.destroy();
    return;
  }
  const peer = await fakeNativePeer(port, { localAddress, bannerTimeoutMs: 1500 });
  if (!peer) return;
  sockets.add(peer.socket);
  peer.socket.on('close', () => sockets.delete(peer.socket));
  for (const f of input.frames) peer.write(f);
  await delay(20); // the stimulus: a session that stays open a moment after its frames, then half-closes
  peer.end();
  if (!(await peer.waitClose(1500))) peer.socket.destroy();
}

describe(`terminal peer under fuzz, measured from outside (seed ${SEED})`, () => {
  let a: Cli;
  let rssBefore = 0;
  let rssAfter = 0;
  let fuzzMs = 0;
  let sinkPort = 0;
  let setupError: unknown;

  before(async () => {
    assert.ok(cliAvailable(), `${CLI_PATH} not found: build it first (npm run build, or node esbuild.js)`);
    try {
      const sink = net.createServer((s) => {
        s.on('error', () => {});
        s.on('end', () => s.destroy());
        s.setTimeout(3000, () => s.destroy());
      });
      servers.add(sink);
      await new Promise<void>((r) => sink.listen(0, HOST, r));
      sinkPort = (sink.address() as net.AddressInfo).port;
      a = await startCli('hardcli');
      const rng = new Rng(SEED);
      const gen = generator(rng, `${HOST}:${sinkPort}`, sinkPort, a.address);
      const run = (n: number) => pool(n, 32, () => deliver(a.port, gen(), rng.chance(0.5) ? HOST : `127.0.0.${rng.int(2, 9)}`));
      await run(WARMUP);
      await untilHeld('warm-up connections closed', () => kernelHeld(a.port) === 0, 10_000);
      await settle(a, 10_000); // it has handled the warm-up
      rssBefore = await steadyRss(a.proc.pid!);
      const t0 = Date.now();
      await run(INPUTS);
      fuzzMs = Date.now() - t0;
    } catch (err) {
      setupError = err;
    }
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([...servers].map((s) => new Promise((r) => s.close(r))));
    await Promise.all(receivers.map((r) => r.close()));
    await cleanupAll();
  });

  it(`survives ${INPUTS} random and mutated inputs and closes every connection`, { timeout: 60_000 }, async () => {
    if (setupError) throw setupError;
    assert.equal(a.proc.exited, false, `the terminal peer exited\n${a.proc.describe()}`);
    await untilHeld('no server-side socket left open', () => kernelHeld(a.port) === 0, 15_000, () => `still ${kernelHeld(a.port)}`);
    console.log(`interop fuzz: ${INPUTS} inputs in ${fuzzMs} ms`);
  });

  it(`has not grown its resident memory by more than ${RSS_BOUND / 1048576} MiB`, async () => {
    if (setupError) throw setupError;
    await settle(a, 10_000); // it has handled the fuzz
    rssAfter = await steadyRss(a.proc.pid!);
    console.log(`interop fuzz: VmRSS ${(rssBefore / 1048576).toFixed(1)} → ${(rssAfter / 1048576).toFixed(1)} MiB`);
    assert.ok(rssAfter - rssBefore < RSS_BOUND, `VmRSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(1)} MiB`);
  });

  it('still delivers a normal classic message both ways', { timeout: 30_000 }, async () => {
    if (setupError) throw setupError;
    const r = await classicReceiver();
    receivers.push(r);
    const inText = `classic-in-${Date.now()}`;
    const since = a.proc.mark();
    await rawSend(a.port, `${r.addr} probe ${inText}`);
    await a.proc.waitFor((e: Event) => e.type === 'message' && e.text === inText && e.from === r.addr, 'the classic message', { since });
    const outText = `classic-out-${Date.now()}`;
    a.proc.send(`/send ${r.addr} ${outText}`);
    await until('the classic receiver to get it', () => r.got.some((g) => g === `${a.address} hardcli ${outText}`), 8000, () => JSON.stringify(r.got));
  });

  it('still answers a native peer: another terminal peer connects and a message is delivered with its receipt', { timeout: 30_000 }, async () => {
    if (setupError) throw setupError;
    const b = await startCli('hardclib');
    const since = b.proc.mark();
    b.proc.send(`/connect ${a.address}`);
    await b.proc.waitFor((e: Event) => e.type === 'sent' && e.to === a.address && e.ok === true, 'connect result', { since, timeoutMs: 10_000 });
    const text = `native-${Date.now()}`;
    b.proc.send(`/send ${a.address} ${text}`);
    const sent = await b.proc.waitFor((e: Event) => e.type === 'sent' && e.to === a.address && typeof e.id === 'string', 'send result', { since });
    await a.proc.waitFor((e: Event) => e.type === 'message' && e.text === text && typeof e.origin === 'string', 'the native message at A');
    await b.proc.waitFor((e: Event) => (e.type === 'delivered' || e.type === 'read') && e.id === sent.id, 'a receipt at B');
  });
});
