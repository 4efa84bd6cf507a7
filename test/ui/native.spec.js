// PeerChat to PeerChat as a user sees it: connect to a terminal peer from the palette, the Peers
// view says "native", a message typed in the chat shows delivered then read, a message to a peer
// that is away shows queued (with Cancel) and is delivered when it returns.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startJsonProcess } = require('./support/jsonProcess');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

async function terminalPeer(ui, port, data) {
  return startJsonProcess(process.execPath, [CLI, '--port', String(port), '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--name', 'termi', '--data', data, '--json'], {
    ready: (e) => e.type === 'listening',
    onCleanup: ui.onCleanup,
  });
}

async function typeInComposer(chat, text) {
  const input = chat.locator('#input');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

let cliPort;
let data;

/** @param {SpecContext} t */
exports['Connect to Peer… to a PeerChat terminal peer opens a native session, shown in the Peers view'] = async ({ page, port, ui, screenshot }) => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-ui-cli-'));
  ui.onCleanup(() => fs.rmSync(data, { recursive: true, force: true }));
  cliPort = await ui.freePort();
  const cli = await terminalPeer(ui, cliPort, data);
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  await ui.waitForListening(port);
  await ui.dismissNotifications(page);
  await ui.runCommand(page, 'PeerChat: Connect to Peer…');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible' });
  await box.fill(`127.0.0.1:${cliPort}`);
  await box.press('Enter');
  await cli.waitFor((e) => e.type === 'system' && /native protocol/.test(String(e.text)), 10_000, 'the native session');
  const row = ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'termi' });
  await row.waitFor({ timeout: 10_000 });
  await row.locator('text=/native/').waitFor({ timeout: 10_000 });
  assert.match(await row.innerText(), new RegExp(`127\\.0\\.0\\.1:${cliPort}`));
  await ui.sleep(300);
  await screenshot('native-peer');
  cli.send('/quit');
  await cli.waitFor((e) => e.type === 'bye', 5000, 'bye');
};

/** @param {SpecContext} t */
exports['a message shows delivered and read; one sent while the peer is away shows queued, then goes'] = async ({ page, port, ui, screenshot }) => {
  const chat = await ui.chatFrame(page);
  // The peer is away (it quit above): the message waits, visibly.
  await chat.locator('.tab', { hasText: 'termi' }).click();
  await typeInComposer(chat, 'waiting for you');
  const queuedMsg = chat.locator('.msg.out', { hasText: 'waiting for you' });
  await queuedMsg.locator('.state-queued').waitFor({ timeout: 10_000 });
  await queuedMsg.locator('button', { hasText: 'Cancel' }).waitFor();
  await ui.sleep(300);
  await screenshot('queued');
  // It comes back with the same identity (same --data): the outbox empties, receipts come in.
  const cli = await terminalPeer(ui, cliPort, data);
  const got = await cli.waitFor((e) => e.type === 'message' && e.text === 'waiting for you', 30_000, 'the queued message');
  assert.ok(got.origin, 'a native message names its origin node');
  await queuedMsg.locator('.state-delivered, .state-read').waitFor({ timeout: 15_000 });
  await typeInComposer(chat, 'and now live');
  await cli.waitFor((e) => e.type === 'message' && e.text === 'and now live', 10_000, 'the live message');
  await chat.locator('.msg.out', { hasText: 'and now live' }).locator('.state-read').waitFor({ timeout: 10_000 });
  // A reply from the terminal peer lands in the same conversation.
  cli.send(`/send 127.0.0.1:${port} reply from the terminal`);
  await chat.locator('.msg.in', { hasText: 'reply from the terminal' }).waitFor({ timeout: 10_000 });
  await ui.sleep(300);
  await screenshot('delivered-read');
  cli.send('/quit');
};
