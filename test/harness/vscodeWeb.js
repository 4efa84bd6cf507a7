// Shared machinery for the tests that need a real VS Code: code-server 4.100.3 (VS Code 1.100.3,
// installed by scripts/setup.sh into a cache folder) driven by Debian's headless Chromium through
// playwright-core. Used by runIntegration.js (extension-host mocha suites) and runUi.js (UI specs).
//
// Everything here binds to 127.0.0.1 only, uses fresh temp folders per run, and tracks every
// process it starts so that `cleanup()` can leave nothing behind, whatever happened.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const RESULTS_DIR = path.join(REPO, 'test-results');
const CS_VERSION = '4.100.3';
const CHROMIUM = process.env.PEERCHAT_CHROMIUM || '/usr/bin/chromium';
const HOST = '127.0.0.1';
const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const EXTENSION_ID = `${PKG.publisher}.${PKG.name}`;

// ---------------------------------------------------------------------------------------------
// Small utilities

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function log(...args) {
  console.log('[harness]', ...args);
}

/** A TCP port that was free on 127.0.0.1 a moment ago (asked from the OS with port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Whether something on this machine is listening on TCP `port` (any address), read from
 * /proc/net/tcp{,6} so that nothing connects to it (a classic peer would take a connection
 * for a message).
 */
function isListening(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols[1] = local address "ADDR:PORT" (hex), cols[3] = state ("0A" = LISTEN)
      if (cols.length > 3 && cols[3] === '0A' && cols[1].endsWith(`:${hexPort}`)) return true;
    }
  }
  return false;
}

/** Wait until something listens on TCP `port` (e.g. the extension's node on peerchat.port). */
async function waitForListening(port, { timeout = 20_000 } = {}) {
  const deadline = Date.now() + timeout;
  while (!isListening(port)) {
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeout} ms`);
    await sleep(100);
  }
}

/** Several distinct free ports (kept listening until all are chosen, so they differ). */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await /** @type {Promise<void>} */ (
        new Promise((res, rej) => {
          srv.on('error', rej);
          srv.listen(0, HOST, () => res());
        })
      );
      servers.push(srv);
    }
    return servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** A fresh temp folder; removed by the caller's cleanup, or by the watchdog if the harness dies. */
function tempDir(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `peerchat-${label}-`));
  fs.appendFileSync(ensureReaper().dirs, `${dir}\n`);
  return dir;
}

function rmrf(p) {
  try {
    fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    /* best effort */
  }
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = cp.spawnSync(cmd, args, { cwd: REPO, stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything started here is killed by cleanup(), by process group and by
// walking the process tree (a child that called setsid() leaves our group but not our tree).

const cleanups = [];

/** Register a function run (last first) by cleanup(). */
function onCleanup(fn) {
  cleanups.push(fn);
}

function descendants(rootPid) {
  let out;
  try {
    out = cp.execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map();
  for (const line of out.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (!pid) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  const result = [];
  const stack = [...(children.get(rootPid) || [])];
  while (stack.length) {
    const pid = stack.pop();
    result.push(pid);
    stack.push(...(children.get(pid) || []));
  }
  return result;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Kill a detached child's process group and every descendant of it: SIGTERM, a grace period,
 * then SIGKILL for whatever is left.
 */
async function killGroup(pid, graceMs = 3000) {
  const targets = new Set([pid, ...descendants(pid)]);
  signal(-pid, 'SIGTERM');
  for (const t of targets) signal(t, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [...targets].some(alive)) await sleep(100);
  for (const t of descendants(pid)) targets.add(t);
  signal(-pid, 'SIGKILL');
  for (const t of targets) if (alive(t)) signal(t, 'SIGKILL');
}

// A watchdog for the case where the harness itself is SIGKILLed (a CI step timeout, say) and no
// cleanup can run: a tiny detached shell polls our pid and, once we are gone, kills the process
// groups and removes the temp folders registered in its files. A normal cleanup() kills the
// watchdog along with everything else.
let reaper = null;
function ensureReaper() {
  if (reaper) return reaper;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-reaper-'));
  const groups = path.join(dir, 'pgids');
  const dirs = path.join(dir, 'dirs');
  fs.writeFileSync(groups, '');
  fs.writeFileSync(dirs, '');
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `for g in $(cat '${groups}'); do kill -9 -$g 2>/dev/null; done; sleep 1; ` +
    `while IFS= read -r d; do rm -rf "$d"; done < '${dirs}'; rm -rf '${dir}'`;
  const child = cp.spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  reaper = { groups, dirs, dir, pid: child.pid };
  onCleanup(() => {
    signal(-reaper.pid, 'SIGKILL');
    rmrf(reaper.dir);
  });
  return reaper;
}

/** Have the watchdog kill process group `pgid` if the harness dies without cleaning up. */
function reapOnDeath(pgid) {
  fs.appendFileSync(ensureReaper().groups, `${pgid}\n`);
}

function pgidOf(pid) {
  try {
    return Number(cp.execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim()) || null;
  } catch {
    return null;
  }
}

/** Processes whose command line contains `text` (a unique temp path): [{ pid, pgid }]. */
function processesNaming(text) {
  let out;
  try {
    out = cp.execFileSync('ps', ['-e', '-o', 'pid=,pgid=,args='], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    return [];
  }
  const found = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m && m[3].includes(text) && Number(m[1]) !== process.pid) found.push({ pid: Number(m[1]), pgid: Number(m[2]) });
  }
  return found;
}

let cleaning = null;
/** Run every registered cleanup once (later calls wait for the first). Never throws. */
function cleanup() {
  if (!cleaning) {
    cleaning = (async () => {
      while (cleanups.length) {
        const fn = cleanups.pop();
        try {
          await fn();
        } catch (err) {
          log('cleanup step failed:', err && err.message);
        }
      }
      // Safety net: nothing we spawned (directly or not) may outlive the harness.
      const left = descendants(process.pid);
      for (const pid of left) signal(pid, 'SIGKILL');
      // Give node a moment to reap its direct children (no zombies handed to init).
      await sleep(left.length ? 300 : 50);
    })();
  }
  return cleaning;
}

/**
 * Wrap a harness main(): overall timeout, SIGINT/SIGTERM handling, cleanup whatever happens,
 * and the process exit code. `main` returns the exit code.
 */
function runMain(name, main, { timeoutMs }) {
  let finished = false;
  const finish = async (code, why) => {
    if (finished) return;
    finished = true;
    if (why) console.error(`[harness] ${why}`);
    await cleanup();
    process.exit(code);
  };
  const timer = setTimeout(() => {
    void finish(1, `${name}: overall timeout of ${Math.round(timeoutMs / 1000)} s reached; aborting`);
  }, timeoutMs);
  timer.unref();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => void finish(130, `${name}: ${sig} received; cleaning up`));
  }
  // A closed stdout (e.g. `| head`) must not crash the harness before it cleans up.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  process.on('uncaughtException', (err) => void finish(1, `${name}: uncaught ${(err && err.stack) || err}`));
  process.on('unhandledRejection', (/** @type {any} */ err) => log(`warning: unhandled rejection: ${(err && err.stack) || err}`));
  Promise.resolve()
    .then(main)
    .then(
      (code) => finish(code, null),
      (err) => {
        console.error(`[harness] ${name}: ${(err && err.stack) || err}`);
        return finish(1, null);
      },
    );
}

// ---------------------------------------------------------------------------------------------
// Workspace and code-server

/** Path of the code-server launcher installed by scripts/setup.sh. */
function codeServerBin() {
  if (process.env.PEERCHAT_CODE_SERVER) return process.env.PEERCHAT_CODE_SERVER;
  const cache = process.env.PEERCHAT_CACHE || path.join(os.homedir(), '.cache', 'peerchat');
  const bin = path.join(cache, `code-server-${CS_VERSION}`, 'node_modules', '.bin', 'code-server');
  if (!fs.existsSync(bin)) {
    throw new Error(`code-server ${CS_VERSION} not found at ${bin}; run: npm run setup`);
  }
  return bin;
}

/**
 * Discovery stays inside the test run: one fresh per-machine folder for this harness process, set
 * as PEERCHAT_DISCOVERY_DIR for everything it starts (code-server, its extension host, terminal
 * peers), and PEERCHAT_DISCOVERY=off for terminal peers that do not choose. The extension's
 * peerchat.discovery is "off" in the user and workspace settings below; a spec that wants
 * discovery turns it on ("machine" only: never the LAN from here) and uses this folder.
 */
let discoveryFolder;
function discoveryDir() {
  if (!discoveryFolder) {
    discoveryFolder = tempDir('discovery');
    const dir = discoveryFolder;
    onCleanup(() => rmrf(dir));
    process.env.PEERCHAT_DISCOVERY_DIR = dir;
    if (!process.env.PEERCHAT_DISCOVERY) process.env.PEERCHAT_DISCOVERY = 'off';
  }
  return discoveryFolder;
}

/**
 * A fresh workspace folder whose .vscode/settings.json makes the extension's node listen on a
 * free loopback port. Also writes .vscode/peerchat-test.json ({ port, ... }) for suites that
 * prefer a file to the PEERCHAT_TEST_* environment variables.
 */
async function createWorkspace({ label = 'ws', settings = {}, extra = {} } = {}) {
  const root = tempDir(label);
  onCleanup(() => rmrf(root));
  const dir = path.join(root, 'workspace');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  discoveryDir();
  writeJson(path.join(dir, '.vscode', 'settings.json'), {
    'peerchat.port': port,
    'peerchat.host': HOST,
    'peerchat.advertisedAddress': HOST,
    'peerchat.autoStart': true,
    'peerchat.discovery': 'off',
    ...settings,
  });
  writeJson(path.join(dir, '.vscode', 'peerchat-test.json'), { port, workspace: dir, ...extra });
  fs.writeFileSync(path.join(dir, 'README.md'), '# PeerChat test workspace\n');
  return { root, dir, port };
}

/**
 * User settings that, with code-server started WITHOUT `--disable-workspace-trust`, open a folder
 * untrusted in restricted mode with no modal dialog (code-server 4.100.3 / VS Code 1.100.3).
 */
const UNTRUSTED_USER_SETTINGS = {
  'security.workspace.trust.enabled': true,
  // No "Do you trust the authors?" dialog at start-up: the folder simply opens in restricted mode.
  'security.workspace.trust.startupPrompt': 'never',
  // An empty window is not trusted either.
  'security.workspace.trust.emptyWindow': false,
};

/**
 * Start a fresh code-server on a free 127.0.0.1 port, detached in its own process group, and wait
 * for /healthz. `vsix` installs a packaged build into the fresh extensions dir first.
 *
 * `untrusted: true` starts it with workspace trust ON and every folder it opens untrusted
 * (restricted mode) without any dialog: no `--disable-workspace-trust`, and the user settings of
 * UNTRUSTED_USER_SETTINGS (nothing is ever trusted, as the user-data dir is fresh). Otherwise
 * workspace trust is off (everything trusted), as before.
 * Returns { port, url, userDataDir, extensionsDir, logFile, stop() }.
 *
 * @param {{ label?: string, folder?: string, vsix?: string, env?: Record<string, string>,
 *   logFile?: string, userSettings?: Record<string, unknown>, untrusted?: boolean }} options
 */
async function startCodeServer({ label = 'cs', folder, vsix, env = {}, logFile, userSettings = {}, untrusted = false }) {
  const bin = codeServerBin();
  const root = tempDir(label);
  onCleanup(() => rmrf(root));
  const userDataDir = path.join(root, 'user-data');
  const extensionsDir = path.join(root, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });
  const discovery = discoveryDir();
  writeJson(path.join(userDataDir, 'User', 'settings.json'), {
    // An untrusted workspace's value is ignored (restricted setting): the user's holds.
    'peerchat.discovery': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'git.enabled': false,
    'chat.commandCenter.enabled': false,
    'window.commandCenter': false,
    ...(untrusted ? UNTRUSTED_USER_SETTINGS : {}),
    ...userSettings,
  });
  /** @type {NodeJS.ProcessEnv} */
  const childEnv = {
    ...process.env,
    EXTENSIONS_GALLERY: '{"serviceUrl":""}',
    // Keep code-server's own config/data out of $HOME.
    XDG_CONFIG_HOME: path.join(root, 'xdg-config'),
    XDG_DATA_HOME: path.join(root, 'xdg-data'),
    // VS Code puts its IPC sockets in the temp dir; keep them in ours (removed at the end).
    TMPDIR: path.join(root, 'tmp'),
    PEERCHAT_DISCOVERY_DIR: discovery,
    ...env,
  };
  fs.mkdirSync(/** @type {string} */ (childEnv.TMPDIR), { recursive: true });
  delete childEnv.PORT; // code-server would take $PORT over --bind-addr
  delete childEnv.PASSWORD;
  delete childEnv.HASHED_PASSWORD;
  const common = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  if (vsix) {
    const t0 = Date.now();
    const r = cp.spawnSync(bin, [...common, '--install-extension', vsix, '--force'], {
      env: childEnv,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) {
      throw new Error(`installing ${vsix} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    }
    log(`installed ${path.basename(vsix)} in ${Date.now() - t0} ms`);
  }

  const port = await freePort();
  logFile = logFile || path.join(root, 'code-server.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'w');
  const args = [
    ...common,
    '--auth', 'none',
    '--bind-addr', `${HOST}:${port}`,
    '--config', path.join(root, 'config.yaml'),
    '--disable-telemetry',
    '--disable-update-check',
    ...(untrusted ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--disable-proxy',
    '--log', 'info',
  ];
  if (folder) args.push(folder);
  const child = cp.spawn(bin, args, { detached: true, stdio: ['ignore', out, out], env: childEnv });
  fs.closeSync(out);
  // Set by the handlers below (a cast, so that the loop's check is not narrowed to `null`).
  let exited = /** @type {{ code: number | null, sig: string | null } | null} */ (null);
  child.on('exit', (code, sig) => (exited = { code, sig }));
  child.on('error', (err) => (exited = { code: -1, sig: String(err) }));
  const stop = () => killGroup(child.pid);
  onCleanup(stop);
  reapOnDeath(child.pid);
  log(`code-server pid ${child.pid} on http://${HOST}:${port} (log: ${path.relative(REPO, logFile)})`);

  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      throw new Error(`code-server exited early (${exited.code ?? exited.sig}); see ${logFile}:\n${tail(logFile)}`);
    }
    if (await healthy(`${url}/healthz`)) break;
    if (Date.now() > deadline) throw new Error(`code-server not healthy after 60 s; see ${logFile}`);
    await sleep(150);
  }
  return { port, url, userDataDir, extensionsDir, logFile, pid: child.pid, stop };
}

function healthy(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Browser

/**
 * Headless Debian Chromium with a fresh profile (removed by cleanup()). Returns a playwright
 * BrowserContext; `context.newPage()` for pages.
 */
async function launchBrowser({ viewport = { width: 1400, height: 900 } } = {}) {
  const { chromium } = require('playwright-core');
  const root = tempDir('chromium');
  const profile = path.join(root, 'profile');
  const tmp = path.join(root, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  // Playwright makes its artifacts folder in os.tmpdir() while launching: point that at `root` too.
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  const launching = chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    // Temp files and the crash-report database stay inside `root` (so do not touch $HOME), and
    // every Chromium process then names `root` on its command line.
    env: { ...process.env, TMPDIR: tmp, XDG_CONFIG_HOME: path.join(root, 'config'), XDG_CACHE_HOME: path.join(root, 'cache') },
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  let context;
  try {
    context = await launching;
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  onCleanup(async () => {
    // Playwright's close can hang if the browser is wedged; bound it, then the tree kill in
    // cleanup() takes care of any leftover Chromium process.
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    for (const { pid } of processesNaming(root)) signal(pid, 'SIGKILL');
    rmrf(root);
  });
  // Chromium's crash handlers leave our process tree (reparented to init): find them all by the
  // profile path and give their groups to the watchdog.
  const own = pgidOf(process.pid);
  for (const g of new Set(processesNaming(root).map((p) => p.pgid))) if (g && g !== own) reapOnDeath(g);
  return context;
}

/** `vscode-remote://` URI of a path on the code-server machine (for the `payload` parameter). */
function remoteUri(cs, p) {
  return `vscode-remote://${HOST}:${cs.port}${p.split(path.sep).join('/')}`;
}

/**
 * The workbench URL for `folder`, with optional payload pairs (e.g. extension test paths).
 * @param {{ url: string }} cs
 * @param {{ folder?: string, payload?: string[][] }} [options]
 */
function workbenchUrl(cs, { folder, payload } = {}) {
  const q = new URLSearchParams();
  if (folder) q.set('folder', folder);
  if (payload && payload.length) q.set('payload', JSON.stringify(payload));
  return `${cs.url}/?${q.toString()}`;
}

// ---------------------------------------------------------------------------------------------
// Driving the workbench (UI specs)

/** Open the workbench on `folder` in a new page and wait until it is usable. */
async function openWorkbench(context, cs, folder, { timeout = 60_000 } = {}) {
  const page = await context.newPage();
  page.on('pageerror', (err) => log('page error:', err.message));
  await page.goto(workbenchUrl(cs, { folder }), { waitUntil: 'domcontentloaded', timeout });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout });
  // The activity bar is drawn once extensions' contributions are known.
  await page.locator('.activitybar').waitFor({ state: 'visible', timeout });
  await dismissNotifications(page).catch(() => {});
  return page;
}

/** The PeerChat activity-bar tab. */
function peerChatTab(page) {
  // In the activity bar only: the chat panel's editor tab is named PeerChat too.
  return page.locator('.activitybar').getByRole('tab', { name: /^PeerChat/ });
}

/** Click the PeerChat activity-bar tab (unless its container is already open). */
async function openPeerChat(page, { timeout = 30_000 } = {}) {
  const tab = peerChatTab(page);
  await tab.waitFor({ state: 'visible', timeout });
  const selected = await tab.getAttribute('aria-selected').catch(() => null);
  if (selected !== 'true') await tab.click();
  await page.locator('.sidebar .composite.title').filter({ hasText: /PeerChat/i }).waitFor({ timeout });
  return tab;
}

function exactText(name) {
  return new RegExp(`^\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'i');
}

/** A view's header in the side bar, by the view's name ("Peers", "Chat"). */
function viewHeader(page, name) {
  return page.locator('.sidebar').locator(headerOf(page, name));
}

function headerOf(page, name) {
  return page.locator('.pane-header').filter({ has: page.locator('h3.title', { hasText: exactText(name) }) });
}

/** A whole view pane (header and body) in the side bar, by the view's name: rows are inside. */
function viewPane(page, name) {
  return page.locator('.sidebar .pane').filter({ has: headerOf(page, name) });
}

/** Expand a collapsed view in the side bar. */
async function expandView(page, name, { timeout = 15_000 } = {}) {
  const header = viewHeader(page, name);
  await header.waitFor({ timeout });
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
}

/** Selector of the outer iframe of this extension's webviews (add `[...]` filters as needed). */
const WEBVIEW_IFRAME = `iframe.webview.ready[src*="extensionId=${EXTENSION_ID}"]`;
/** The same, of the side bar's Chat view only (not a chat panel in the editor area). */
const VIEW_IFRAME = `${WEBVIEW_IFRAME}[src*="purpose=webviewView"]`;

/**
 * The content frame of the Chat webview (two iframes deep) as a playwright FrameLocator, once
 * its document has loaded (readyState complete, fonts loaded): the side bar's Chat view, or with
 * `anyWebview` the `index`th of every PeerChat webview (chat panels in the editor area too).
 */
async function chatFrame(page, { timeout = 30_000, index = 0, anyWebview = false } = {}) {
  const frame = await chatFrameHandle(page, { timeout, index, anyWebview });
  await frame.waitForFunction(() => document.readyState === 'complete', null, { timeout });
  await frame.evaluate(() => document.fonts && document.fonts.ready.then(() => undefined)).catch(() => {});
  return page.frameLocator(anyWebview ? WEBVIEW_IFRAME : VIEW_IFRAME).nth(index).frameLocator('#active-frame');
}

/** The Chat webview's content frame as a playwright Frame (for evaluate/waitForFunction). */
async function chatFrameHandle(page, { timeout = 30_000, index = 0, anyWebview = false } = {}) {
  const outer = page.locator(anyWebview ? WEBVIEW_IFRAME : VIEW_IFRAME).nth(index);
  await outer.waitFor({ state: 'attached', timeout });
  const outerFrame = await (await outer.elementHandle({ timeout })).contentFrame();
  const inner = outerFrame.locator('#active-frame');
  await inner.waitFor({ state: 'attached', timeout });
  const frame = await (await inner.elementHandle({ timeout })).contentFrame();
  await frame.waitForLoadState('domcontentloaded', { timeout });
  return frame;
}

/** Move the pointer to a neutral spot (the title bar) so no hover or tooltip lingers. */
async function parkMouse(page) {
  const size = page.viewportSize() || { width: 1400, height: 900 };
  await page.mouse.move(Math.round(size.width / 2), 8).catch(() => {});
}

/** Focus the workbench (not a webview) so that key presses reach VS Code. */
async function focusWorkbench(page) {
  // The middle of the status bar is empty and clicking it does nothing, but it takes the focus
  // away from any webview (keys typed in a webview never reach the workbench).
  const status = page.locator('.part.statusbar');
  const box = await status.boundingBox().catch(() => null);
  if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  // Drop the status bar's own focus (and its outline); keys then go to the workbench's window.
  await page.evaluate(() => {
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    if (active && active.blur) active.blur();
  });
  await parkMouse(page);
}

/**
 * Run a command from the Command Palette by its title as the palette shows it,
 * e.g. `PeerChat: Copy My Address`.
 */
async function runCommand(page, title, { timeout = 15_000 } = {}) {
  const input = page.locator('.quick-input-widget input');
  const row = page
    .locator('.quick-input-widget .monaco-list-row')
    .filter({ hasText: title })
    .first();
  // The palette lists the commands known when it opened: one an extension registers later (just
  // after a reload, say) shows only in a palette opened again.
  const deadline = Date.now() + timeout;
  for (;;) {
    await focusWorkbench(page);
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout });
    await input.fill(`>${title}`);
    const left = deadline - Date.now();
    const listed = await row
      .waitFor({ state: 'visible', timeout: Math.max(1, Math.min(5000, left)) })
      .then(() => true)
      .catch(() => false);
    if (listed) break;
    if (Date.now() >= deadline) throw new Error(`the Command Palette did not list "${title}" within ${timeout} ms`);
    await page.keyboard.press('Escape');
    await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
  }
  // Enter runs the focused row: make sure that is ours (the list settles as results arrive).
  const focused = page.locator('.quick-input-widget .monaco-list-row.focused').filter({ hasText: title });
  const ours = await focused
    .waitFor({ state: 'visible', timeout: 3000 })
    .then(() => true)
    .catch(() => false);
  if (ours) await input.press('Enter');
  else await row.click();
  await input.waitFor({ state: 'hidden', timeout }).catch(() => {});
}

/** Wait for a notification toast whose text matches `text` (string or RegExp). */
async function waitForNotification(page, text, { timeout = 15_000 } = {}) {
  const toast = page.locator('.notification-toast').filter({ hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout });
  return toast;
}

/** Close every visible notification toast. */
async function dismissNotifications(page) {
  const toasts = page.locator('.notification-toast .codicon-notifications-clear-all, .notification-toast .codicon-close');
  for (let i = 0; i < 10 && (await toasts.count()) > 0; i++) {
    await toasts.first().click({ timeout: 1000 }).catch(() => {});
  }
}

/**
 * Wait until the workbench has stopped moving: no finite CSS animation or transition running
 * (a toast sliding in, a view expanding), then two more animation frames drawn. Bounded by
 * `timeout`; it only makes pictures sharper, so it never fails (a test never depends on it).
 */
async function settle(page, { timeout = 3000 } = {}) {
  await page
    .waitForFunction(
      () =>
        document.getAnimations().every((a) => {
          if (a.playState !== 'running') return true;
          const end = a.effect ? a.effect.getComputedTiming().endTime : undefined;
          return !Number.isFinite(Number(end)); // a spinner runs for ever: not something to wait for
        }),
      null,
      { timeout, polling: 'raf' },
    )
    .catch(() => {});
  await Promise.race([
    page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(undefined))))),
    sleep(timeout), // deadline: a page in the background draws no frames
  ]).catch(() => {});
}

/**
 * Save a screenshot of the page as test-results/<dir>/<name>.png; returns its path. The pointer
 * is parked first (no stray tooltip) unless `keepMouse`, and the page settles (settle()) first.
 */
async function screenshot(page, dir, name, { keepMouse = false } = {}) {
  const file = path.join(RESULTS_DIR, dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!keepMouse) await parkMouse(page);
  await settle(page);
  await page.screenshot({ path: file });
  return file;
}

module.exports = {
  REPO,
  RESULTS_DIR,
  HOST,
  PKG,
  EXTENSION_ID,
  sleep,
  log,
  run,
  freePort,
  freePorts,
  isListening,
  waitForListening,
  tempDir,
  rmrf,
  writeJson,
  tail,
  onCleanup,
  cleanup,
  killGroup,
  descendants,
  runMain,
  codeServerBin,
  createWorkspace,
  startCodeServer,
  discoveryDir,
  UNTRUSTED_USER_SETTINGS,
  launchBrowser,
  remoteUri,
  workbenchUrl,
  openWorkbench,
  peerChatTab,
  openPeerChat,
  viewHeader,
  viewPane,
  expandView,
  WEBVIEW_IFRAME,
  chatFrame,
  chatFrameHandle,
  parkMouse,
  focusWorkbench,
  runCommand,
  waitForNotification,
  dismissNotifications,
  settle,
  screenshot,
};
