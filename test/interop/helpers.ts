// Helpers for the interoperability tests: spawn programs that print one JSON object per line
// on stdout (the PeerChat terminal peer with --json, the Python reference peer), wait for their
// events with a deadline, and make sure nothing is left running or on disk afterwards.
//
// Everything listens on 127.0.0.1 only; ports come from the OS.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { freePort } from '../support/freePort';
import { rawSend } from '../support/rawSend';
import { until, within } from '../support/until';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Event = { type: string; [key: string]: any };
export type Pred = (e: Event) => boolean;

export const HOST = '127.0.0.1';
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The terminal peer under test; PEERCHAT_CLI overrides it (e.g. to test another build). */
export const CLI_PATH = process.env.PEERCHAT_CLI ?? path.join(REPO_ROOT, 'dist', 'cli.js');
export const REFPEER_PATH = path.join(__dirname, 'refpeer.py');
export const PYTHON = process.env.PYTHON ?? 'python3';

/** Default deadline for one awaited event. */
export const EVENT_TIMEOUT_MS = 5000;

const live = new Set<JsonProc>();
const tempDirs = new Set<string>();

interface Waiter {
  check(): void;
  onExit(): void;
}

/** A child process whose stdout is JSON lines; every parsed line is kept in `events`. */
export class JsonProc {
  readonly events: Event[] = [];
  /** stdout lines that were not JSON objects (banners, stray logs). */
  readonly rawLines: string[] = [];
  stderr = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  exited = false;
  readonly child: ChildProcess;
  private readonly waiters = new Set<Waiter>();
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    this.child.stdin!.on('error', () => {
      /* the child may be gone already: writes then fail with EPIPE, which is not the test's concern */
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
    });
    const rl = readline.createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => this.onLine(line));
    let stdoutClosed: () => void;
    const stdoutDone = new Promise<void>((resolve) => (stdoutClosed = resolve));
    rl.on('close', () => stdoutClosed());
    this.exitPromise = new Promise<void>((resolve) => {
      this.child.on('error', (err) => {
        this.stderr += `\n[spawn error] ${err.message}`;
        this.markExited(null, null);
        resolve();
      });
      this.child.on('exit', (code, signal) => {
        // Let the last stdout lines be parsed before the exit is reported (bounded).
        void within(stdoutDone, 500).then(() => {
          this.markExited(code, signal);
          resolve();
        });
      });
    });
  }

  private markExited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    live.delete(this);
    for (const w of [...this.waiters]) w.onExit();
  }

  private onLine(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && typeof (parsed as Event).type === 'string') {
      this.events.push(parsed as Event);
      for (const w of [...this.waiters]) w.check();
    } else {
      this.rawLines.push(line);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Write one command line to stdin. */
  send(line: string): void {
    if (this.exited || !this.child.stdin || this.child.stdin.destroyed || this.child.stdin.writableEnded) {
      throw new Error(`${this.label}: cannot send ${JSON.stringify(line)}: process ${this.exited ? 'has exited' : 'stdin is closed'}\n${this.describe()}`);
    }
    this.child.stdin.write(line + '\n');
  }

  closeStdin(): void {
    this.child.stdin?.end();
  }

  /** Index to pass as `since` to only consider events that arrive from now on. */
  mark(): number {
    return this.events.length;
  }

  find(pred: Pred, since = 0): Event | undefined {
    for (let i = since; i < this.events.length; i++) if (pred(this.events[i])) return this.events[i];
    return undefined;
  }

  filter(pred: Pred, since = 0): Event[] {
    return this.events.slice(since).filter(pred);
  }

  /**
   * Resolve with the first event (at index >= since) that satisfies pred. Rejects after timeoutMs,
   * or as soon as the process exits without such an event, with the process's recent output.
   */
  waitFor(pred: Pred, what: string, opts: { timeoutMs?: number; since?: number } = {}): Promise<Event> {
    const timeoutMs = opts.timeoutMs ?? EVENT_TIMEOUT_MS;
    const since = opts.since ?? 0;
    const found = this.find(pred, since);
    if (found) return Promise.resolve(found);
    if (this.exited) return Promise.reject(new Error(`${this.label}: exited (${this.exitText()}) before ${what}\n${this.describe()}`));
    return new Promise<Event>((resolve, reject) => {
      let scanned = since;
      const waiter: Waiter = {
        check: () => {
          for (; scanned < this.events.length; scanned++) {
            if (pred(this.events[scanned])) {
              finish();
              resolve(this.events[scanned]);
              return;
            }
          }
        },
        onExit: () => {
          finish();
          reject(new Error(`${this.label}: exited (${this.exitText()}) before ${what}\n${this.describe()}`));
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Resolve when the process has exited; reject after timeoutMs (the process is left to cleanup). */
  async waitExit(timeoutMs = EVENT_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!(await within(this.exitPromise, timeoutMs))) throw new Error(`${this.label}: still running ${timeoutMs} ms after it was asked to exit\n${this.describe()}`);
    return { code: this.exitCode, signal: this.exitSignal };
  }

  /** SIGTERM, then SIGKILL if it is still there after graceMs. Never throws. */
  async kill(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    this.child.stdin?.destroy();
    try {
      this.child.kill('SIGTERM');
    } catch {
      /* already gone */
    }
    if (await within(this.exitPromise, graceMs)) return;
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    await within(this.exitPromise, graceMs);
    this.markExited(this.child.exitCode, this.child.signalCode);
  }

  exitText(): string {
    return this.exitSignal ? `signal ${this.exitSignal}` : `code ${this.exitCode}`;
  }

  /** The recent output, for failure messages. */
  describe(maxEvents = 25): string {
    const ev = this.events.slice(-maxEvents).map((e) => '    ' + JSON.stringify(e));
    const omitted = this.events.length > maxEvents ? `    (${this.events.length - maxEvents} earlier events omitted)\n` : '';
    const raw = this.rawLines.slice(-10).map((l) => '    ' + l);
    const err = this.stderr.trim().split('\n').slice(-15).map((l) => '    ' + l);
    return (
      `  [${this.label}] pid ${this.pid}${this.exited ? `, exited ${this.exitText()}` : ', running'}\n` +
      `  stdout events:\n${omitted}${ev.join('\n') || '    (none)'}\n` +
      (raw.length ? `  stdout non-JSON lines:\n${raw.join('\n')}\n` : '') +
      `  stderr:\n${err.join('\n') || '    (empty)'}`
    );
  }
}

export { delay, until, within } from '../support/until';
export { freePort as getFreePort } from '../support/freePort';
export { rawSend } from '../support/rawSend';
export { classicReceiver } from '../support/classicReceiver';

export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The PeerChat terminal peer

export interface Cli {
  proc: JsonProc;
  port: number;
  /** The address it reported in its `listening` event (expected: 127.0.0.1:port). */
  address: string;
  name: string;
  dataDir: string;
}

export function cliAvailable(): boolean {
  return fs.existsSync(CLI_PATH);
}

/**
 * Start `node dist/cli.js --json` on a free 127.0.0.1 port with a fresh data folder and wait for
 * its `listening` event. Retries with another port if the first one was taken in the meantime.
 */
export async function startCli(name: string, extraArgs: string[] = []): Promise<Cli> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dataDir = makeTempDir(`peerchat-interop-${name}-`);
    const args = [CLI_PATH, '--port', String(port), '--host', HOST, '--advertise', HOST, '--name', name, '--data', dataDir, '--json', ...extraArgs];
    const proc = new JsonProc(`cli ${name} :${port}`, process.execPath, args);
    try {
      const ev = await proc.waitFor((e) => e.type === 'listening', 'listening event', { timeoutMs: 10_000 });
      return { proc, port, address: String(ev.address), name, dataDir };
    } catch (err) {
      lastError = err as Error;
      await proc.kill();
      if (!/EADDRINUSE|address already in use/i.test(proc.stderr + proc.rawLines.join('\n') + JSON.stringify(proc.events))) break;
    }
  }
  throw lastError;
}

/** Send `/peers` and return the listing that answers it. */
export async function cliPeers(cli: Cli, timeoutMs = EVENT_TIMEOUT_MS): Promise<Array<{ address: string; name?: string; state: string }>> {
  const since = cli.proc.mark();
  cli.proc.send('/peers');
  const ev = await cli.proc.waitFor((e) => e.type === 'peers', 'peers event answering /peers', { since, timeoutMs });
  if (!Array.isArray(ev.peers)) throw new Error(`${cli.proc.label}: peers event without a peers array: ${JSON.stringify(ev)}`);
  return ev.peers;
}

/**
 * Ask `/peers` until `pred` holds for the listing (state changes may land a moment after the
 * event that caused them). Bounded: fails after timeoutMs with the last listing.
 */
export async function waitForPeers(
  cli: Cli,
  pred: (peers: Array<{ address: string; name?: string; state: string }>) => boolean,
  what: string,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<Array<{ address: string; name?: string; state: string }>> {
  let last: unknown = '(no listing)';
  return until(
    what,
    async () => {
      const peers = await cliPeers(cli);
      last = peers;
      return pred(peers) && peers;
    },
    timeoutMs,
    () => `${cli.proc.label}: last /peers: ${JSON.stringify(last)}\n${cli.proc.describe()}`,
    200,
  );
}

/** Where settle() says its marker comes from (a port nobody listens on; the CLI never dials it unasked). */
export const SETTLE_FROM = `${HOST}:1`;
let settleSeq = 0;

/**
 * Proves the terminal peer has handled what reached it so far: sends it a classic marker message
 * (a connection of its own, from SETTLE_FROM) and waits for the marker's `message` event. Use it
 * before asserting that something did NOT happen. The marker makes SETTLE_FROM a known peer
 * (a `system` "joined" line, a /peers entry): see isSettleEvent().
 */
export async function settle(cli: Cli, timeoutMs = EVENT_TIMEOUT_MS): Promise<void> {
  const text = `settle-marker-${process.pid}-${++settleSeq}`;
  const since = cli.proc.mark();
  await rawSend(cli.port, `${SETTLE_FROM} settle ${text}`);
  await cli.proc.waitFor((e) => e.type === 'message' && e.text === text, `the settle marker ${text}`, { since, timeoutMs });
}

/** An event settle() caused (its marker message, or the "joined" line of its sender). */
export function isSettleEvent(e: Event): boolean {
  return e.from === SETTLE_FROM || e.peer === SETTLE_FROM || (e.type === 'message' && /^settle-marker-/.test(String(e.text)));
}

// ---------------------------------------------------------------------------------------------
// The Python reference classic peer

export interface RefPeer {
  proc: JsonProc;
  port: number;
  address: string;
  name: string;
}

export async function startRefPeer(name: string, extraArgs: string[] = []): Promise<RefPeer> {
  const proc = new JsonProc(`refpeer ${name}`, PYTHON, ['-u', REFPEER_PATH, '--host', HOST, '--port', '0', '--name', name, ...extraArgs]);
  const ev = await proc.waitFor((e) => e.type === 'listening', 'listening event', { timeoutMs: 10_000 });
  return { proc, port: Number(ev.port), address: `${HOST}:${ev.port}`, name };
}

/** Make the reference peer send one chat message and wait for its own report of the send. */
export async function refSend(rp: RefPeer, to: string, text: string): Promise<Event> {
  const since = rp.proc.mark();
  rp.proc.send(`send ${to} ${text}`);
  return rp.proc.waitFor((e) => e.type === 'sent' && e.to === to, `sent report for ${JSON.stringify(text)}`, { since });
}

// ---------------------------------------------------------------------------------------------
// Cleanup

/** Kill every process these helpers started and remove their temp folders. For afterEach/after. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  tempDirs.clear();
}

// Last resort if the test process itself is torn down: no orphan peers.
process.on('exit', () => {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
