#!/usr/bin/env node
// The same extension-host integration suites as runIntegration.js, in desktop VS Code (Electron)
// through @vscode/test-electron. It downloads VS Code into .vscode-test/ on first use, so it
// needs a machine that can reach update.code.visualstudio.com: it is NOT part of `npm test` or CI.
//
//   node test/harness/runDesktop.js             build (npm run build + test bundles), then run
//   node test/harness/runDesktop.js --no-build  use the existing dist/ and out/
//
// Env: VSCODE_VERSION (default "stable"; e.g. 1.100.3), VSCODE_EXECUTABLE (an installed
//      VS Code to use instead of downloading), PEERCHAT_TEST_GREP, PEERCHAT_TEST_TIMEOUT,
//      PEERCHAT_DESKTOP_TIMEOUT (whole run, ms; default 600000).
// On Linux without $DISPLAY it re-runs itself under `xvfb-run -a` when that is installed.
// Prints `desktop: N passed, N failed` last; exits non-zero on any failure.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const h = require('./vscodeWeb');
const { buildIntegrationTests, OUT } = require('./buildTests');

const LAYER = 'desktop';
const noBuild = process.argv.includes('--no-build') || process.env.PEERCHAT_SKIP_BUILD === '1';

function hasCommand(cmd) {
  return cp.spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.PEERCHAT_UNDER_XVFB) {
  if (hasCommand('xvfb-run')) {
    const r = cp.spawnSync('xvfb-run', ['-a', process.execPath, __filename, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, PEERCHAT_UNDER_XVFB: '1' },
    });
    process.exit(r.status ?? 1);
  }
  console.warn('[harness] no $DISPLAY and no xvfb-run: Electron may fail to start (apt-get install xvfb)');
}

let summaryPrinted = false;
function printSummary(passed, failed) {
  if (summaryPrinted) return;
  summaryPrinted = true;
  console.log(`${LAYER}: ${passed} passed, ${failed} failed`);
}

async function main() {
  if (!noBuild) {
    h.run('npm', ['run', 'build']);
    await buildIntegrationTests();
  }
  const index = path.join(OUT, 'index.js');
  if (!fs.existsSync(index)) throw new Error(`${index} is missing: run node test/harness/buildTests.js`);

  const ws = await h.createWorkspace({ label: 'desktop-ws' });
  const resultsFile = path.join(ws.root, 'results.json');
  h.writeJson(path.join(ws.dir, '.vscode', 'peerchat-test.json'), { port: ws.port, workspace: ws.dir, resultsFile });
  const profile = h.tempDir('desktop-profile');
  h.onCleanup(() => h.rmrf(profile));
  h.writeJson(path.join(profile, 'user-data', 'User', 'settings.json'), {
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'security.workspace.trust.enabled': false,
  });

  const { runTests } = require('@vscode/test-electron');
  const options = {
    extensionDevelopmentPath: h.REPO,
    extensionTestsPath: index,
    extensionTestsEnv: {
      PEERCHAT_TEST_PORT: String(ws.port),
      PEERCHAT_TEST_WORKSPACE: ws.dir,
      PEERCHAT_TEST_RESULTS: resultsFile,
      PEERCHAT_TEST_GREP: process.env.PEERCHAT_TEST_GREP,
      PEERCHAT_TEST_TIMEOUT: process.env.PEERCHAT_TEST_TIMEOUT,
    },
    launchArgs: [
      ws.dir,
      '--user-data-dir', path.join(profile, 'user-data'),
      '--extensions-dir', path.join(profile, 'extensions'),
      '--disable-extensions',
      '--disable-gpu',
      // test-electron adds --no-sandbox, --disable-updates, --skip-welcome, --skip-release-notes
      // and --disable-workspace-trust itself.
    ],
  };
  if (process.env.VSCODE_EXECUTABLE) options.vscodeExecutablePath = process.env.VSCODE_EXECUTABLE;
  else options.version = process.env.VSCODE_VERSION || 'stable';

  let exitCode;
  try {
    exitCode = await runTests(options);
  } catch (err) {
    exitCode = err && typeof err.code === 'number' ? err.code : 1;
    if (!(err && err.name === 'TestRunFailedError')) console.error(`[harness] ${(err && err.stack) || err}`);
  }
  let summary = null;
  try {
    summary = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch {
    /* the run did not get as far as writing results */
  }
  const passed = summary ? summary.passed : 0;
  let failed = summary ? summary.failed : 0;
  if (!summary) console.error('[harness] the tests wrote no results: they did not run to the end');
  if ((exitCode !== 0 || !summary) && failed === 0) failed = 1;
  printSummary(passed, failed);
  return exitCode === 0 && summary && failed === 0 ? 0 : 1;
}

h.runMain(LAYER, async () => {
  try {
    return await main();
  } catch (err) {
    console.error(`[harness] ${LAYER}: ${(err && err.stack) || err}`);
    printSummary(0, 1);
    return 1;
  }
}, { timeoutMs: Number(process.env.PEERCHAT_DESKTOP_TIMEOUT || 600_000) });

process.on('exit', () => {
  if (!summaryPrinted) console.log(`${LAYER}: 0 passed, 1 failed`);
});
