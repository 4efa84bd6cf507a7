// Runs bundled mocha suites inside a real VS Code 1.100.3 extension host: a fresh code-server on
// 127.0.0.1 with a fresh user-data and extensions dir, the repo loaded as the extension under
// development, and headless Chromium opening the workbench with `extensionTestsPath` in the
// `payload` query parameter. The workbench runs <outDir>/index.js and reports back through
// window.codeAutomationLog/-Exit. Shared by runIntegration.js (trusted workspace) and
// runUntrusted.js (untrusted workspace, restricted mode).
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const h = require('./vscodeWeb');

/**
 * The CLI of one extension-host layer: `--no-build` (or PEERCHAT_SKIP_BUILD=1) skips `build`;
 * prints `<layer>: N passed, N failed` last, whatever happens; exits non-zero on any failure.
 *
 * options: layer (name, also test-results/<layer>/), label (temp folder names), build (async, when building), outDir (the
 * bundles: index.js + suites), workspaceSettings (.vscode/settings.json over the defaults of
 * createWorkspace), userSettings (User/settings.json over startCodeServer's), untrusted
 * (code-server with workspace trust on and the folder untrusted: restricted mode), prepare()
 * (async, before the workspace is made; may return { workspaceSettings, userSettings, env,
 * testInfo, afterRun }: more settings, PEERCHAT_TEST_* variables, .vscode/peerchat-test.json
 * fields, and an async function called once the tests have finished),
 * timeoutEnv + defaultTimeoutMs (the whole run's limit).
 */
function runLayerCli(options) {
  const { layer } = options;
  let summaryPrinted = false;
  const printSummary = (passed, failed) => {
    if (summaryPrinted) return;
    summaryPrinted = true;
    console.log(`${layer}: ${passed} passed, ${failed} failed`);
  };
  const noBuild = process.argv.includes('--no-build') || process.env.PEERCHAT_SKIP_BUILD === '1';

  h.runMain(layer, async () => {
    try {
      const { passed, failed, ok } = await runExtensionTests({ ...options, noBuild });
      printSummary(passed, failed);
      return ok ? 0 : 1;
    } catch (err) {
      console.error(`[harness] ${layer}: ${(err && err.stack) || err}`);
      printSummary(0, 1);
      return 1;
    }
  }, { timeoutMs: Number(process.env[options.timeoutEnv] || options.defaultTimeoutMs || 240_000) });

  process.on('exit', () => {
    if (!summaryPrinted) console.log(`${layer}: 0 passed, 1 failed`);
  });
}

/** One run of the suites in `outDir`; resolves { passed, failed, ok }. */
async function runExtensionTests({ layer, label = layer, build, outDir, noBuild, workspaceSettings = {}, userSettings = {}, untrusted = false, prepare }) {
  const t0 = Date.now();
  const results = path.join(h.RESULTS_DIR, layer);
  if (!noBuild) {
    h.run('npm', ['run', 'build']);
    await build();
  }
  const index = path.join(outDir, 'index.js');
  if (!fs.existsSync(path.join(h.REPO, h.PKG.main || 'dist/extension.js'))) {
    throw new Error(`${h.PKG.main} is missing: run npm run build`);
  }
  if (!fs.existsSync(index)) throw new Error(`${index} is missing: run node test/harness/buildTests.js`);

  fs.rmSync(results, { recursive: true, force: true });
  fs.mkdirSync(results, { recursive: true });

  const extra = prepare ? (await prepare()) || {} : {};
  const ws = await h.createWorkspace({ label: `${label}-ws`, settings: { ...workspaceSettings, ...(extra.workspaceSettings || {}) } });
  const resultsFile = path.join(ws.root, 'results.json');
  // Tell the suites about the run both ways: environment (reaches the extension host) and a file.
  h.writeJson(path.join(ws.dir, '.vscode', 'peerchat-test.json'), {
    port: ws.port,
    workspace: ws.dir,
    resultsFile,
    ...(extra.testInfo || {}),
  });
  const env = {
    PEERCHAT_TEST_PORT: String(ws.port),
    PEERCHAT_TEST_WORKSPACE: ws.dir,
    PEERCHAT_TEST_RESULTS: resultsFile,
    ...(extra.env || {}),
  };
  for (const k of ['PEERCHAT_TEST_GREP', 'PEERCHAT_TEST_TIMEOUT']) if (process.env[k]) env[k] = process.env[k];

  const cs = await h.startCodeServer({
    label: `${label}-cs`,
    env,
    untrusted,
    userSettings: { ...userSettings, ...(extra.userSettings || {}) },
    logFile: path.join(results, 'code-server.log'),
  });
  const browser = await h.launchBrowser();
  const page = await browser.newPage();

  let exitCode = null;
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  const output = [];
  const workbenchLog = path.join(results, 'workbench.log');
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
  if (extra.afterRun) await extra.afterRun();
  await h.screenshot(page, layer, 'workbench-at-exit').catch(() => {});

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
  return { passed, failed, ok: failed === 0 && exitCode === 0 && !!summary };
}

module.exports = { runLayerCli, runExtensionTests };
