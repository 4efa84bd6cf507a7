#!/usr/bin/env node
// Runs node's test runner over test/unit/**/*.test.ts (or test/interop/**/*.test.ts with the
// `interop` argument), TypeScript loaded through tsx. Node 20's --test takes no globs, so the
// files are found here. Prints the spec report, then a last line exactly
// `unit: N passed, N failed` (resp. `interop: ...`); exits non-zero when anything failed.
//
//   node scripts/run-unit.js [unit|interop] [--test-name-pattern=...] [files...]
//
// Env: PEERCHAT_UNIT_TIMEOUT (whole run, ms; default 300000), PEERCHAT_TEST_TIMEOUT (per test, ms).
'use strict';

const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { findFiles } = require('./findFiles');

const REPO = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const layer = args[0] === 'interop' || args[0] === 'unit' ? args.shift() : 'unit';
const passThrough = args.filter((a) => a.startsWith('--'));
const explicitFiles = args.filter((a) => !a.startsWith('--')).map((f) => path.resolve(f));

let summaryPrinted = false;
function summary(passed, failed) {
  if (summaryPrinted) return;
  summaryPrinted = true;
  console.log(`${layer}: ${passed} passed, ${failed} failed`);
}

function findTests(dir) {
  return findFiles(dir, (name) => /\.test\.(ts|mts|cts|js|mjs|cjs)$/.test(name));
}

/** Counts from the TAP summary node writes at the end (`# pass N`, `# fail N`, `# cancelled N`). */
function countsFromTap(tap) {
  const get = (key) => {
    const m = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap);
    return m ? Number(m[1]) : null;
  };
  const pass = get('pass');
  const fail = get('fail');
  if (pass === null || fail === null) return null;
  return { passed: pass, failed: fail + (get('cancelled') || 0) };
}

/** Process ids in process group `pgid` (what a test run left behind). */
function groupMembers(pgid) {
  try {
    const out = cp.execFileSync('ps', ['-e', '-o', 'pid=,pgid='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter(([pid, g]) => pid && g === pgid)
      .map(([pid]) => pid);
  } catch {
    return [];
  }
}

function main() {
  const files = explicitFiles.length ? explicitFiles : findTests(path.join(REPO, 'test', layer));
  if (files.length === 0) {
    console.log(`no test/${layer}/**/*.test.ts files`);
    summary(0, 0);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `peerchat-${layer}-run-`));
  const tapFile = path.join(tmp, 'report.tap');
  const nodeArgs = [
    '--import', 'tsx',
    '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
  ];
  if (process.env.PEERCHAT_TEST_TIMEOUT) nodeArgs.push(`--test-timeout=${process.env.PEERCHAT_TEST_TIMEOUT}`);
  nodeArgs.push(...passThrough, ...files);

  console.log(`${layer}: ${files.length} file(s): ${files.map((f) => path.relative(REPO, f)).join(' ')}`);
  // Own process group, so whatever the tests spawn and forget can be found and killed.
  // Discovery stays inside the run: terminal peers the tests start find nobody (off) unless a test
  // asks, and then only in this run's own per-machine folder; the LAN only inside namespaces.
  const discoveryDir = path.join(tmp, 'discovery');
  const env = { ...process.env, PEERCHAT_DISCOVERY: process.env.PEERCHAT_DISCOVERY || 'off', PEERCHAT_DISCOVERY_DIR: discoveryDir };
  const child = cp.spawn(process.execPath, nodeArgs, { cwd: REPO, stdio: 'inherit', detached: true, env });
  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
  };
  const timeoutMs = Number(process.env.PEERCHAT_UNIT_TIMEOUT || 300_000);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`${layer}: overall timeout of ${timeoutMs / 1000} s reached; killing the test run`);
    killGroup('SIGKILL');
  }, timeoutMs);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killGroup('SIGKILL');
      summary(0, 1);
      process.exit(130);
    });
  }

  child.on('exit', async (code, sig) => {
    clearTimeout(timer);
    // Helpers such as tsx's esbuild service exit a moment after the runner; give them 2 s.
    let leftovers = groupMembers(child.pid);
    for (let i = 0; i < 20 && leftovers.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      leftovers = groupMembers(child.pid);
    }
    if (leftovers.length) {
      const what = leftovers.map((pid) => {
        try {
          return `${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 120)}`;
        } catch {
          return String(pid);
        }
      });
      console.error(`${layer}: the tests left ${leftovers.length} process(es) running; killing them:\n  ${what.join('\n  ')}`);
      killGroup('SIGKILL');
    }
    let counts = null;
    try {
      counts = countsFromTap(fs.readFileSync(tapFile, 'utf8'));
    } catch {
      /* no report */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    let passed = counts ? counts.passed : 0;
    let failed = counts ? counts.failed : 0;
    const ok = code === 0 && !timedOut;
    // A run that broke down without a failing test (crash, timeout) still counts as one failure.
    if (!ok && failed === 0) {
      console.error(`${layer}: the test runner exited with ${code ?? sig}${timedOut ? ' (timeout)' : ''}`);
      failed = 1;
    }
    summary(passed, failed);
    process.exitCode = ok && failed === 0 ? 0 : 1;
  });
}

main();
