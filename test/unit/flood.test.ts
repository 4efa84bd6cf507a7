// Issue 12, "The chat stays readable under a flood", and the per-IP classic rate limits: attacks
// with real sockets on 127.0.0.x against an in-process PeerNode (Linux loopback answers the whole
// 127/8, so source addresses 127.0.0.2.. are other senders). Limits are shrunk where a test would
// otherwise take long; the budgets under test keep their defaults unless the test says otherwise.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import type { Limits } from '../../src/core/limits';
import { LogLevel, PeerNode } from '../../src/core/node';
import { rawSend } from '../support/rawSend';
import { delay, until } from '../support/until';

const HOST = '127.0.0.1';

interface TestNode {
  node: PeerNode;
  port: number;
  logs: { level: LogLevel; text: string }[];
  /** Every message the node added, in order (history may trim; this is the record of what showed). */
  shown: ChatMessage[];
}

const live = new Set<PeerNode>();
const sockets = new Set<net.Socket>();
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all([...live].map((n) => n.stop()));
});

// Limits beyond the ones under test, so that the attacks fit: more connections from one address
// than the default allows (the budgets, not the connection caps, are what these tests look at).
const ROOMY: Partial<Limits> = { maxIncomingPerAddress: 400, maxIncomingConnections: 1000, incomingIdleMs: 20_000 };

async function startNode(limits: Partial<Limits> = {}): Promise<TestNode> {
  const node = new PeerNode({ host: HOST, port: 0, name: 'flooded', advertisedIp: HOST, inactiveAfterSeconds: 0, limits: { ...ROOMY, ...limits } });
  const t: TestNode = { node, port: 0, logs: [], shown: [] };
  node.on('log', (level, text) => {
    if (level !== 'trace') t.logs.push({ level, text });
  });
  node.on('message', (m) => t.shown.push(m));
  live.add(node);
  await node.start();
  t.port = node.listeningPort;
  return t;
}

function connect(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port, localAddress });
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Runs fn(0..count-1) with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** What the node holds open from the outside in: incoming classic connections. */
const incoming = (t: TestNode) => t.node.activeResources().incoming;

/** A standard message from `localAddress` that the node must show: proves what came before was read. */
async function marker(t: TestNode, localAddress: string, headerPort = 7999): Promise<void> {
  const text = `marker-${Math.random().toString(36).slice(2)}`;
  await rawSend(t.port, `${localAddress}:${headerPort} marker ${text}`, { localAddress });
  await until(`the marker "${text}" from ${localAddress}`, () => t.shown.some((m) => m.direction === 'in' && m.text === text), 10_000, () => t.logs.slice(-6).map((l) => `  ${l.level} ${l.text}`).join('\n'));
}

const fromIp = (ip: string) => (m: ChatMessage) => m.direction === 'in' && !!m.peer && m.peer.slice(0, m.peer.lastIndexOf(':')) === ip;
const summaries = (t: TestNode, ip: string) => t.shown.filter((m) => m.direction === 'system' && new RegExp(`^${ip.replace(/\./g, '\\.')} sent [\\d,]+ more messages?: dropped$`).test(m.text));
const countIn = (line: ChatMessage) => Number(/sent ([\d,]+) more/.exec(line.text)![1].replace(/,/g, ''));

/**
 * A slow-loris that trickles: `connections` sockets from `ip`, each writing `bytes` one piece of
 * `pieceBytes` at a time, `gapMs` apart (longer than the framer's 150 ms quiet gap), then closing.
 */
async function trickle(t: TestNode, ip: string, connections: number, bytes: string, pieceBytes: number, gapMs: number): Promise<void> {
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const s = await connect(t.port, ip);
      for (let i = 0; i < bytes.length && !s.destroyed; i += pieceBytes) {
        s.write(bytes.slice(i, i + pieceBytes));
        await delay(gapMs); // stimulus: the attacker's trickle
      }
      s.end();
    }),
  );
  await until('the node to close every trickling connection', () => incoming(t) === 0, 10_000, () => `${incoming(t)} still open`);
}

describe('flood: a slow-loris trickle never fills the chat', () => {
  const N = 120;
  const TEXT = 'abcdefghijkl';
  let t: TestNode;
  let heapGrowth = 0;

  it(`${N} connections trickling one byte every 200 ms: no fragment is shown, at most the burst and one summary line`, async () => {
    t = await startNode({ dropSummaryMs: 300 });
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    await trickle(t, HOST, N, TEXT, 1, 200);
    heapGrowth = process.memoryUsage().heapUsed - heap0;
    await marker(t, '127.0.0.2');
    const got = t.shown.filter(fromIp(HOST));
    const fragments = got.filter((m) => m.text.length < 4);
    console.log(`slow-loris: ${N} connections × ${TEXT.length} one-byte pieces in ${Date.now() - t0} ms: ${got.length} messages shown (${fragments.length} fragments), heap +${(heapGrowth / 1048576).toFixed(1)} MiB`);
    assert.deepEqual(fragments.slice(0, 5).map((m) => m.text), [], `${fragments.length} trickled fragments shown as messages`);
    assert.ok(got.length <= 20, `${got.length} messages from the trickle shown`);
    assert.ok(summaries(t, HOST).length <= 1, 'at most one summary line');
    assert.ok(t.logs.some((l) => /trickl/.test(l.text)), 'the trickle is logged');
    assert.ok(t.logs.filter((l) => /trickl/.test(l.text)).length <= 3, 'and the log is rate-limited');
  });

  it('bounded memory: what a trickling connection holds goes with it', () => {
    assert.ok(t.node.getHistory().length < 60, `history holds ${t.node.getHistory().length} messages`);
    assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew by ${(heapGrowth / 1048576).toFixed(1)} MiB`);
  });

  it('pieces big enough to be writes (6 bytes every 200 ms from 60 connections): cut to the burst, one summary line that counts the rest', async () => {
    const n = await startNode({ dropSummaryMs: 300 });
    const ip = '127.0.0.3';
    const t0 = Date.now();
    await trickle(n, ip, 60, 'word1 word2 word3 word4 word5 ', 6, 200);
    const seconds = (Date.now() - t0) / 1000;
    await marker(n, '127.0.0.2');
    await until('the summary line for 127.0.0.3', () => summaries(n, ip).length > 0, 5000);
    const got = n.shown.filter(fromIp(ip));
    const line = summaries(n, ip);
    console.log(`trickle of writes: 60 connections × 5 pieces in ${seconds.toFixed(1)} s: ${got.length} shown, "${line[0]?.text}"`);
    assert.ok(got.length <= 20 + Math.ceil(2 * seconds) + 1, `${got.length} messages shown in ${seconds} s`);
    assert.equal(line.length, 1, `summary lines: ${line.map((m) => m.text).join(' | ')}`);
    assert.equal(countIn(line[0]) + got.length, 300, 'the summary counts every message not shown');
  });
});

describe('flood: headerless messages are budgeted per address, identified senders are not', () => {
  it('300 headerless messages from 127.0.0.2 are cut to the burst with one system line; 300 with a header from 127.0.0.1 all arrive', async () => {
    const t = await startNode({ dropSummaryMs: 300 });
    const COUNT = 300;
    const t0 = Date.now();
    await Promise.all([
      pool(COUNT, 16, (i) => rawSend(t.port, `flood ${i}`, { localAddress: '127.0.0.2' }).then(() => undefined)),
      pool(COUNT, 16, (i) => rawSend(t.port, `127.0.0.1:7001 alice hello ${i}`, { localAddress: HOST }).then(() => undefined)),
    ]);
    const seconds = (Date.now() - t0) / 1000;
    await until('every message with a header', () => t.shown.filter(fromIp(HOST)).length === COUNT, 10_000, () => `${t.shown.filter(fromIp(HOST)).length} of ${COUNT}`);
    await until('the summary line for 127.0.0.2', () => summaries(t, '127.0.0.2').length > 0, 5000);
    const flood = t.shown.filter(fromIp('127.0.0.2'));
    const line = summaries(t, '127.0.0.2');
    console.log(`headerless flood: ${COUNT} in ${seconds.toFixed(1)} s: ${flood.length} shown, "${line[0]?.text}"; ${COUNT} with a header: all shown`);
    assert.ok(flood.length >= 20, 'the burst gets through');
    assert.ok(flood.length <= 20 + Math.ceil(2 * seconds) + 1, `${flood.length} headerless messages shown in ${seconds} s`);
    assert.equal(line.length, 1);
    assert.equal(countIn(line[0]) + flood.length, COUNT, 'the summary counts every message not shown');
    assert.equal(line[0].conversation, 'everyone');
    assert.ok(t.logs.filter((l) => /127\.0\.0\.2/.test(l.text) && /without saying who it is/.test(l.text)).length === 1, 'one log line');
    // The budget refills: after the flood the sender may speak again.
    await until('the budget to refill a little', async () => {
      await rawSend(t.port, 'after the flood', { localAddress: '127.0.0.2' });
      return t.shown.some((m) => fromIp('127.0.0.2')(m) && m.text === 'after the flood');
    }, 5000, undefined, 600);
  });
});

describe('flood: per-IP rate limits on classic messages', () => {
  it('drops beyond the burst and the rate, logs one line with the count; another address is not affected', async () => {
    const t = await startNode({ classicBurst: 50, classicMessagesPerSecond: 20, dropSummaryMs: 300 });
    const COUNT = 400;
    const t0 = Date.now();
    let other = 0;
    await Promise.all([
      pool(COUNT, 32, (i) => rawSend(t.port, `127.0.0.3:7003 carol hi ${i}`, { localAddress: '127.0.0.3' }).then(() => undefined)),
      pool(20, 1, (i) => rawSend(t.port, `127.0.0.4:7004 dave calm ${i}`, { localAddress: '127.0.0.4' }).then(() => void other++)),
    ]);
    const seconds = (Date.now() - t0) / 1000;
    await until('dave’s 20 messages', () => t.shown.filter(fromIp('127.0.0.4')).length === 20, 5000);
    const line = await until('the cut-back log line', () => t.logs.find((l) => /^127\.0\.0\.3 sends more than 20 classic messages\/s: cut back, [\d,]+ dropped/.test(l.text)), 5000);
    const got = t.shown.filter(fromIp('127.0.0.3'));
    const dropped = Number(/cut back, ([\d,]+) dropped/.exec(line.text)![1].replace(/,/g, ''));
    console.log(`classic rate: ${COUNT} in ${seconds.toFixed(1)} s from 127.0.0.3: ${got.length} shown; "${line.text}"`);
    assert.ok(got.length >= 50, 'the burst gets through');
    assert.ok(got.length <= 50 + Math.ceil(20 * seconds) + 1, `${got.length} shown in ${seconds} s`);
    assert.equal(dropped + got.length, COUNT, 'the line counts every message dropped');
    assert.equal(t.logs.filter((l) => /^127\.0\.0\.3 sends more than/.test(l.text)).length, 1, 'logged once');
    assert.equal(other, 20);
  });

  it('a line-mode sender that is cut back still gets its acknowledgement for every line (it blocks without one)', async () => {
    const t = await startNode({ classicBurst: 3, classicMessagesPerSecond: 1, dropSummaryMs: 300 });
    const s = await connect(t.port, '127.0.0.6');
    let acks = 0;
    s.on('data', (d: Buffer) => void (acks += d.toString().split('Message received').length - 1));
    const lines = ['5000', 'CONNECT', ...Array.from({ length: 10 }, (_, i) => `127.0.0.6:5000 fay line ${i}`)];
    for (const [i, line] of lines.entries()) {
      s.write(`${line}\n`);
      await until(`the acknowledgement of line ${i + 1}`, () => acks >= i + 1, 5000, () => `${acks} acknowledgements`);
    }
    s.end();
    const line = await until('the cut-back log line', () => t.logs.find((l) => /^127\.0\.0\.6 sends more than 1 classic messages\/s: cut back/.test(l.text)), 5000);
    const shown = t.shown.filter(fromIp('127.0.0.6')).length;
    const dropped = Number(/cut back, ([\d,]+) dropped/.exec(line.text)![1].replace(/,/g, ''));
    assert.equal(acks, lines.length);
    assert.ok(shown < 10, `${shown} lines shown`);
    assert.equal(shown + dropped, 10, 'the opening (within the burst) passed; every later line is shown or counted');
  });

  it('drops beyond the byte rate with its own line', async () => {
    const t = await startNode({ classicBytesPerSecond: 10_000, maxIncomingBytes: 4096, dropSummaryMs: 300 });
    const COUNT = 40;
    const big = 'x'.repeat(3000);
    await pool(COUNT, 8, (i) => rawSend(t.port, `127.0.0.5:7005 erin ${i} ${big}`, { localAddress: '127.0.0.5' }).then(() => undefined));
    const line = await until('the byte cut-back log line', () => t.logs.find((l) => /^127\.0\.0\.5 sends more than 10000 bytes of classic messages\/s: cut back, [\d,]+ dropped/.test(l.text)), 5000);
    const got = t.shown.filter(fromIp('127.0.0.5'));
    const dropped = Number(/cut back, ([\d,]+) dropped/.exec(line.text)![1].replace(/,/g, ''));
    assert.ok(got.length < COUNT, 'some were dropped');
    assert.equal(dropped + got.length, COUNT);
  });
});
