// Two VS Code windows with PeerChat, as two classmates would have them: a second code-server
// with its own workspace and port. They chat natively, with receipts, both ways; the chat says
// the conversation is encrypted; Verify Peer… shows both the same safety number, and a key
// marked verified stays verified after a reload.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const { connectFromPalette, typeInComposer } = require('./support/peers');
const assert = require('assert');
const path = require('path');

const VSIX = path.join(__dirname, '..', '..', `peerchat-${require('../../package.json').version}.vsix`);
const SAFETY = /\d{5}(?: \d{5}){11}/;

/** @type {{ ws: { port: number, dir: string }, cs: { stop(): Promise<void> }, page: import('playwright-core').Page } | undefined} */
let windowB;

/**
 * Window B (another VS Code with PeerChat named bertha, in another workspace, on another port),
 * started once for this file's tests, and window A connected to it natively from the palette.
 * Returns B and A's Peers row for bertha.
 */
async function twoWindows({ page, port, ui }) {
  if (!windowB) {
    const ws = await ui.createWorkspace({ label: 'ui-ws-b', settings: { 'peerchat.name': 'bertha' } });
    const cs = await ui.startCodeServer({ label: 'ui-cs-b', vsix: VSIX, env: { PEERCHAT_TEST_PORT: String(ws.port) } });
    const pageB = await ui.openWorkbench(page.context(), cs, ws.dir);
    windowB = { ws, cs, page: pageB };
  }
  const { ws, page: pageB } = windowB;
  await ui.openPeerChat(pageB);
  await ui.expandView(pageB, 'Chat');
  await ui.waitForListening(ws.port);

  // Window A connects to B from the palette.
  await connectFromPalette({ page, port, ui }, `127.0.0.1:${ws.port}`);
  const row = ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'bertha' });
  // native, connected and encrypted, whatever their order in the row.
  await row.filter({ hasText: /· native\b/ }).filter({ hasText: /· connected\b/ }).filter({ hasText: /· encrypted\b/ }).waitFor({ timeout: 15_000 });
  return { pageB, portB: ws.port, row };
}

async function closeWindowB() {
  if (!windowB) return;
  const { cs, page } = windowB;
  windowB = undefined;
  await page.close().catch(() => {});
  await cs.stop();
}

/**
 * A's message to B in B's conversation, shown in B: after this both have the conversation and
 * B's chat shows it. B's tab for A is found by A's own name (B also has tabs for the peers it
 * learned from A by peer exchange, such as the terminal peers of earlier specs).
 */
async function aWritesToB(chatA, chatB, text) {
  await chatA.locator('.tab', { hasText: 'bertha' }).click();
  await typeInComposer(chatA, text);
  await chatB.locator('.tab', { hasText: 'Everyone' }).click();
  await chatB.locator('.msg.in', { hasText: text }).waitFor({ timeout: 15_000 });
  const nameA = (await chatA.locator('.who').first().innerText()).split(' @ ')[0].trim();
  const exact = new RegExp(`^\\s*${nameA.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  await chatB.locator('.tab', { has: chatB.locator('.label', { hasText: exact }) }).click();
}

/** Runs Verify Peer… and returns the modal dialog once it shows a safety number. */
async function verifyDialog(page) {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: 10_000 });
  await dialog.locator('.dialog-message-detail', { hasText: SAFETY }).waitFor({ timeout: 5000 });
  const title = await dialog.locator('.dialog-message-text').innerText();
  const number = (await dialog.locator('.dialog-message-detail').innerText()).match(SAFETY)[0];
  return { dialog, title, number };
}

/** @param {SpecContext} t */
exports['two PeerChat windows chat natively with receipts, both ways, encrypted'] = async (t) => {
  const { page, ui, screenshot } = t;
  const { pageB } = await twoWindows(t);

  // A writes to B in B's conversation; B shows it, A sees delivered then read (B's chat shows it).
  const chatA = await ui.chatFrame(page);
  const chatB = await ui.chatFrame(pageB);
  await aWritesToB(chatA, chatB, 'hello window B'); // B opens the conversation: A gets a read receipt
  await chatA.locator('.msg.out', { hasText: 'hello window B' }).locator('.state-read').waitFor({ timeout: 15_000 });

  // B answers; A shows it in the same conversation, B sees its receipt.
  await typeInComposer(chatB, 'hello back from B');
  await chatA.locator('.msg.in', { hasText: 'hello back from B' }).waitFor({ timeout: 15_000 });
  await chatB.locator('.msg.out', { hasText: 'hello back from B' }).locator('.state-delivered, .state-read').waitFor({ timeout: 15_000 });

  // Both say, under the tabs, that this conversation is encrypted.
  await chatA.locator('#convinfo', { hasText: /^\s*Encrypted · / }).waitFor({ timeout: 10_000 });
  await chatB.locator('#convinfo', { hasText: /^\s*Encrypted · / }).waitFor({ timeout: 10_000 });
  await screenshot('window-a');
  await ui.screenshot(pageB, 'ui', 'twoWindows-window-b');
  // Everyone is not one conversation with one key: nothing is claimed there.
  await chatA.locator('.tab', { hasText: 'Everyone' }).click();
  await chatA.locator('#convinfo.conv-none').waitFor({ state: 'attached', timeout: 5000 });
  assert.strictEqual(await chatA.locator('#convinfo').innerText(), '');
};

/** @param {SpecContext} t */
exports['Verify Peer… shows both windows the same safety number; Mark as Verified shows and survives a reload'] = async (t) => {
  const { page, port, ui, screenshot } = t;
  try {
    const { pageB, row } = await twoWindows(t);
    const chatA = await ui.chatFrame(page);
    const chatB = await ui.chatFrame(pageB);
    await aWritesToB(chatA, chatB, 'shall we compare numbers?');
    await chatA.locator('#convinfo', { hasText: 'Encrypted · not verified' }).waitFor({ timeout: 10_000 });
    await chatB.locator('#convinfo', { hasText: 'Encrypted · not verified' }).waitFor({ timeout: 10_000 });

    // Window B: Verify Peer… from the palette, picking A (by its address); read, then cancel.
    await ui.dismissNotifications(pageB);
    await ui.runCommand(pageB, 'PeerChat: Verify Peer…');
    const pick = pageB.locator('.quick-input-widget input');
    await pick.waitFor({ state: 'visible' });
    await pick.fill(`127.0.0.1:${port}`);
    await pageB.locator('.quick-input-widget .monaco-list-row', { hasText: `127.0.0.1:${port}` }).first().waitFor();
    await pick.press('Enter');
    const inB = await verifyDialog(pageB);
    assert.match(inB.title, /^PeerChat: verify /);
    await inB.dialog.locator('.monaco-button', { hasText: 'Mark as Verified' }).waitFor();
    await ui.screenshot(pageB, 'ui', 'twoWindows-verify-dialog-b');
    await inB.dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await inB.dialog.waitFor({ state: 'hidden', timeout: 5000 });

    // Window A: Verify Peer… from bertha's row's context menu.
    await ui.dismissNotifications(page);
    await row.click({ button: 'right' });
    await page.locator('.monaco-menu .action-item', { hasText: 'Verify Peer…' }).click();
    const inA = await verifyDialog(page);
    assert.strictEqual(inA.title, 'PeerChat: verify bertha');
    assert.match(inA.number, SAFETY);
    assert.strictEqual(inA.number, inB.number, 'both windows show the same safety number');
    await screenshot('verify-dialog');
    await inA.dialog.locator('.monaco-button', { hasText: 'Mark as Verified' }).click();
    await inA.dialog.waitFor({ state: 'hidden', timeout: 5000 });

    // A says verified, in the Peers view and above the conversation; B (which did not) does not.
    await row.locator('text=/encrypted · verified ✓/').waitFor({ timeout: 10_000 });
    await chatA.locator('.tab', { hasText: 'bertha' }).click();
    await chatA.locator('#convinfo', { hasText: 'Encrypted · verified ✓' }).waitFor({ timeout: 10_000 });
    await screenshot('verified');
    assert.strictEqual((await chatB.locator('#convinfo').innerText()).trim(), 'Encrypted · not verified', 'verifying is each side\'s own decision');

    // Window A reloads: still verified.
    const reloaded = page.waitForEvent('load', { timeout: 60_000 });
    await ui.runCommand(page, 'Developer: Reload Window');
    await reloaded;
    await page.locator('.statusbar-item', { hasText: `PeerChat :${port}` }).first().waitFor({ timeout: 60_000 });
    await ui.runCommand(page, 'PeerChat: Open Chat', { timeout: 30_000 });
    await ui.expandView(page, 'Peers');
    await ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'bertha' }).locator('text=/encrypted · verified ✓/').waitFor({ timeout: 20_000 });
    const chatA2 = await ui.chatFrame(page, { timeout: 60_000 });
    await chatA2.locator('.tab', { hasText: 'bertha' }).click();
    await chatA2.locator('#convinfo', { hasText: 'Encrypted · verified ✓' }).waitFor({ timeout: 20_000 });
    await screenshot('verified-after-reload');
  } finally {
    await closeWindowB();
  }
};
