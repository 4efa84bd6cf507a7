/**
 * `npm run bench`: every figure of issue 5 in one run, printed as one table (Markdown) with the
 * targets beside the figures, the machine and the date; the table is also written to
 * bench/results/latest.md (git-ignored).
 *
 *   npm run bench                      everything (about 4–5 minutes on 2 cores)
 *   npm run bench -- --only=1,3,4      some figures (1–5: node on loopback; 6–8: VS Code)
 *   npm run bench -- --only=tls        the TLS lines alone: raw session plain vs TLS, handshakes, native connect
 *   npm run bench -- --quick           smaller counts, a 3 s burst: a smoke run, not figures to publish
 *   npm run bench -- --runs=7          runs per figure of 1–5 (median; default 5, at least 3)
 *   npm run bench -- --no-vscode       figures 1–5 only (no code-server or Chromium needed)
 *   npm run bench -- --vsix=FILE       use this .vsix instead of building one
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nodeBenchmarks, Row } from './node';
import { killAllWorkers, Worker } from './lib/workers';

interface VscodeModule {
  vscodeBenchmarks(o: { vsix: string; Worker: typeof Worker; log(l: string): void; quick: boolean; only: Set<string> }): Promise<Row[]>;
  buildVsix(outDir: string, log: (l: string) => void): string;
}
interface HarnessModule {
  cleanup(): Promise<void>;
}

const REPO = path.resolve(__dirname, '..');
const OVERALL_TIMEOUT_MS = 12 * 60_000;

function parseArgs(argv: string[]) {
  const get = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const only = new Set((get('only') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const runs = Math.max(3, Number(get('runs') ?? 5) || 5);
  return { only, runs, quick: argv.includes('--quick'), noVscode: argv.includes('--no-vscode'), vsix: get('vsix') };
}

function machine(): string[] {
  const cpus = os.cpus();
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'webview', 'package.json'], { cwd: REPO, encoding: 'utf8' }).trim();
    if (dirty) commit += ' + uncommitted changes in src/webview';
  } catch {
    commit = 'unknown';
  }
  return [
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`,
    `Node ${process.version}; code ${commit}; ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    `Load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on the machine skews every figure; each is a median of runs)`,
  ];
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(rows: Row[]): string {
  const lines = ['| # | figure | measured | target | how / notes |', '|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.id} | ${cell(r.figure)} | ${cell(r.measured)} | ${cell(r.target)} | ${cell(r.notes)} |`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (l: string) => console.log(l);
  const head = machine();
  head.forEach((l) => log(l));
  const rows: Row[] = [];
  const problems: string[] = [];
  const nodeIds = ['1', '2', '3', '4', '5', 'tls'];
  const vsIds = ['6', '7', '8'];
  const wantAny = (ids: string[]) => args.only.size === 0 || ids.some((i) => args.only.has(i));

  if (wantAny(nodeIds)) {
    try {
      const r = await nodeBenchmarks({ runs: args.runs, quick: args.quick, only: args.only, log });
      rows.push(...r.rows);
    } catch (err) {
      problems.push(`figures 1–5 stopped: ${(err as Error).stack ?? String(err)}`);
      log(problems[problems.length - 1]);
    }
  }

  if (!args.noVscode && wantAny(vsIds)) {
    const vs = require('./vscode.js') as VscodeModule;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-bench-vsix-'));
    process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    try {
      log('6–8. the packaged extension in code-server + headless Chromium');
      const vsix = args.vsix ? path.resolve(args.vsix) : vs.buildVsix(tmp, log);
      rows.push(...(await vs.vscodeBenchmarks({ vsix, Worker, log, quick: args.quick, only: args.only })));
    } catch (err) {
      problems.push(`figures 6–8 stopped: ${(err as Error).stack ?? String(err)}`);
      log(problems[problems.length - 1]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  const order = (id: string) => Number(id) || 99;
  rows.sort((a, b) => order(a.id) - order(b.id));
  const took = (Date.now() - started) / 1000;
  const md = [
    '# PeerChat benchmarks',
    '',
    ...head.map((l) => `${l}  `),
    `Runs per figure: ${args.runs} (median)${args.quick ? '; --quick: reduced counts, not figures to publish' : ''}; the whole run took ${took.toFixed(0)} s.`,
    '',
    table(rows),
    ...(problems.length ? ['', '**Not measured:**', ...problems.map((p) => `- ${p.split('\n')[0]}`)] : []),
    '',
  ].join('\n');
  log('');
  log(md);
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'latest.md'), md);
  // The same rows for programs; `values` gathers every row's numbers by stable key.
  const values: Record<string, number> = {};
  for (const r of rows) Object.assign(values, r.values);
  const json = { machine: head, runs: args.runs, quick: args.quick, tookSeconds: Math.round(took), loadAverage: os.loadavg(), values, rows, problems };
  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  log(`(written to ${path.relative(REPO, path.join(outDir, 'latest.md'))} and latest.json; ${took.toFixed(0)} s)`);
  return problems.length ? 1 : 0;
}

let exiting = false;
async function finish(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    killAllWorkers();
    try {
      // Loaded lazily: only the VS Code figures start processes the harness tracks.
      const h = require.cache[require.resolve('../test/harness/vscodeWeb')]?.exports as HarnessModule | undefined;
      await h?.cleanup();
    } catch {
      /* best effort */
    }
  }
  process.exit(code);
}

const watchdog = setTimeout(() => {
  console.error(`bench: overall timeout of ${OVERALL_TIMEOUT_MS / 60_000} min reached; stopping`);
  void finish(1);
}, OVERALL_TIMEOUT_MS);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void finish(130));

main().then(
  (code) => finish(code),
  (err: Error) => {
    console.error(err?.stack ?? err);
    return finish(1);
  },
);
