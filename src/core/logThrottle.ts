/**
 * Says a repeated problem once per window instead of once per occurrence: a flood of bad
 * connections must not flood the log (or the disk behind it). The next line after a quiet
 * window says how many were held back.
 */
export class LogThrottle {
  private readonly seen = new Map<string, { until: number; held: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** Distinct keys remembered at once; the oldest are forgotten first. */
    private readonly maxKeys = 1000,
  ) {}

  /**
   * Returns the line to log for this occurrence of `key`, or undefined when it is held back.
   * The first occurrence in a window is logged, with the count held back in the previous one.
   */
  take(key: string, line: string): string | undefined {
    const t = this.now();
    const cur = this.seen.get(key);
    if (cur && t < cur.until) {
      cur.held++;
      return undefined;
    }
    const held = cur?.held ?? 0;
    this.seen.delete(key);
    this.seen.set(key, { until: t + this.windowMs, held: 0 });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value as string);
    return held > 0 ? `${line} (${held} more like this held back)` : line;
  }
}

/**
 * Warnings about untrusted input, once per remote IP and kind of problem per window: the kind
 * is the reason with its numbers and quoted parts taken out, so "2000 bytes" and "3000 bytes" are
 * one kind.
 */
export function dropKey(remote: string, reason: string): string {
  const ip = remote.slice(0, remote.lastIndexOf(':'));
  return `${ip} ${reason.replace(/"[^"]*"|\d+/g, '#').slice(0, 60)}`;
}
