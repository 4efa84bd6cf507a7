/**
 * Figures 1–5: the node on loopback, no VS Code. Each side of a measurement runs in its own
 * worker process (bench/worker.ts), as two programs on one machine would. Each figure is the
 * median of several runs measured here, in this one invocation, so that ratios compare like
 * with like on a noisy machine.
 *
 * Every node under test starts with its history at the cap (DEFAULT_LIMITS.maxHistory messages,
 * as a node in use has): the steady state, not the cheaper first 10,000 messages of a fresh node.
 */
import { BANNER_DELAY_MS } from '../src/core/classic/net/detect';
import { DEFAULT_LIMITS, Limits } from '../src/core/limits';
import { fmtInt, fmtMs, fmtRate, fmtUs, median, percentile, runs } from './lib/stats';
import { Worker } from './lib/workers';

export interface Row {
  id: string;
  /** The numbers behind `measured` by stable key (unit in the key), for bench/results/latest.json. */
  values?: Record<string, number>;
  figure: string;
  measured: string;
  target: string;
  notes: string;
}

export interface NodeBenchOptions {
  /** Runs per figure (median taken); at least 3. */
  runs: number;
  /** Smaller message counts: a quick look, not figures to publish. */
  quick: boolean;
  /** Figures to run ('1'..'5', 'tls' for the TLS lines alone); all when empty. */
  only: Set<string>;
  log(line: string): void;
}

export interface NodeResults {
  rows: Row[];
  /** Best classic receive rate (msg/s), the baseline of the native ratios. */
  classicBest: number;
}

interface Collected {
  count: number;
  firstUs: number;
  lastUs: number;
  complete: boolean;
}

interface Percentiles {
  p50: number;
  p99: number;
}

const HISTORY = DEFAULT_LIMITS.maxHistory;
/** The listening port our fake classic sender claims in its header. */
const HEADER_PORT = 40999;

/** Messages per second from a send start time to the last arrival. */
const rateOf = (count: number, t0Us: number, lastUs: number) => (lastUs > t0Us ? count / ((lastUs - t0Us) / 1e6) : NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate3 = (xs: number[]) => runs(xs, (x) => fmtInt(x));
const pct = (samples: number[]): Percentiles => ({ p50: percentile(samples, 50), p99: percentile(samples, 99) });
const medP = (xs: Percentiles[]) => `p50 ${fmtUs(median(xs.map((x) => x.p50)))}, p99 ${fmtUs(median(xs.map((x) => x.p99)))}`;

/** Workers started for one section, stopped when it ends whatever happens. */
async function withWorkers<T>(labels: string[], fn: (...w: Worker[]) => Promise<T>): Promise<T> {
  const started: Worker[] = [];
  try {
    for (const l of labels) started.push(await Worker.start(l));
    return await fn(...started);
  } finally {
    await Promise.all(started.map((w) => w.stop().catch(() => undefined)));
  }
}

export async function nodeBenchmarks(o: NodeBenchOptions): Promise<NodeResults> {
  const rows: Row[] = [];
  const scale = o.quick ? 0.25 : 1;
  const n = (x: number) => Math.max(50, Math.round(x * scale));
  const want = (id: string) => o.only.size === 0 || o.only.has(id);

  // ------------------------------------------------------------------ 1. classic receive
  const classicRates = new Map<number, number>();
  if (want('1') || want('3')) {
    o.log('1. classic receive: load generator → node, one connection per message');
    await withWorkers(['node-rx', 'classic-load'], async (nodeW, loadW) => {
      // The per-IP classic rate limits (1,000 msgs/s, burst 2,000, 8 MiB/s by default) would cut
      // this figure to the limit: the load generator sends ~10k msgs/s from 127.0.0.1. Raised here
      // so that the figure is the receive path's speed, not the limit's.
      const limits: Partial<Limits> = { classicBurst: 1e9, classicMessagesPerSecond: 1e9, classicBytesPerSecond: 1e12 };
      const { port } = await nodeW.call<{ port: number }>('node.start', { name: 'bench', limits, prefill: HISTORY });
      const send = async (prefix: string, count: number, concurrency: number) => {
        await nodeW.call('node.arm', { prefix, n: count });
        const r = await loadW.call<{ t0: number; ok: number; failed: number; errors: Record<string, number> }>(
          'load.classic',
          { port, n: count, concurrency, size: 100, prefix, headerPort: HEADER_PORT, name: 'loadgen', timeoutMs: 30_000 },
          40_000,
        );
        const c = await nodeW.call<Collected>('node.collect', { quietMs: 1000, timeoutMs: 5000 }, 10_000);
        const st = await nodeW.call<{ warnings: number; lastWarnings: string[] }>('node.stats');
        return { r, c, st };
      };
      await send('warm:', n(1000), 8);
      for (const conc of [1, 8, 64]) {
        const count = n(conc === 1 ? 1500 : 4000);
        const rates: number[] = [];
        let sent = 0;
        let recorded = 0;
        let failed = 0;
        const errs: Record<string, number> = {};
        let warn = '';
        for (let i = 0; i < o.runs; i++) {
          const { r, c, st } = await send(`c${conc}r${i}:`, count, conc);
          rates.push(rateOf(c.count, r.t0, c.lastUs));
          sent += count;
          recorded += c.count;
          failed += r.failed;
          for (const [k, v] of Object.entries(r.errors)) errs[k] = (errs[k] ?? 0) + v;
          if (st.warnings && !warn) warn = `; node warned ${st.warnings}×, e.g. "${st.lastWarnings[0]}"`;
        }
        const m = median(rates);
        classicRates.set(conc, m);
        const lost = sent - recorded;
        const errText = Object.keys(errs).length ? `; client errors ${JSON.stringify(errs)}` : '';
        rows.push({
          id: '1',
          figure: `Classic receive, ${conc} in flight`,
          measured: `${fmtRate(m)}, loss ${fmtInt(lost)}/${fmtInt(sent)}`,
          target: conc === 64 ? 'zero loss at 64 in flight' : '—',
          notes: `${count} msgs of 100 B per run, runs ${rate3(rates)}; loss = sent − recorded by the node; ${failed} connections failed${errText}${warn}; per-IP classic rate limits raised for this figure`,
        });
        o.log(`   ${conc} in flight: ${fmtRate(m)} (${rate3(rates)}), loss ${lost}/${sent}`);
      }
    });
  }
  const classicBest = classicRates.size ? Math.max(...classicRates.values()) : NaN;

  // ------------------------------------------------------------------ 2. classic send
  if (want('2')) {
    o.log('2. classic send: node → plain TCP receiver');
    await withWorkers(['node-tx', 'classic-recv'], async (nodeW, recvW) => {
      await nodeW.call('node.start', { name: 'bench', prefill: HISTORY });
      const { port } = await recvW.call<{ port: number }>('recv.start');
      const target = `127.0.0.1:${port}`;
      const go = async (prefix: string, count: number) => {
        await recvW.call('recv.arm', { n: count });
        const r = await nodeW.call<{ t0: number; ok: number; failed: number }>(
          'node.sendClassic',
          { target, n: count, size: 100, prefix, concurrency: 16, timeoutMs: 30_000 },
          40_000,
        );
        const c = await recvW.call<Collected>('recv.collect', { quietMs: 1000, timeoutMs: 5000 }, 10_000);
        return { r, c };
      };
      await go('warm:', n(300)); // the first send probes for a PeerChat banner (400 ms); later ones do not
      const rates: number[] = [];
      let failed = 0;
      let lost = 0;
      const count = n(1500);
      for (let i = 0; i < o.runs; i++) {
        const { r, c } = await go(`s${i}:`, count);
        rates.push(rateOf(c.count, r.t0, c.lastUs));
        failed += r.failed;
        lost += count - c.count;
      }
      const m = median(rates);
      rows.push({
        id: '2',
        figure: 'Classic send, node → 1 classic receiver',
        measured: fmtRate(m),
        target: '—',
        notes: `PeerNode.send, ${count} msgs of 100 B per run, 16 calls outstanding (the node opens one connection at a time per peer); runs ${rate3(rates)}; ${failed} failed, ${lost} not received`,
      });
      o.log(`   ${fmtRate(m)} (${rate3(rates)})`);
    });
  }

  // ------------------------------------------------------------------ 3 (+ 4). native between two nodes
  const ratioRows: Row[] = [];
  const ratio = (what: string, rate: number): Row => ({
    id: '3',
    figure: `Ratio ${what} / classic receive`,
    measured: `×${(rate / classicBest).toFixed(1)}`,
    target: '≥ ×50',
    notes: `against the best classic receive figure of this run (${fmtRate(classicBest)})`,
  });

  const UNTHROTTLED: Partial<Limits> = { nativeFramesPerSecond: 1e9, nativeBytesPerSecond: 1e12, nativeFramesPerSecondPerAddress: 1e9, nativeBytesPerSecondPerAddress: 1e12 };
  /** Two PeerNodes in two processes with a native session; bursts through PeerNode.send. */
  const nativeLine = (line: { fileStore?: boolean; limits?: Partial<Limits>; sizes: number[]; rtt: boolean; count: (size: number) => number }) =>
    withWorkers(['node-a', 'node-b'], async (a, b) => {
      // The bench measures the message path, not the policy: a peer's rate limits (20,000 frames/s
      // by default, far above any chat) are lifted so they do not decide the figure.
      const start = { fileStore: line.fileStore, limits: { ...UNTHROTTLED, ...line.limits }, prefill: HISTORY };
      await a.call('node.start', { name: 'alice', ...start });
      const bInfo = await b.call<{ address: string; nodeId: string }>('node.start', { name: 'bob', ...start });
      const c = await a.call<{ ok: boolean; protocol?: string; error?: string }>('node.connect', { address: bInfo.address }, 10_000);
      if (!c.ok || c.protocol !== 'native') throw new Error(`no native session between the two nodes: ${JSON.stringify(c)}`);
      const target = `node:${bInfo.nodeId}`;
      const burst = async (prefix: string, count: number, size: number) => {
        await b.call('node.arm', { prefix, n: count });
        const r = await a.call<{ t0: number; delivered: number; failed: number }>(
          'node.sendNative',
          { target, n: count, size, window: 256, prefix, timeoutMs: 30_000 },
          40_000,
        );
        const got = await b.call<Collected>('node.collect', { quietMs: 1000, timeoutMs: 5000 }, 10_000);
        return { rate: rateOf(got.count, r.t0, got.lastUs), lost: count - got.count, failed: r.failed };
      };
      if (line.sizes.length) await burst('warm:', n(line.count(100) / 2), 100);
      const out: { size: number; rate: number; rates: number[]; lost: number; failed: number; count: number }[] = [];
      for (const size of line.sizes) {
        const count = n(line.count(size));
        const rates: number[] = [];
        let lost = 0;
        let failed = 0;
        for (let i = 0; i < o.runs; i++) {
          const r = await burst(`n${size}r${i}:`, count, size);
          rates.push(r.rate);
          lost += r.lost;
          failed += r.failed;
        }
        out.push({ size, rate: median(rates), rates, lost, failed, count });
      }
      const rttRuns: Percentiles[] = [];
      if (line.rtt) {
        await a.call('node.rtt', { target, n: 200, size: 100, prefix: 'rttwarm:' }, 30_000);
        for (let i = 0; i < o.runs; i++) {
          const { samples } = await a.call<{ samples: number[] }>('node.rtt', { target, n: n(1000), size: 100, prefix: `rtt${i}:` }, 60_000);
          rttRuns.push(pct(samples));
        }
      }
      return { out, rttRuns };
    });

  let rttRuns: Percentiles[] = [];
  if (want('3') || want('4')) {
    o.log('3. native throughput between two PeerNodes (PeerNode.send → message events on the receiver)');
    const line = await nativeLine({ sizes: want('3') ? [100, 1024] : [], rtt: want('4'), count: (size) => (size > 500 ? 8000 : 10_000) });
    rttRuns = line.rttRuns;
    for (const r of line.out) {
      const label = r.size === 100 ? '100 B' : '1 KiB';
      rows.push({
        id: '3',
        figure: `Native, PeerNode → PeerNode, ${label}`,
        measured: fmtRate(r.rate),
        target: '—',
        notes: `PeerNode.send → 'message' events on the other node (history, outbox, receipts; MemoryStore), ${r.count} msgs per run, ≤256 awaiting receipt; runs ${rate3(r.rates)}; ${r.lost} not received, ${r.failed} refused`,
      });
      ratioRows.push(ratio(`native PeerNode ${label}`, r.rate));
      o.log(`   PeerNode ${label}: ${fmtRate(r.rate)} (${rate3(r.rates)})`);
    }
  }

  if (want('3')) {
    o.log('3. same, history never trimmed (maxHistory raised): what the history trim costs');
    const untrimmed = await nativeLine({ limits: { maxHistory: 10_000_000 }, sizes: [100], rtt: false, count: () => 10_000 });
    for (const r of untrimmed.out) {
      rows.push({
        id: '3',
        figure: 'Native, PeerNode → PeerNode, 100 B, history not trimmed',
        measured: fmtRate(r.rate),
        target: '—',
        notes: `diagnostic: as the 100 B line but maxHistory raised so addMessage never trims (history.splice); runs ${rate3(r.rates)}`,
      });
      o.log(`   untrimmed 100 B: ${fmtRate(r.rate)} (${rate3(r.rates)})`);
    }

    o.log('3. same, both nodes on FileStore (as the extension and the terminal peer persist)');
    const onDisk = await nativeLine({ fileStore: true, sizes: [100], rtt: false, count: () => 4000 });
    for (const r of onDisk.out) {
      rows.push({
        id: '3',
        figure: 'Native, PeerNode → PeerNode, 100 B, FileStore',
        measured: fmtRate(r.rate),
        target: '—',
        notes: `as the 100 B line but history.jsonl on disk on both sides (the extension's and terminal peer's store); ${r.count} msgs per run; runs ${rate3(r.rates)}`,
      });
      o.log(`   FileStore 100 B: ${fmtRate(r.rate)} (${rate3(r.rates)})`);
    }
  }

  // ------------------------------------------------------------------ 3. raw sessions, plain TCP vs TLS
  if (want('3') || want('tls')) {
    o.log('3. raw NativeSession frames over plain TCP and over TLS 1.3 (no PeerNode: framing, JSON, batching, TCP/TLS)');
    await withWorkers(['sess-rx', 'sess-tx'], async (rx, tx) => {
      const { port, tlsPort } = await rx.call<{ port: number; tlsPort: number }>('sess.server');
      await tx.call('sess.client', { port, mode: 'plain' }, 10_000);
      await tx.call('sess.client', { port: tlsPort, mode: 'tls' }, 10_000);
      const burst = async (mode: 'plain' | 'tls', prefix: string, count: number, size: number) => {
        await rx.call('sess.arm', { prefix, n: count });
        const r = await tx.call<{ t0: number; sent: number }>('sess.burst', { mode, n: count, size, prefix, timeoutMs: 20_000 }, 30_000);
        const got = await rx.call<Collected>('sess.collect', { quietMs: 1000, timeoutMs: 5000 }, 10_000);
        return { rate: rateOf(got.count, r.t0, got.lastUs), lost: count - got.count };
      };
      await burst('plain', 'warm:', n(50_000), 100);
      await burst('tls', 'warmt:', n(50_000), 100);
      for (const size of [100, 1024]) {
        const label = size === 100 ? '100 B' : '1 KiB';
        const tag = size === 100 ? '100B' : '1KiB';
        const count = n(size > 500 ? 100_000 : 200_000);
        const rates = { plain: [] as number[], tls: [] as number[] };
        const lost = { plain: 0, tls: 0 };
        // Plain and TLS runs alternate (the order flipping every run), so drift in the machine's
        // load falls on both alike.
        for (let i = 0; i < o.runs; i++) {
          const order: ('plain' | 'tls')[] = i % 2 ? ['tls', 'plain'] : ['plain', 'tls'];
          for (const mode of order) {
            const r = await burst(mode, `f${mode}${size}r${i}:`, count, size);
            rates[mode].push(r.rate);
            lost[mode] += r.lost;
          }
        }
        const plain = median(rates.plain);
        const secure = median(rates.tls);
        const cost = (1 - secure / plain) * 100;
        rows.push({
          id: '3',
          values: { [`raw_session_plain_${tag}_msgs_per_s`]: plain },
          figure: `Native, raw NativeSession frames, ${label}, plain TCP`,
          measured: fmtRate(plain),
          target: '—',
          notes: `the product's NativeSession on both ends of a plain TCP connection, trySend → 'frame' events, no PeerNode (no history/outbox/receipts); ${count} frames per run; runs ${rate3(rates.plain)}; ${lost.plain} not received`,
        });
        ratioRows.push(ratio(`raw session ${label}`, plain));
        rows.push(
          {
            id: '3',
            values: { [`raw_session_tls_${tag}_msgs_per_s`]: secure },
            figure: `Native, raw NativeSession frames, ${label}, TLS 1.3`,
            measured: fmtRate(secure),
            target: '—',
            notes: `as the plain line, same two processes, the session on the TLS stream secureConnection makes (P-256 certificates, TLS 1.3 as negotiated by Node's defaults); runs alternate with the plain ones; runs ${rate3(rates.tls)}; ${lost.tls} not received`,
          },
          {
            id: '3',
            values: { [`raw_session_tls_cost_${tag}_pct`]: cost },
            figure: `TLS cost, raw NativeSession frames, ${label}`,
            measured: `${cost.toFixed(1)} %`,
            target: '≤ 15 %',
            notes: `1 − TLS / plain of the two medians above (${fmtRate(secure)} / ${fmtRate(plain)}), measured in this run`,
          },
        );
        o.log(`   raw session ${label}: plain ${fmtRate(plain)} (${rate3(rates.plain)}), TLS ${fmtRate(secure)} (${rate3(rates.tls)}): TLS costs ${cost.toFixed(1)} %`);
      }
    });
  }
  if (want('3') && Number.isFinite(classicBest)) rows.push(...ratioRows);

  // ------------------------------------------------------------------ 4. round trips
  if (want('4')) {
    o.log('4. native round trip');
    rows.push({
      id: '4',
      figure: 'Native round trip: send → delivered receipt',
      measured: medP(rttRuns),
      target: 'p50 ≤ 100 µs',
      notes: `PeerNode.send on A until A's 'delivered' event (chat frame to B, B's ack back), one at a time, ${n(1000)} per run; p50 of runs ${runs(rttRuns.map((x) => x.p50), fmtUs)}`,
    });
    o.log(`   send→delivered p50 ${runs(rttRuns.map((x) => x.p50), fmtUs)}, p99 ${runs(rttRuns.map((x) => x.p99), fmtUs)}`);
    await withWorkers(['node-pong', 'raw-ping'], async (nodeW, peersW) => {
      const { port } = await nodeW.call<{ port: number }>('node.start', { name: 'bench', prefill: HISTORY });
      await peersW.call('peers.connect', { port, count: 1, concurrency: 1 }, 15_000);
      await peersW.call('peers.ping', { n: 200 });
      const pr: Percentiles[] = [];
      for (let i = 0; i < o.runs; i++) pr.push(pct((await peersW.call<{ samples: number[] }>('peers.ping', { n: n(2000) }, 60_000)).samples));
      rows.push({
        id: '4',
        figure: 'Native round trip: session ping → pong',
        measured: medP(pr),
        target: 'p50 ≤ 100 µs',
        notes: `a raw native client pings the node's NativeSession (answered without PeerNode), ${n(2000)} per run; p50 of runs ${runs(pr.map((x) => x.p50), fmtUs)}`,
      });
      o.log(`   ping→pong p50 ${runs(pr.map((x) => x.p50), fmtUs)}, p99 ${runs(pr.map((x) => x.p99), fmtUs)}`);
    });
    await withWorkers(['echo-server', 'echo-client'], async (server, client) => {
      const { port } = await server.call<{ port: number }>('echo.start');
      await client.call('echo.rtt', { port, n: 200 });
      const er: Percentiles[] = [];
      for (let i = 0; i < o.runs; i++) er.push(pct((await client.call<{ samples: number[] }>('echo.rtt', { port, n: n(2000) }, 60_000)).samples));
      rows.push({
        id: '4',
        figure: 'Baseline: plain TCP echo round trip',
        measured: medP(er),
        target: '—',
        notes: `two Node processes, 32 B write → echo, no PeerChat code: the floor of the two lines above on this machine; p50 of runs ${runs(er.map((x) => x.p50), fmtUs)}`,
      });
      o.log(`   TCP echo baseline p50 ${runs(er.map((x) => x.p50), fmtUs)}`);
    });
  }

  // ------------------------------------------------------------------ 4. TLS handshake, native connect
  if (want('4') || want('tls')) {
    o.log('4. TLS handshake (secureConnection on both ends) and a full native connect (PeerNode.connect)');
    const count = n(200);
    await withWorkers(['tls-server', 'tls-client'], async (server, client) => {
      const { port } = await server.call<{ port: number }>('tls.server');
      const round = async (k: number) => {
        await server.call('tls.serverTimes');
        const c = await client.call<{ t0: number[]; tConnect: number[]; tOk: number[] }>('tls.handshakes', { port, n: k }, 120_000);
        const s = await server.call<{ times: number[]; failed: number }>('tls.serverTimes');
        if (s.times.length !== k || s.failed) throw new Error(`TLS server: ${s.times.length} of ${k} handshakes ok, ${s.failed} failed`);
        return {
          both: c.t0.map((t, i) => Math.max(c.tOk[i], s.times[i]) - t),
          tcp: c.t0.map((t, i) => c.tConnect[i] - t),
        };
      };
      await round(20);
      const hr: Percentiles[] = [];
      const tcp: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const r = await round(count);
        hr.push(pct(r.both));
        tcp.push(percentile(r.tcp, 50));
      }
      const p50 = median(hr.map((x) => x.p50));
      const p99 = median(hr.map((x) => x.p99));
      rows.push({
        id: '4',
        values: { tls_handshake_p50_us: p50, tls_handshake_p99_us: p99 },
        figure: 'TLS handshake: TCP connect → both sides secured',
        measured: medP(hr),
        target: '—',
        notes: `two processes, ${count} sequential fresh connections per run: from net.connect until secureConnection resolved ok on both ends (the later of the two, shared monotonic clock), each side with its own P-256 identity; no banner; of which TCP connect p50 ${fmtUs(median(tcp))}; p50 of runs ${runs(hr.map((x) => x.p50), fmtUs)}, p99 ${runs(hr.map((x) => x.p99), fmtUs)}`,
      });
      o.log(`   TLS handshake p50 ${runs(hr.map((x) => x.p50), fmtUs)}, p99 ${runs(hr.map((x) => x.p99), fmtUs)} (TCP connect p50 ${fmtUs(median(tcp))})`);
    });
    const dials = n(50);
    await withWorkers(['dial-target', 'dialers'], async (target, dialer) => {
      const { address } = await target.call<{ address: string }>('node.start', { name: 'target' });
      await dialer.call('dial.fresh', { address, n: 5 }, 60_000);
      const { samples } = await dialer.call<{ samples: number[] }>('dial.fresh', { address, n: dials }, 120_000);
      const p = pct(samples);
      rows.push({
        id: '4',
        values: { native_connect_p50_us: p.p50, native_connect_p99_us: p.p99 },
        figure: 'Native connect: PeerNode.connect → ready session',
        measured: `p50 ${fmtUs(p.p50)}, p99 ${fmtUs(p.p99)}`,
        target: '—',
        notes: `${dials} fresh dials (each a new PeerNode with a new identity, started untimed, shut down after) to one node in another process (empty history): TCP connect, the silent wait for the banner (the server sends it after ${BANNER_DELAY_MS} ms of silence) and its echo, TLS 1.3, hello both ways; mean ${fmtUs(samples.reduce((x, y) => x + y, 0) / samples.length)}`,
      });
      o.log(`   native connect p50 ${fmtUs(p.p50)}, p99 ${fmtUs(p.p99)}`);
    });
  }

  // ------------------------------------------------------------------ 5. broadcast fan-out
  if (want('5')) {
    o.log('5. broadcast fan-out to raw native peers');
    const sizes = [100, 500];
    const fanRuns = Math.max(o.runs, 5);
    // The default caps (64 native sessions, 512 connections) are below the fan-out asked for.
    // All the raw peers are one process on 127.0.0.1: the per-address caps are lifted with the totals.
    const limits = { maxNativeSessions: 1024, maxIncomingConnections: 2048, maxNativePerAddress: 1024, maxNativeHandshakes: 64, maxNativeHandshakesPerAddress: 64, maxIncomingPerAddress: 2048, ...UNTHROTTLED };
    await withWorkers(['node-bcast', 'raw-peers'], async (nodeW, peersW) => {
      const { port } = await nodeW.call<{ port: number }>('node.start', { name: 'bench', limits, prefill: HISTORY });
      for (const size of sizes) {
        const have = (await nodeW.call<{ sessions: number }>('node.stats')).sessions;
        const c = await peersW.call<{ tookMs: number }>('peers.connect', { port, count: size - have, concurrency: 50 }, 120_000);
        const deadline = Date.now() + 10_000;
        while ((await nodeW.call<{ sessions: number }>('node.stats')).sessions < size && Date.now() < deadline) await sleep(50);
        const st = await nodeW.call<{ sessions: number }>('node.stats');
        if (st.sessions < size) throw new Error(`only ${st.sessions} of ${size} native sessions came up`);
        await sleep(500); // let the peer-exchange frames of the joins settle
        const times: number[] = [];
        const written: number[] = [];
        let missing = 0;
        for (let i = 0; i < fanRuns; i++) {
          const marker = `fan${size}r${i}:`;
          await peersW.call('peers.arm', { marker });
          const b = await nodeW.call<{ t0: number; tFlushed: number }>('node.broadcast', { text: `${marker} ${'x'.repeat(90)}` });
          const got = await peersW.call<Collected>('peers.collect', { timeoutMs: 5000 }, 10_000);
          if (!got.complete) missing += size - got.count;
          times.push((got.lastUs - b.t0) / 1000);
          written.push((b.tFlushed - b.t0) / 1000);
          await sleep(200); // receipts flow back before the next one
        }
        rows.push({
          id: '5',
          figure: `Broadcast fan-out to ${size} native peers`,
          measured: fmtMs(median(times)),
          target: size === 500 ? '≤ 10 ms' : '—',
          notes: `PeerNode.broadcast until the last of ${size} raw peers (one process) read its frame; runs ${runs(times, fmtMs)}; the node had written every frame after ${fmtMs(median(written))} (median); ${missing} missed; limits raised to ${JSON.stringify(limits)}; ${size - have} handshakes took ${c.tookMs} ms`,
        });
        o.log(`   ${size} peers: ${fmtMs(median(times))} (${runs(times, fmtMs)}); node wrote all after ${runs(written, fmtMs)}`);
      }
    });
    await withWorkers(['plain-server', 'plain-clients'], async (server, clients) => {
      const { port } = await server.call<{ port: number }>('plain.server');
      for (const size of sizes) {
        const have = (await server.call<{ accepted: number }>('plain.count')).accepted;
        await clients.call('plain.connect', { port, count: size - have }, 60_000);
        const deadline = Date.now() + 10_000;
        while ((await server.call<{ accepted: number }>('plain.count')).accepted < size && Date.now() < deadline) await sleep(20);
        const times: number[] = [];
        for (let i = 0; i < fanRuns; i++) {
          await clients.call('plain.arm');
          const b = await server.call<{ t0: number }>('plain.broadcast', { bytes: 230 });
          const got = await clients.call<Collected>('plain.collect', { timeoutMs: 5000 }, 10_000);
          times.push((got.lastUs - b.t0) / 1000);
          await sleep(100);
        }
        rows.push({
          id: '5',
          figure: `Baseline: plain TCP write to ${size} sockets`,
          measured: fmtMs(median(times)),
          target: '—',
          notes: `no PeerChat code: one process writes 230 B (a chat frame's size) to ${size} sockets, another reads them; the floor of the line above; runs ${runs(times, fmtMs)}`,
        });
        o.log(`   baseline ${size} sockets: ${fmtMs(median(times))} (${runs(times, fmtMs)})`);
      }
    });
  }
  return { rows, classicBest };
}
