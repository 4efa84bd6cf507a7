// Peers the UI specs talk to, and typing as a user does: a PeerChat terminal peer of its own
// (fresh --data, free port) and the chat's composer.
'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { startJsonProcess } = require('./jsonProcess');

const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');

/**
 * A terminal peer on 127.0.0.1:`port` with its data in `data`, speaking --json; `cwd` is where its /snippet paths start.
 * @param {any} ui @param {number} port @param {string} data @param {string} name
 * @param {{ cwd?: string }} [options]
 */
async function terminalPeer(ui, port, data, name, { cwd } = {}) {
  return startJsonProcess(process.execPath, [CLI, '--port', String(port), '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--name', name, '--data', data, '--json'], {
    ready: (e) => e.type === 'listening',
    onCleanup: ui.onCleanup,
    cwd,
  });
}

/** Types into the chat composer and presses Enter, as a user would. */
async function typeInComposer(chat, text) {
  const input = chat.locator('#input');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

/** One classic message on one connection to 127.0.0.1:`port`, as a classroom program sends it. */
function classicSend(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.from(text, 'utf8')));
    s.on('close', resolve);
    s.on('error', reject);
  });
}

/**
 * Connect to Peer… from the Command Palette to `address`, as a user does, once the PeerChat views
 * are open and the node listens on `port`.
 * @param {{ page: import('playwright-core').Page, port: number, ui: any }} t @param {string} address
 */
async function connectFromPalette({ page, port, ui }, address) {
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  await ui.waitForListening(port);
  await ui.dismissNotifications(page);
  await ui.runCommand(page, 'PeerChat: Connect to Peer…');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible' });
  await box.fill(address);
  await box.press('Enter');
}

/**
 * A terminal peer of its own (fresh --data, free port) that the user connects to from the
 * palette, once the node's native session with it shows in the Peers view as connected. Each
 * test uses its own `name`, so that rows and tabs are told apart in the shared workspace.
 * @param {{ page: import('playwright-core').Page, port: number, ui: any }} t @param {string} name
 * @param {{ cwd?: string }} [options]
 */
async function connectTerminalPeer({ page, port, ui }, name, { cwd } = {}) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-ui-cli-'));
  ui.onCleanup(() => fs.rmSync(data, { recursive: true, force: true }));
  const cliPort = await ui.freePort();
  const cli = await terminalPeer(ui, cliPort, data, name, { cwd });
  await connectFromPalette({ page, port, ui }, `127.0.0.1:${cliPort}`);
  await cli.waitFor((e) => e.type === 'system' && /native protocol/.test(String(e.text)), 10_000, 'the native session');
  const row = ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: name });
  await row.locator('text=/native · connected/').waitFor({ timeout: 10_000 });
  return { cli, cliPort, data, row };
}

module.exports = { CLI, terminalPeer, typeInComposer, classicSend, connectFromPalette, connectTerminalPeer };
