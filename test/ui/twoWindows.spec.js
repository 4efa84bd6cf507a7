// Two VS Code windows with PeerChat, as two classmates would have them: a second code-server
// with its own workspace and port. They chat natively, with receipts, both ways.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const path = require('path');

const VSIX = path.join(__dirname, '..', '..', `peerchat-${require('../../package.json').version}.vsix`);

async function typeInComposer(chat, text) {
  const input = chat.locator('#input');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

/** @param {SpecContext} t */
exports['two PeerChat windows chat natively with receipts, both ways'] = async ({ page, port, ui, screenshot }) => {
  // Window B: another VS Code with PeerChat, in another workspace, on another port.
  const wsB = await ui.createWorkspace({ label: 'ui-ws-b', settings: { 'peerchat.name': 'bertha' } });
  const csB = await ui.startCodeServer({ label: 'ui-cs-b', vsix: VSIX, env: { PEERCHAT_TEST_PORT: String(wsB.port) } });
  const pageB = await ui.openWorkbench(page.context(), csB, wsB.dir);
  await ui.openPeerChat(pageB);
  await ui.expandView(pageB, 'Chat');
  await ui.waitForListening(wsB.port);

  // Window A connects to B from the palette.
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  await ui.waitForListening(port);
  await ui.dismissNotifications(page);
  await ui.runCommand(page, 'PeerChat: Connect to Peer…');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible' });
  await box.fill(`127.0.0.1:${wsB.port}`);
  await box.press('Enter');
  const row = ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'bertha' });
  await row.locator('text=/native/').waitFor({ timeout: 15_000 });

  // A writes to B in B's conversation; B shows it, A sees delivered then read (B's chat shows it).
  const chatA = await ui.chatFrame(page);
  await chatA.locator('.tab', { hasText: 'bertha' }).click();
  await typeInComposer(chatA, 'hello window B');
  const chatB = await ui.chatFrame(pageB);
  await chatB.locator('.tab', { hasText: 'Everyone' }).click();
  await chatB.locator('.msg.in', { hasText: 'hello window B' }).waitFor({ timeout: 15_000 });
  const tabA = chatB.locator('.tab').filter({ hasNotText: 'Everyone' }).first();
  await tabA.click(); // B opens the conversation: A gets a read receipt
  await chatA.locator('.msg.out', { hasText: 'hello window B' }).locator('.state-read').waitFor({ timeout: 15_000 });

  // B answers; A shows it in the same conversation, B sees its receipt.
  await typeInComposer(chatB, 'hello back from B');
  await chatA.locator('.msg.in', { hasText: 'hello back from B' }).waitFor({ timeout: 15_000 });
  await chatB.locator('.msg.out', { hasText: 'hello back from B' }).locator('.state-delivered, .state-read').waitFor({ timeout: 15_000 });
  await screenshot('window-a');
  await ui.screenshot(pageB, 'ui', 'twoWindows-window-b');
  await pageB.close();
  await csB.stop();
};
