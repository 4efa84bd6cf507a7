#!/usr/bin/env node
// UI tests: the packaged extension (peerchat-<version>.vsix) installed into a fresh code-server,
// the workbench opened on a fresh workspace in headless Chromium, and the specs in
// test/ui/*.spec.js driving it the way a user would. Screenshots go to test-results/ui/.
//
//   node test/harness/runUi.js                 npm run package, then run every spec
//   node test/harness/runUi.js --no-build      use the existing .vsix (npm test builds once)
//   node test/harness/runUi.js chat            only specs whose file name contains "chat"
//
// A spec file exports async functions; each is one test, run in file order, and receives
//   { page, port, workspace, codeServer, screenshot(name), ui }
// where `page` is a playwright Page showing the workbench (one fresh page per spec file),
// `port` the peerchat.port of the workspace, `workspace` its folder, `ui` the helpers of
// ./vscodeWeb.js (openPeerChat, chatFrame, runCommand, waitForNotification, ...), and
// `screenshot(name)` saves test-results/ui/<spec>-<name>.png. A failing test also leaves
// test-results/ui/<spec>-<test>-FAILED.png.
//
// Env: PEERCHAT_UI_TEST_TIMEOUT (per test, ms; default 60000), PEERCHAT_UI_TIMEOUT (whole run,
//      ms; default 300000).
// Prints `ui: N passed, N failed` last; exits non-zero on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const h = require('./vscodeWeb');

const LAYER = 'ui';
const RESULTS = path.join(h.RESULTS_DIR, LAYER);
const SPECS = path.join(h.REPO, 'test', 'ui');
const argv = process.argv.slice(2);
const noBuild = argv.includes('--no-build') || process.env.PEERCHAT_SKIP_BUILD === '1';
const filters = argv.filter((a) => !a.startsWith('--'));
const TEST_TIMEOUT = Number(process.env.PEERCHAT_UI_TEST_TIMEOUT || 60_000);

/**
 * What each UI test receives (specs annotate their test functions with it).
 * @typedef {object} SpecContext
 * @property {import('playwright-core').Page} page the workbench, one page per spec file
 * @property {number} port peerchat.port of the workspace
 * @property {string} workspace the workspace folder
 * @property {Awaited<ReturnType<typeof h.startCodeServer>>} codeServer
 * @property {typeof h} ui the helpers of ./vscodeWeb.js
 * @property {(name: string, opts?: { keepMouse?: boolean }) => Promise<string>} screenshot saves test-results/ui/<spec>-<name>.png
 */

const counts = { passed: 0, failed: 0 };
let summaryPrinted = false;
function printSummary(passed, failed) {
  if (summaryPrinted) return;
  summaryPrinted = true;
  console.log(`${LAYER}: ${passed} passed, ${failed} failed`);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  const t0 = Date.now();
  if (!noBuild) h.run('npm', ['run', 'package']);
  const vsix = path.join(h.REPO, `${h.PKG.name}-${h.PKG.version}.vsix`);
  if (!fs.existsSync(vsix)) throw new Error(`${path.basename(vsix)} is missing: run npm run package`);

  const specs = fs
    .readdirSync(SPECS)
    .filter((f) => f.endsWith('.spec.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  if (specs.length === 0) {
    console.log(`no test/ui/*.spec.js${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
    printSummary(0, 0);
    return 0;
  }

  fs.rmSync(RESULTS, { recursive: true, force: true });
  fs.mkdirSync(RESULTS, { recursive: true });

  const ws = await h.createWorkspace({ label: 'ui-ws' });
  const cs = await h.startCodeServer({
    label: 'ui-cs',
    vsix,
    env: { PEERCHAT_TEST_PORT: String(ws.port), PEERCHAT_TEST_WORKSPACE: ws.dir },
    logFile: path.join(RESULTS, 'code-server.log'),
  });
  const browser = await h.launchBrowser();
  h.log(`code-server ready ${Date.now() - t0} ms after start`);

  for (const file of specs) {
    const specName = path.basename(file, '.spec.js');
    let tests;
    try {
      const mod = require(path.join(SPECS, file));
      tests = Object.entries(mod).filter(([, fn]) => typeof fn === 'function');
    } catch (err) {
      console.log(`  ✘ ${file}: could not load: ${(err && err.stack) || err}`);
      counts.failed++;
      continue;
    }
    console.log(`  ${specName}`);
    let page;
    try {
      page = await h.openWorkbench(browser, cs, ws.dir);
      // Each spec file starts with no editor open: the shared workspace would otherwise restore
      // what earlier specs left (a chat panel is a second chat webview, a diff takes the focus).
      await h.runCommand(page, 'View: Close All Editors').catch((err) => h.log(`closing restored editors: ${err.message}`));
    } catch (err) {
      console.log(`    ✘ opening the workbench: ${(err && err.message) || err}`);
      counts.failed += Math.max(tests.length, 1);
      continue;
    }
    for (const [name, fn] of tests) {
      const started = Date.now();
      /** @type {SpecContext} */
      const ctx = {
        page,
        port: ws.port,
        workspace: ws.dir,
        codeServer: cs,
        ui: h,
        screenshot: (shot, opts) => h.screenshot(page, LAYER, `${specName}-${shot}`, opts),
      };
      try {
        await withTimeout(Promise.resolve().then(() => fn(ctx)), TEST_TIMEOUT, name);
        counts.passed++;
        console.log(`    ✔ ${name} (${Date.now() - started} ms)`);
      } catch (err) {
        counts.failed++;
        console.log(`    ✘ ${name} (${Date.now() - started} ms)`);
        console.log(String((err && err.stack) || err).replace(/^/gm, '      '));
        const shot = await h.screenshot(page, LAYER, `${specName}-${name}-FAILED`).catch(() => null);
        if (shot) console.log(`      screenshot: ${path.relative(h.REPO, shot)}`);
      }
    }
    await page.close().catch(() => {});
  }
  h.log(`screenshots in ${path.relative(h.REPO, RESULTS)}/`);
  printSummary(counts.passed, counts.failed);
  return counts.failed === 0 ? 0 : 1;
}

h.runMain(LAYER, async () => {
  try {
    return await main();
  } catch (err) {
    console.error(`[harness] ${LAYER}: ${(err && err.stack) || err}`);
    printSummary(counts.passed, counts.failed + 1);
    return 1;
  }
}, { timeoutMs: Number(process.env.PEERCHAT_UI_TIMEOUT || 300_000) });

process.on('exit', () => {
  // Interrupted (overall timeout, signal): what ran so far, plus one failure for the interruption.
  if (!summaryPrinted) console.log(`${LAYER}: ${counts.passed} passed, ${counts.failed + 1} failed`);
});
