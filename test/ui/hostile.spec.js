// Nothing a peer sends can run in the editor: hostile texts render as text in the real webview,
// hostile names are cleaned in the Peers view, nothing becomes a link or a command.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');
const { classicSend } = require('./support/peers');
// The corpus the Markdown unit tests run too.
const HOSTILE = require('../support/hostile-texts.json');

// A 60 KB word: over what fits one classic write, under the per-message limit (64 KiB).
const LONG_WORD = 'A'.repeat(60_000);

/** @param {SpecContext} t */
exports['hostile texts from a peer render as text and run nothing'] = async ({ page, port, ui, screenshot }) => {
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.expandView(page, 'Peers');
  await ui.waitForListening(port);
  for (const text of HOSTILE) await classicSend(port, `127.0.0.1:47999 \u202Emallory\u200B ${text}`);
  await classicSend(port, `127.0.0.1:47999 mallory ${LONG_WORD}`);
  const chat = await ui.chatFrame(page);
  await chat.locator('.tab', { hasText: 'Everyone' }).click();
  const frame = await ui.chatFrameHandle(page);
  // Wait for these messages themselves (the shared UI workspace already holds other specs' messages,
  // Markdown links among them: those are a.link elements without href, which ask the host).
  await frame.waitForFunction(
    (texts) => {
      const shownNow = new Set(Array.from(document.querySelectorAll('.msg.in .text')).map((e) => e.textContent));
      return texts.every((t) => shownNow.has(t)) && Array.from(document.querySelectorAll('.msg.in .text.folded')).some((e) => e.textContent.startsWith('AAAA'));
    },
    HOSTILE,
    { timeout: 30_000 },
  );
  const shown = await frame.evaluate(() => Array.from(document.querySelectorAll('.msg.in .text')).map((e) => e.textContent));
  for (const text of HOSTILE) assert.ok(shown.includes(text), `shown character for character: ${JSON.stringify(text)}`);
  // The 60 KB word is folded; "Show all" shows all of it, as text.
  assert.ok(shown.some((t) => t.length < 2000 && LONG_WORD.startsWith(t)), 'the long word is shown folded');
  await chat.locator('.msg.in', { has: chat.locator('.text.folded', { hasText: 'AAAA' }) }).locator('.more-text').click();
  await frame.waitForFunction((n) => Array.from(document.querySelectorAll('.msg.in .text')).some((e) => e.textContent.length === n), LONG_WORD.length, { timeout: 10_000 });
  const dom = await frame.evaluate(() => ({
    title: document.title,
    injected: document.querySelectorAll('.log img, .log script, .log a:not(.link), .log svg, .log style, .log iframe, .log [onerror], .log [onload], .log [href]').length,
    bodyVisible: getComputedStyle(document.body).display !== 'none',
    overflow: /** @type {Element} */ (document.querySelector('.log')).scrollWidth - /** @type {Element} */ (document.querySelector('.log')).clientWidth,
  }));
  assert.strictEqual(dom.injected, 0, 'no element was created from peer text');
  assert.ok(!/pwned/.test(dom.title), `no script ran in the webview (title ${dom.title})`);
  assert.ok(dom.bodyVisible, 'peer CSS did not apply');
  assert.ok(dom.overflow <= 1, `the long word wraps inside the view (overflow ${dom.overflow}px)`);
  assert.ok(!/pwned/.test(await page.title()), 'no script ran in the workbench');
  // The name is cleaned wherever it shows: chat and Peers view.
  const names = await frame.evaluate(() =>
    Array.from(document.querySelectorAll('.msg.in'))
      .filter((row) => row.querySelector('.peer')?.textContent === '127.0.0.1:47999')
      .map((row) => /** @type {Element} */ (row.querySelector('.name')).textContent),
  );
  assert.ok(names.length >= HOSTILE.length, `messages from the hostile peer: ${names.length}`);
  assert.ok(names.every((n) => n === 'mallory'), `names shown: ${JSON.stringify([...new Set(names)])}`);
  const row = ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'mallory' });
  await row.waitFor({ timeout: 10_000 });
  assert.ok(!/[\u202a-\u202e\u200b-\u200f]/.test(await row.innerText()), 'no bidi or zero-width characters in the Peers view');
  // The node is still running: nothing stopped it.
  await page.locator('.statusbar-item', { hasText: `PeerChat :${port}` }).first().waitFor({ timeout: 5000 });
  await screenshot('hostile-texts');
};

/** @param {SpecContext} t */
exports['a message over the per-message limit is refused with a logged reason, not shown'] = async ({ page, port, ui }) => {
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.waitForListening(port);
  const chat = await ui.chatFrame(page);
  await chat.locator('.tab', { hasText: 'Everyone' }).click();
  const frame = await ui.chatFrameHandle(page);
  const shownText = (text) =>
    frame.waitForFunction((t) => Array.from(document.querySelectorAll('.msg.in .text')).some((e) => e.textContent === t), text, { timeout: 10_000 });
  const rowIds = () => frame.evaluate(() => Array.from(document.querySelectorAll('.msg.in')).map((e) => /** @type {HTMLElement} */ (e).dataset.id));
  // A message before the flood, once shown, proves the log has drawn everything up to now.
  await classicSend(port, '127.0.0.1:47999 mallory before the flood');
  await shownText('before the flood');
  const before = new Set(await rowIds());
  await classicSend(port, `127.0.0.1:47999 mallory ${'B'.repeat(1024 * 1024)}`).catch(() => undefined);
  // Sent after the flood on the same node: once it shows, the flood has been handled too.
  await classicSend(port, '127.0.0.1:47999 mallory after the flood');
  await shownText('after the flood');
  const added = await frame.evaluate(
    (old) =>
      Array.from(document.querySelectorAll('.msg.in'))
        .filter((e) => !old.includes(/** @type {HTMLElement} */ (e).dataset.id || ''))
        .map((e) => (e.querySelector('.text') || e).textContent || ''),
    [...before].map(String),
  );
  assert.deepStrictEqual(added, ['after the flood'], 'only the normal message was added');
  const lengths = await frame.evaluate(() => Array.from(document.querySelectorAll('.msg.in .text')).map((e) => (e.textContent || '').length));
  assert.ok(lengths.every((n) => n < 70_000), 'the 1 MB message was not shown');
};
