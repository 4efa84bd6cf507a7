// A child process that prints one JSON object per line (the Python reference peer, the terminal
// peer): spawn it, send it commands, wait for its events. Killed at the end of the run.
'use strict';

const cp = require('child_process');
const readline = require('readline');

/**
 * Starts `cmd args` (in `cwd` if given), resolves once an event matches `ready` (e.g. its "listening" line).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ ready: (e: any) => boolean, onCleanup?: (fn: () => void) => void, timeoutMs?: number, cwd?: string }} options
 */
async function startJsonProcess(cmd, args, { ready, onCleanup, timeoutMs = 10_000, cwd }) {
  const child = cp.spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  const events = [];
  const waiters = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) w.done(e);
  });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  if (onCleanup) onCleanup(stop);

  /**
   * Resolves with the first event matching pred, past or future; with `since` (a count of
   * `events` taken before the stimulus), only among the events from that index on.
   */
  function waitFor(pred, ms = 10_000, what = 'an event', since = 0) {
    const seen = events.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        done: (e) => {
          clearTimeout(t);
          waiters.splice(waiters.indexOf(w), 1);
          resolve(e);
        },
      };
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`${cmd}: no ${what} within ${ms} ms; last events: ${JSON.stringify(events.slice(-5))}; stderr: ${stderr.slice(-500)}`));
      }, ms);
      waiters.push(w);
    });
  }

  const first = await waitFor(ready, timeoutMs, 'ready event');
  return {
    child,
    events,
    first,
    waitFor,
    send: (line) => child.stdin.write(line + '\n'),
    stop,
  };
}

module.exports = { startJsonProcess };
