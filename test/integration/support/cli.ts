// The terminal peer (dist/cli.js --json) in its own process, for the integration suites: send it
// commands, wait for its JSON events.
import * as cp from 'child_process';
import * as readline from 'readline';
import { until, within } from '../../support/until';

export interface CliEvent {
  type: string;
  [k: string]: unknown;
}

export class Cli {
  readonly events: CliEvent[] = [];
  private readonly child: cp.ChildProcess;
  constructor(cliPath: string, args: string[]) {
    this.child = cp.spawn(process.execPath, [cliPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.events.push(JSON.parse(l) as CliEvent);
      } catch {
        /* not an event */
      }
    });
  }
  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }
  /** The first event from index `since` on (take events.length before the stimulus) that matches. */
  waitFor(pred: (e: CliEvent) => boolean, ms = 8000, what = 'event', since = 0): Promise<CliEvent> {
    return until(`the terminal peer's ${what}`, () => this.events.slice(since).find(pred), ms, () => `last: ${JSON.stringify(this.events.slice(-4))}`);
  }
  async quit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send('/quit');
    await within(exited, 3000); // bounded: a peer that does not exit is killed
    this.child.kill('SIGKILL');
  }
}
