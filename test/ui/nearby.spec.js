// Discovery as a user sees it (issue 14): with peerchat.discovery "machine", a terminal peer that
// shares the per-machine folder with this VS Code window appears under Nearby in the Peers view
// by itself (name, short fingerprint, address); a click opens its conversation and a message
// typed there reaches it natively. No address is typed anywhere. The harness keeps discovery
// "off" and the folder a fresh temp one (PEERCHAT_DISCOVERY_DIR); this spec turns "machine" on in
// the workspace settings and back off at the end. Never "lan" here: no multicast from tests.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startJsonProcess } = require('./support/jsonProcess');
const { typeInComposer } = require('./support/peers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

/** Sets one key of the workspace's .vscode/settings.json (VS Code applies it without a reload). */
function setWorkspaceSetting(workspace, key, value) {
  const file = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
  settings[key] = value;
  fs.writeFileSync(file, JSON.stringify(settings, null, 2));
}

/** Whether the per-machine folder holds the file of the node listening on `port`. */
function announced(folder, port) {
  for (const f of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
    if (!f.endsWith('.json')) continue;
    try {
      if (JSON.parse(fs.readFileSync(path.join(folder, f), 'utf8')).port === port) return true;
    } catch {
      /* being rewritten */
    }
  }
  return false;
}

/**
 * Sets this window's peerchat.discovery and waits until its node follows: its file appears in
 * the folder ("machine") or goes ("off"). Two quick writes of settings.json can reach VS Code as
 * one change, so the setting is written again while the node has not followed (bounded).
 */
async function setDiscovery(workspace, folder, port, mode) {
  const want = mode !== 'off';
  for (let deadline = Date.now() + 30_000, next = 0; announced(folder, port) !== want; ) {
    if (Date.now() > deadline) throw new Error(`the window on port ${port} did not follow peerchat.discovery = ${mode}`);
    if (Date.now() >= next) {
      setWorkspaceSetting(workspace, 'peerchat.discovery', mode);
      next = Date.now() + 3_000;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Clicks a Nearby row until its conversation's tab is the selected one (within 15 s). A click
 * that lands while the tree redraws finds its command gone (VS Code drops the old rows'
 * commands), so it clicks again.
 */
async function clickUntilOpen(page, ui, row, selectedTab) {
  for (let deadline = Date.now() + 15_000; ; ) {
    await row.click();
    if (await selectedTab.waitFor({ timeout: 3_000 }).then(() => true, () => false)) return;
    if (Date.now() > deadline) throw new Error('clicking the Nearby row never opened its conversation');
    console.log('      (the Nearby row was redrawn under the click: clicking again)');
    await ui.dismissNotifications(page);
  }
}

/** @param {SpecContext} t */
exports['a terminal peer on this machine appears under Nearby by itself; a click opens its conversation; a message reaches it'] = async (t) => {
  const { page, port, workspace, ui, screenshot } = t;
  const folder = ui.discoveryDir();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-ui-nearby-'));
  ui.onCleanup(() => fs.rmSync(data, { recursive: true, force: true }));
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  await ui.waitForListening(port);
  await ui.dismissNotifications(page);
  await setDiscovery(workspace, folder, port, 'machine');
  try {
    const cliPort = await ui.freePort();
    const cli = await startJsonProcess(
      process.execPath,
      [CLI, '--port', String(cliPort), '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--name', 'nearbee', '--data', data, '--json', '--discovery', 'machine', '--discovery-dir', folder],
      { ready: (e) => e.type === 'listening', onCleanup: ui.onCleanup },
    );
    const fingerprint = String(cli.first.fingerprint);
    // The terminal peer sees the window too (both read the folder): a sign the window announced.
    await cli.waitFor((e) => e.type === 'nearby' && Array.isArray(e.peers) && e.peers.some((p) => p.address === `127.0.0.1:${port}`), 20_000, 'the VS Code window nearby');

    const peers = ui.viewPane(page, 'Peers');
    await peers.locator('.monaco-list-row', { hasText: 'Nearby' }).waitFor({ timeout: 20_000 });
    const row = peers.locator('.monaco-list-row', { hasText: 'nearbee' });
    await row.waitFor({ timeout: 20_000 });
    const text = await row.innerText();
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${cliPort}`), 'its address');
    assert.ok(text.includes(fingerprint.split('-').slice(0, 2).join('-')), `its short fingerprint (${fingerprint}) in "${text}"`);
    // The status bar counts it as nearby, not yet as a peer.
    await page.locator('.statusbar-item', { hasText: /PeerChat :\d+ · \d+ peers? · 1 nearby/ }).waitFor({ timeout: 10_000 });
    await ui.parkMouse(page);
    await screenshot('nearby');

    const chat = await ui.chatFrame(page);
    await clickUntilOpen(page, ui, row, chat.locator('.tab[aria-selected="true"]', { hasText: 'nearbee' }));
    await typeInComposer(chat, 'found you without an address');
    const got = await cli.waitFor((e) => e.type === 'message' && e.text === 'found you without an address', 15_000, 'the message at the terminal peer');
    assert.ok(got.origin, 'native: the message names its origin node');
    await chat.locator('.msg.out', { hasText: 'found you without an address' }).locator('.state-delivered, .state-read').waitFor({ timeout: 15_000 });
    // Talked to: it moves from Nearby to the main list, as a connected native peer.
    await peers.locator('.monaco-list-row', { hasText: 'nearbee' }).locator('text=/native · connected/').waitFor({ timeout: 15_000 });
    await ui.parkMouse(page);
    await screenshot('talked');
    cli.send('/quit');
    await cli.waitFor((e) => e.type === 'bye', 5000, 'bye');
  } finally {
    await setDiscovery(workspace, folder, port, 'off');
  }
};

/** @param {SpecContext} t */
exports['two PeerChat windows in one code-server find each other under Nearby and chat with no address typed'] = async (t) => {
  const { page, port, workspace, ui, codeServer, screenshot } = t;
  const folder = ui.discoveryDir();
  // Window B: another folder in the same code-server (its own extension host, node and port),
  // discovery "machine" from the start; both windows share the run's per-machine folder.
  const wsB = await ui.createWorkspace({ label: 'ui-ws-nearby-b', settings: { 'peerchat.name': 'wanda', 'peerchat.discovery': 'machine' } });
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  await ui.waitForListening(port);
  await setDiscovery(workspace, folder, port, 'machine');
  const pageB = await ui.openWorkbench(page.context(), codeServer, wsB.dir);
  try {
    await ui.openPeerChat(pageB);
    await ui.expandView(pageB, 'Chat');
    await ui.expandView(pageB, 'Peers');
    await ui.waitForListening(wsB.port);

    // Each window lists the other under Nearby, by itself.
    const rowInA = ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'wanda' });
    await rowInA.waitFor({ timeout: 20_000 });
    assert.match(await rowInA.innerText(), new RegExp(`127\\.0\\.0\\.1:${wsB.port}`));
    const nearbyInB = ui.viewPane(pageB, 'Peers').locator('.monaco-list-row', { hasText: 'Nearby' });
    await nearbyInB.waitFor({ timeout: 20_000 });
    await ui.viewPane(pageB, 'Peers').locator('.monaco-list-row', { hasText: `127.0.0.1:${port}` }).waitFor({ timeout: 20_000 });
    await ui.parkMouse(page);
    await screenshot('two-windows-nearby');

    // A clicks B's row and writes: B's chat shows it, natively (its conversation says encrypted).
    const chatA = await ui.chatFrame(page);
    await clickUntilOpen(page, ui, rowInA, chatA.locator('.tab[aria-selected="true"]', { hasText: 'wanda' }));
    await typeInComposer(chatA, 'hello window B, found nearby');
    const chatB = await ui.chatFrame(pageB);
    await chatB.locator('.msg.in', { hasText: 'hello window B, found nearby' }).waitFor({ timeout: 15_000 });
    await chatA.locator('.msg.out', { hasText: 'hello window B, found nearby' }).locator('.state-delivered, .state-read').waitFor({ timeout: 15_000 });
    await chatA.locator('.conv-info', { hasText: /encrypted/i }).waitFor({ timeout: 5_000 });
    await ui.parkMouse(page);
    await screenshot('two-windows-chat');
  } finally {
    await pageB.close().catch(() => {});
    await setDiscovery(workspace, folder, port, 'off');
  }
};
