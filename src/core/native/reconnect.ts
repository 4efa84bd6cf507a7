/**
 * Redialing native peers the user wants (connected to, or holding queued messages for), with
 * jittered exponential backoff per node, until they are back or the user disconnects them.
 */
import { backoffDelay } from './backoff';

export interface ReconnectOptions {
  baseMs: number;
  maxMs: number;
}

export class Reconnects {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();

  constructor(private readonly opts: ReconnectOptions) {}

  /** Redials `nodeId` after its next backoff delay, unless one is already waiting. */
  schedule(nodeId: string, redial: () => void): void {
    if (this.timers.has(nodeId)) return;
    const attempt = this.attempts.get(nodeId) ?? 0;
    const wait = backoffDelay(attempt, { baseMs: this.opts.baseMs, maxMs: this.opts.maxMs, jitter: 0.5 });
    const t = setTimeout(() => {
      this.timers.delete(nodeId);
      this.attempts.set(nodeId, attempt + 1);
      redial();
    }, wait);
    t.unref?.();
    this.timers.set(nodeId, t);
  }

  /** The peer is back: the next loss starts from the shortest delay again. */
  succeeded(nodeId: string): void {
    this.attempts.delete(nodeId);
    this.cancel(nodeId);
  }

  cancel(nodeId: string): void {
    clearTimeout(this.timers.get(nodeId));
    this.timers.delete(nodeId);
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  get pending(): number {
    return this.timers.size;
  }
}
