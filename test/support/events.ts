// Waiting for an event instead of sleeping: the first emission of `event` whose arguments satisfy
// `pred`, with a deadline. For PeerNode's `message`, `log`, `peers` and `status` events alike.
import type { EventEmitter } from 'node:events';

/**
 * Resolves with the arguments of the first `event` emitted from now on that satisfies `pred`
 * (any, without one); rejects with `no <event> event [<what>] within <timeoutMs> ms` otherwise.
 * Listen before causing the event: call this first, then send, then await it.
 */
export function nextEvent<A extends unknown[] = unknown[]>(emitter: object, event: string, pred: (...a: never[]) => boolean = () => true, timeoutMs = 5000, what?: string): Promise<A> {
  const e = emitter as EventEmitter;
  return new Promise((resolve, reject) => {
    const fn = (...a: unknown[]) => {
      if (!pred(...(a as never[]))) return;
      clearTimeout(t);
      e.off(event, fn);
      resolve(a as A);
    };
    const t = setTimeout(() => {
      e.off(event, fn);
      reject(new Error(`no ${event} event${what ? ` (${what})` : ''} within ${timeoutMs} ms`));
    }, timeoutMs);
    e.on(event, fn);
  });
}
