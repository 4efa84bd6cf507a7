/**
 * Jittered exponential backoff: base·2^attempt capped at max, then a random factor in
 * [1 - jitter, 1 + jitter] so that many nodes that lost one peer do not redial in step.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  jitter: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30));
  const r = (o.random ?? Math.random)();
  return Math.max(0, Math.round(raw * (1 - o.jitter + 2 * o.jitter * r)));
}
