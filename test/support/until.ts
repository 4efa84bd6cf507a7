// Waiting for a condition instead of sleeping: poll `f` until it returns something truthy, with a
// deadline. Plain TypeScript (no vscode), for unit, interop and integration tests alike.

/** Resolves after ms. Only for stimuli (a sender that pauses on purpose), never to "give it time". */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves with the first truthy value `f` returns (f may be async), polling every `everyMs`.
 * Throws `timed out waiting for <what> after <timeoutMs> ms` (plus `detail()` on the next line)
 * once the deadline has passed; an error thrown by `f` is passed on at once.
 */
export async function until<T>(
  what: string,
  f: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 5000,
  detail?: () => string,
  everyMs = 15,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} after ${timeoutMs} ms${detail ? `\n${detail()}` : ''}`);
    await delay(Math.max(0, Math.min(everyMs, end - Date.now() + 1)));
  }
}

/** true if p settles (either way) within ms, false otherwise; the timer is cleared either way. */
export function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(done, done);
  });
}
