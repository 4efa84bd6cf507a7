/** Small numeric helpers for the benchmarks: medians, percentiles, formatting. */

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100) of the finite values; NaN when there are none. */
export function percentile(xs: number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/** 12345.6 -> "12,346" */
export function fmtInt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return Math.round(x).toLocaleString('en-US');
}

/** A rate in messages per second, rounded to 3 significant digits. */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const digits = Math.max(0, Math.ceil(Math.log10(Math.abs(x) + 1)));
  const step = 10 ** Math.max(0, digits - 3);
  return `${fmtInt(Math.round(x / step) * step)} msg/s`;
}

/** Milliseconds with a sensible number of decimals. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** Microseconds, shown in µs below 1 ms. */
export function fmtUs(us: number): string {
  return fmtMs(us / 1000);
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** "a / b / c" of a list of runs, for the notes column. */
export function runs(xs: number[], f: (x: number) => string): string {
  return xs.map(f).join(' / ');
}
