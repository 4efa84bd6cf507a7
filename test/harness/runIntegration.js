#!/usr/bin/env node
// Runs the extension-host integration suites (test/integration/**/*.test.ts) inside a real
// VS Code 1.100.3: a fresh code-server on 127.0.0.1 with a fresh user-data and extensions dir,
// the repo loaded as the extension under development, and headless Chromium opening the
// workbench with `extensionTestsPath` in the `payload` query parameter. The workbench runs
// out/test/integration/index.js and reports back through window.codeAutomationLog/-Exit.
//
//   node test/harness/runIntegration.js            build (npm run build + test bundles), then run
//   node test/harness/runIntegration.js --no-build  use the existing dist/ and out/ (npm test)
//
// Env: PEERCHAT_TEST_GREP (mocha grep), PEERCHAT_TEST_TIMEOUT (per-test ms),
//      PEERCHAT_INTEGRATION_TIMEOUT (whole run ms, default 240000).
// Prints `integration: N passed, N failed` last; exits non-zero on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const h = require('./vscodeWeb');
const { buildIntegrationTests, OUT } = require('./buildTests');

const LAYER = 'integration';
const RESULTS = path.join(h.RESULTS_DIR, LAYER);
const noBuild = process.argv.includes('--no-build') || process.env.PEERCHAT_SKIP_BUILD === '1';

let summaryPrinted = false;
function printSummary(passed, failed) {
  if (summaryPrinted) return;
  summaryPrinted = true;
  console.log(`${LAYER}: ${passed} passed, ${failed} failed`);
}

async function main() {
  const t0 = Date.now();
  if (!noBuild) {
    h.run('npm', ['run', 'build']);
    await buildIntegrationTests();
  }
  const index = path.join(OUT, 'index.js');
  if (!fs.existsSync(path.join(h.REPO, h.PKG.main || 'dist/extension.js'))) {
    throw new Error(`${h.PKG.main} is missing: run npm run build`);
  }
  if (!fs.existsSync(index)) throw new Error(`${index} is missing: run node test/harness/buildTests.js`);

  fs.rmSync(RESULTS, { recursive: true, force: true });
  fs.mkdirSync(RESULTS, { recursive: true });

  const ws = await h.createWorkspace({ label: 'it-ws' });
  const resultsFile = path.join(ws.root, 'results.json');
  // Tell the suites about the run both ways: environment (reaches the extension host) and a file.
  h.writeJson(path.join(ws.dir, '.vscode', 'peerchat-test.json'), { port: ws.port, workspace: ws.dir, resultsFile });
  const env = {
    PEERCHAT_TEST_PORT: String(ws.port),
    PEERCHAT_TEST_WORKSPACE: ws.dir,
    PEERCHAT_TEST_RESULTS: resultsFile,
  };
  for (const k of ['PEERCHAT_TEST_GREP', 'PEERCHAT_TEST_TIMEOUT']) if (process.env[k]) env[k] = process.env[k];

  const cs = await h.startCodeServer({ label: 'it-cs', env, logFile: path.join(RESULTS, 'code-server.log') });
  const browser = await h.launchBrowser();
  const page = await browser.newPage();

  let exitCode = null;
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  const output = [];
  const workbenchLog = path.join(RESULTS, 'workbench.log');
  let started = false;
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    // The extension host forwards console.* calls unformatted: (format, ...values).
    const text = util.format(...(Array.isArray(args) ? args : [args]));
    for (const line of text.replace(/\n$/, '').split('\n')) {
      output.push(line);
      fs.appendFileSync(workbenchLog, `[${type}] ${line}\n`);
      // The workbench's own start-up chatter goes to the log file only; mocha's report and
      // whatever the extension prints while the tests run are streamed.
      if (line === 'peerchat-test-start') {
        started = true;
        continue;
      }
      if (!started || line.startsWith('peerchat-test-results ')) continue;
      if (type === 'error') console.error(`  ${line}`);
      else console.log(`  ${line}`);
    }
  });
  await page.exposeFunction('codeAutomationExit', (code) => {
    exitCode = code;
    resolveExit();
  });
  page.on('pageerror', (err) => h.log('page error:', err.message));
  page.on('crash', () => {
    h.log('the workbench page crashed');
    exitCode = 'page crash';
    resolveExit();
  });

  const url = h.workbenchUrl(cs, {
    folder: ws.dir,
    payload: [
      ['extensionDevelopmentPath', h.remoteUri(cs, h.REPO)],
      ['extensionTestsPath', h.remoteUri(cs, index)],
    ],
  });
  h.log(`opening workbench (${Date.now() - t0} ms since start)`);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await exited;
  h.log(`tests finished with exit code ${exitCode}`);
  await h.screenshot(page, LAYER, 'workbench-at-exit').catch(() => {});

  let summary = null;
  try {
    summary = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch {
    const line = output.find((l) => l.startsWith('peerchat-test-results '));
    if (line) summary = JSON.parse(line.slice('peerchat-test-results '.length));
  }
  const passed = summary ? summary.passed : 0;
  let failed = summary ? summary.failed : 0;
  // A run that did not finish cleanly without a failing test still counts as one failure.
  if ((exitCode !== 0 || !summary) && failed === 0) {
    if (!started) console.error(output.slice(-30).map((l) => `  ${l}`).join('\n'));
    console.error(
      `[harness] the test run did not complete (exit ${exitCode}); see ${path.relative(h.REPO, workbenchLog)} and ${path.relative(h.REPO, cs.logFile)}`,
    );
    failed = 1;
  }
  printSummary(passed, failed);
  return failed === 0 && exitCode === 0 && summary ? 0 : 1;
}

h.runMain(LAYER, async () => {
  try {
    return await main();
  } catch (err) {
    console.error(`[harness] ${LAYER}: ${(err && err.stack) || err}`);
    printSummary(0, 1);
    return 1;
  }
}, { timeoutMs: Number(process.env.PEERCHAT_INTEGRATION_TIMEOUT || 240_000) });

process.on('exit', () => {
  if (!summaryPrinted) console.log(`${LAYER}: 0 passed, 1 failed`);
});
