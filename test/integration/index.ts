// Entry point VS Code calls in the extension host (extensionTestsPath = out/test/integration/index.js).
// Runs every bundled *.test.js suite next to this file with mocha (TDD interface: suite/test/
// suiteSetup/...), prints the spec report to the console (the harness streams it), writes the
// counts to the results file and resolves, or rejects when a test failed.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

function findSuites(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findSuites(p));
    else if (e.isFile() && e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

function resultsFile(): string {
  if (process.env.PEERCHAT_TEST_RESULTS) return process.env.PEERCHAT_TEST_RESULTS;
  return '';
}

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'tdd',
    reporter: 'spec',
    color: false,
    timeout: Number(process.env.PEERCHAT_TEST_TIMEOUT || 20_000),
    slow: 2_000,
    grep: process.env.PEERCHAT_TEST_GREP || undefined,
  });
  for (const f of findSuites(__dirname)) mocha.addFile(f);

  return new Promise((resolve, reject) => {
    const started = Date.now();
    // Marks where the harness starts streaming (what comes before is the workbench starting up).
    console.log('peerchat-test-start');
    let runner: Mocha.Runner;
    try {
      runner = mocha.run((failures) => {
        const stats = runner.stats;
        const summary = {
          passed: stats?.passes ?? 0,
          failed: failures,
          pending: stats?.pending ?? 0,
          durationMs: Date.now() - started,
        };
        // A line the harness can parse when no results file is available.
        console.log(`peerchat-test-results ${JSON.stringify(summary)}`);
        const file = resultsFile();
        if (file) {
          try {
            fs.writeFileSync(file, JSON.stringify(summary));
          } catch (err) {
            console.error(`could not write ${file}: ${String(err)}`);
          }
        }
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
        else resolve();
      });
    } catch (err) {
      console.error(err);
      reject(err);
    }
  });
}
