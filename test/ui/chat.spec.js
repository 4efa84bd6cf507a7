// The chat as a user meets it: a classmate's Python peer writes, the message and its sender
// appear; the user answers from the Chat webview; Connect and Broadcast run from the palette;
// hostile text renders as text. Screenshots in test-results/ui/.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');
const path = require('path');
const { startJsonProcess } = require('./support/jsonProcess');

const REFPEER = path.join(__dirname, '..', 'interop', 'refpeer.py');
const XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';

let py;

async function refpeer(ui) {
  if (py) return py;
  py = await startJsonProcess('python3', [REFPEER, '--host', '127.0.0.1', '--port', '0', '--name', 'pyclass'], {
    ready: (e) => e.type === 'listening',
    onCleanup: ui.onCleanup,
  });
  return py;
}

/** Types into the chat composer and presses Enter, as a user would. */
async function typeInComposer(chat, text) {
  const input = chat.locator('#input');
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

/** @param {SpecContext} t */
exports['a message from a Python classmate appears in the chat and its sender in the Peers view'] = async ({ page, port, ui, screenshot }) => {
  const p = await refpeer(ui);
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  // The node is up once the status bar shows its port.
  await page.locator('.statusbar-item', { hasText: `PeerChat :${port}` }).first().waitFor({ timeout: 20_000 });
  p.send(`send 127.0.0.1:${port} hello from python`);
  await p.waitFor((e) => e.type === 'sent' && e.ok, 5000, 'sent ok');
  const chat = await ui.chatFrame(page);
  await chat.locator('.msg.in .text', { hasText: 'hello from python' }).waitFor({ timeout: 10_000 });
  const name = await chat.locator('.msg.in', { hasText: 'hello from python' }).locator('.name').innerText();
  assert.strictEqual(name, 'pyclass');
  const peers = ui.viewPane(page, 'Peers');
  await peers.locator('.monaco-list-row', { hasText: 'pyclass' }).waitFor({ timeout: 10_000 });
  const row = await peers.locator('.monaco-list-row', { hasText: 'pyclass' }).innerText();
  assert.ok(row.includes(p.first.address), `the Peers row shows the address: ${row}`);
  await ui.sleep(300);
  await screenshot('message-from-python');
};

/** @param {SpecContext} t */
exports['a message typed in the Chat webview reaches the Python peer'] = async ({ page, ui, screenshot }) => {
  const p = await refpeer(ui);
  const chat = await ui.chatFrame(page);
  // Open the classmate's conversation tab, then write.
  await chat.locator('.tab', { hasText: 'pyclass' }).click();
  await typeInComposer(chat, 'hi python, from the side bar');
  const got = await p.waitFor((e) => e.type === 'message' && e.text === 'hi python, from the side bar', 10_000, 'the typed message');
  assert.strictEqual(got.kind, 'chat');
  await chat.locator('.msg.out', { hasText: 'hi python, from the side bar' }).locator('.state-sent, .state-acked').waitFor({ timeout: 10_000 });
  await ui.sleep(300);
  await screenshot('typed-message-sent');
};

/** @param {SpecContext} t */
exports['Connect to Peer… from the Command Palette greets the peer'] = async ({ page, ui, screenshot }) => {
  const p = await refpeer(ui);
  await ui.dismissNotifications(page);
  await ui.runCommand(page, 'PeerChat: Connect to Peer…');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible' });
  await box.fill(p.first.address);
  await box.press('Enter');
  const greeting = await p.waitFor((e) => e.type === 'message' && e.kind === 'greeting', 10_000, 'a greeting');
  assert.ok(greeting.text === 'Hello, I am connecting!' || greeting.text === 'Connected');
  await ui.waitForNotification(page, /connected to/i);
  await ui.sleep(300);
  await screenshot('connect-from-palette');
};

/** @param {SpecContext} t */
exports['Broadcast Message… from the Command Palette reaches the peer'] = async ({ page, ui, screenshot }) => {
  const p = await refpeer(ui);
  await ui.dismissNotifications(page);
  await ui.runCommand(page, 'PeerChat: Broadcast Message…');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible' });
  await box.fill('hello everyone from the palette');
  await box.press('Enter');
  await p.waitFor((e) => e.type === 'message' && e.text === 'hello everyone from the palette', 10_000, 'the broadcast');
  await ui.waitForNotification(page, /broadcast to 1 peer/i);
  await ui.sleep(300);
  await screenshot('broadcast-from-palette');
};

/** @param {SpecContext} t */
exports['hostile text from a peer renders as text and runs nothing'] = async ({ page, port, ui, screenshot }) => {
  const p = await refpeer(ui);
  const chat = await ui.chatFrame(page);
  await chat.locator('.tab', { hasText: 'Everyone' }).click();
  p.send(`send 127.0.0.1:${port} ${XSS}`);
  const text = chat.locator('.msg.in .text', { hasText: '<img src=x' });
  await text.waitFor({ timeout: 10_000 });
  assert.strictEqual(await text.innerText(), XSS, 'shown character for character');
  assert.strictEqual(await chat.locator('.log img').count(), 0, 'no <img> element was created');
  assert.strictEqual(await chat.locator('.log script').count(), 0, 'no <script> element was created');
  const frame = await ui.chatFrameHandle(page);
  assert.notStrictEqual(await frame.evaluate(() => document.title), 'pwned', 'no script ran in the webview');
  assert.notStrictEqual(await page.title(), 'pwned');
  await ui.sleep(300);
  await screenshot('hostile-text');
};

/** @param {SpecContext} t */
exports['the chat keeps its history after a window reload'] = async ({ page, ui, screenshot }) => {
  const reloaded = page.waitForEvent('load', { timeout: 60_000 });
  await ui.runCommand(page, 'Developer: Reload Window');
  await reloaded;
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
  // "Open Chat" always shows the view (clicking the activity-bar tab would toggle it).
  await ui.runCommand(page, 'PeerChat: Open Chat', { timeout: 30_000 });
  const chat = await ui.chatFrame(page, { timeout: 60_000 });
  await chat.locator('.tab', { hasText: 'Everyone' }).click();
  await chat.locator('.msg.in .text', { hasText: 'hello from python' }).waitFor({ timeout: 20_000 });
  await ui.sleep(300);
  await screenshot('after-reload');
  if (py) {
    py.stop();
    py = undefined;
  }
};
