/**
 * Parent side of the benchmark workers: each worker is a child Node process (bench/worker.ts,
 * loaded through tsx) that plays one role (a node under test, a load generator, a receiver, a
 * crowd of raw native peers). Separate processes, so that the node and its peer each have a
 * core, as two programs on one machine would. Every call has a timeout; stopAll() kills them all.
 */
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

const WORKER = path.join(__dirname, '..', 'worker.ts');
const live = new Set<ChildProcess>();

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export class Worker {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private exited: string | undefined;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.error !== undefined) w.reject(new Error(`${label}: ${m.error}`));
      else w.resolve(m.result);
    });
    child.on('exit', (code, sig) => {
      live.delete(child);
      this.exited = `worker ${label} exited (${code ?? sig})`;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(this.exited));
      }
      this.waiting.clear();
    });
  }

  /** Starts a worker process and waits until it answers. */
  static async start(label: string): Promise<Worker> {
    const child = fork(WORKER, [label], {
      // PEERCHAT_BENCH_PROF=DIR writes a V8 CPU profile of every worker into DIR (to find hot spots).
      execArgv: ['--import', 'tsx', ...(process.env.PEERCHAT_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PEERCHAT_BENCH_PROF}`] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(child);
    const w = new Worker(label, child);
    await w.call('hello', {}, 30_000);
    return w;
  }

  /** Runs a command in the worker; rejects after timeoutMs. */
  call<T = unknown>(cmd: string, args: object = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.label}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.call('exit', {}, 3000).catch(() => undefined);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
}

/** Kills every worker still running (used on errors and at exit). */
export function killAllWorkers(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

process.on('exit', killAllWorkers);
