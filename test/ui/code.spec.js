// Code in the chat (issue 13), as a developer meets it in the real VS Code: Share Selection sends
// the lines as a snippet; a snippet from a peer renders highlighted and Open selects its lines; a
// `path:LINE` in text opens the line; Copy and Insert; a snippet that differs from the file offers
// Compare; the chat in an editor panel is the same chat and comes back after a reload; hostile
// Markdown runs nothing and loads nothing. Screenshots in light and dark themes.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { classicSend, connectTerminalPeer } = require('./support/peers');

const GREET = ['export function greet(name: string): string {', '  const greeting = `Hello, ${name}!`;', '  return greeting;', '}', ''].join('\n');
const UTIL = ['export function twice(n: number): number {', '  return n * 2;', '}', ''].join('\n');
// The sender's copy of src/util.ts: one line changed.
const UTIL_THEIRS = ['export function twice(n: number): number {', '  return n + n;', '}', ''].join('\n');

/** One terminal peer for the whole file, sending from `sender/` (its own copy of the workspace's files). */
let peer;

/** The workspace's files, and the sender's folder beside it; written once. */
function writeFiles(workspace) {
  const sender = path.join(path.dirname(workspace), 'sender');
  for (const [dir, util] of [[workspace, UTIL], [sender, UTIL_THEIRS]]) {
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'greet.ts'), GREET);
    fs.writeFileSync(path.join(dir, 'src', 'util.ts'), util);
  }
  return sender;
}

/** @param {SpecContext} t */
async function terminal(t) {
  if (peer) return peer;
  const sender = writeFiles(t.workspace);
  peer = await connectTerminalPeer(t, 'coder', { cwd: sender });
  return peer;
}

/** Opens a workspace file with Quick Open, as a user does; resolves once its editor has focus. */
async function openFile(page, ui, rel) {
  await ui.focusWorkbench(page);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(rel);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(rel) }).first().waitFor({ timeout: 10_000 });
  await input.press('Enter');
  await activeTab(page, path.basename(rel)).waitFor({ timeout: 10_000 });
  await page.locator('.editor-instance .monaco-editor.focused').waitFor({ timeout: 10_000 });
}

function activeTab(page, name) {
  return page.locator('.tabs-container .tab.active', { hasText: name });
}

/** The editor's "Ln X, Col Y (N selected)" status bar item. */
function selectionStatus(page) {
  return page.locator('#status\\.editor\\.selection');
}

/** The chat's conversation with the terminal peer, in the side bar. */
async function coderChat(page, ui) {
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  const chat = await ui.chatFrame(page);
  await chat.locator('.tab', { hasText: 'coder' }).click();
  return chat;
}

/**
 * Switches the colour theme from the Command Palette, as a user does. (Not ui.runCommand: that
 * waits for the palette to close, and this command keeps it open as the theme picker.)
 */
async function setTheme(page, ui, theme, cls) {
  const input = page.locator('.quick-input-widget input');
  await ui.focusWorkbench(page);
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible' });
  await input.fill('>Preferences: Color Theme');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: /^\s*Preferences: Color Theme/ }).first().click({ timeout: 10_000 });
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: /Dark Modern/ }).first().waitFor({ timeout: 10_000 });
  await input.fill(theme);
  await page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: theme }).waitFor({ timeout: 10_000 });
  await input.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10_000 });
  await page.locator(`.monaco-workbench.${cls}`).waitFor({ timeout: 15_000 });
}

/** @param {SpecContext} t */
exports['Share Selection… sends the selected lines to a peer as a snippet with their path and range'] = async (t) => {
  const { page, ui, screenshot } = t;
  const { cli } = await terminal(t);
  await openFile(page, ui, 'src/greet.ts');
  // Lines 2-3: Go to Line 2, then two lines down with Shift (the selection ends at the start of
  // line 4, which a whole-line share leaves out).
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').fill(':2');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Shift+ArrowDown');
  await selectionStatus(page).filter({ hasText: /selected/ }).waitFor({ timeout: 5000 });
  await ui.runCommand(page, 'PeerChat: Share Selection…');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'coder' }).first().click();
  const comment = page.locator('.quick-input-widget input');
  await page.locator('.quick-input-widget', { hasText: 'A comment to send with it' }).waitFor({ timeout: 5000 });
  await comment.fill('why a template here?');
  const since = cli.events.length;
  await comment.press('Enter');
  const got = await cli.waitFor((e) => e.type === 'message' && String(e.text).includes('```'), 10_000, 'the shared snippet', since);
  assert.strictEqual(got.text, ['why a template here?', '', '```ts src/greet.ts:2-3', '  const greeting = `Hello, ${name}!`;', '  return greeting;', '```'].join('\n'));
  // The sender's own chat shows it as a snippet too.
  const chat = await coderChat(page, ui);
  await chat.locator('.msg.out .code-block .code-label', { hasText: 'src/greet.ts:2\u20133' }).waitFor({ timeout: 10_000 });
  await screenshot('shared-selection');
};

/** @param {SpecContext} t */
exports['a snippet from a peer renders highlighted; Open shows the file with the lines selected; path:LINE opens the line'] = async (t) => {
  const { page, port, ui, screenshot } = t;
  const { cli } = await terminal(t);
  cli.send(`/snippet 127.0.0.1:${port} src/greet.ts 1 4 the whole function`);
  cli.send(`/send 127.0.0.1:${port} see src/greet.ts:3 for the **return**`);
  const chat = await coderChat(page, ui);
  const block = chat.locator('.msg.in .code-block', { has: chat.locator('.code-label', { hasText: 'src/greet.ts:1\u20134' }) });
  await block.waitFor({ timeout: 10_000 });
  // Highlighted (keywords and strings in spans of highlight.js), and the lines match the file.
  await block.locator('code span.hljs-keyword', { hasText: 'export' }).first().waitFor({ timeout: 10_000 });
  await block.locator('code span.hljs-string').first().waitFor();
  await block.locator('.code-status.status-same').waitFor({ state: 'attached', timeout: 10_000 });
  assert.strictEqual(await block.locator('code').innerText(), GREET.trimEnd());
  // Markdown in ordinary text: bold, and the location as a link.
  const text = chat.locator('.msg.in', { hasText: 'for the' });
  await text.locator('strong', { hasText: 'return' }).waitFor({ timeout: 10_000 });
  await screenshot('snippet-received');

  await block.getByRole('button', { name: 'Open', exact: true }).click();
  await activeTab(page, 'greet.ts').waitFor({ timeout: 10_000 });
  // Lines 1-4 selected: the cursor at the end of line 4, every character of the four lines.
  const lines = GREET.split('\n').slice(0, 4);
  const chars = lines.join('\n').length;
  await selectionStatus(page).filter({ hasText: `Ln 4, Col ${lines[3].length + 1} (${chars} selected)` }).waitFor({ timeout: 10_000 });

  await text.locator('a.link.location', { hasText: 'src/greet.ts:3' }).click();
  await selectionStatus(page).filter({ hasText: /^\s*Ln 3, Col/ }).waitFor({ timeout: 10_000 });
  await screenshot('opened-at-lines');
};

/** @param {SpecContext} t */
exports['Copy puts a code block on the clipboard and Insert puts it at the cursor'] = async (t) => {
  const { page, ui } = t;
  await terminal(t);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const chat = await coderChat(page, ui);
  const block = chat.locator('.msg.in .code-block', { has: chat.locator('.code-label', { hasText: 'src/greet.ts:1\u20134' }) });
  await page.evaluate(() => navigator.clipboard.writeText('before'));
  await block.getByRole('button', { name: 'Copy', exact: true }).click();
  const deadline = Date.now() + 10_000;
  let clip = '';
  while (Date.now() < deadline && clip !== GREET.trimEnd()) {
    clip = await page.evaluate(() => navigator.clipboard.readText());
    if (clip !== GREET.trimEnd()) await ui.sleep(100);
  }
  assert.strictEqual(clip, GREET.trimEnd());

  await ui.runCommand(page, 'File: New Untitled Text File');
  await activeTab(page, 'Untitled').waitFor({ timeout: 10_000 });
  await block.getByRole('button', { name: 'Insert', exact: true }).click();
  await page.locator('.editor-instance .view-lines', { hasText: 'const greeting' }).waitFor({ timeout: 10_000 });
  // Closing the untitled file would ask to save it: revert it instead.
  await ui.runCommand(page, 'View: Revert and Close Editor');
};

/** @param {SpecContext} t */
exports['a snippet whose lines differ from the file says so, and Compare shows the difference'] = async (t) => {
  const { page, port, ui, screenshot } = t;
  const { cli } = await terminal(t);
  cli.send(`/snippet 127.0.0.1:${port} src/util.ts 1 3 mine doubles differently`);
  const chat = await coderChat(page, ui);
  const block = chat.locator('.msg.in .code-block', { has: chat.locator('.code-label', { hasText: 'src/util.ts:1\u20133' }) });
  await block.locator('.code-status.status-differs', { hasText: 'differs from your file' }).waitFor({ timeout: 10_000 });
  await screenshot('snippet-differs');
  await block.getByRole('button', { name: 'Compare', exact: true }).click();
  const diff = page.locator('.monaco-diff-editor');
  await diff.waitFor({ timeout: 10_000 });
  await activeTab(page, 'Shared \u2194 src/util.ts:1-3').waitFor({ timeout: 10_000 });
  // Exactly the changed line on each side: theirs on the left, the file on the right.
  await diff.locator('.editor.original .view-lines', { hasText: 'return n + n;' }).waitFor({ timeout: 10_000 });
  await diff.locator('.editor.modified .view-lines', { hasText: 'return n * 2;' }).waitFor();
  await diff.locator('.line-delete, .char-delete').first().waitFor();
  await screenshot('compare');
  await ui.runCommand(page, 'View: Close Editor');
};

/** @param {SpecContext} t */
exports['Open Chat in Editor shows the same chat beside the code, live in both, and it comes back after a reload'] = async (t) => {
  const { page, port, ui, screenshot } = t;
  const { cli } = await terminal(t);
  await ui.runCommand(page, 'PeerChat: Open Chat in Editor');
  const panelTab = page.locator('.tabs-container .tab', { hasText: 'PeerChat' });
  await panelTab.waitFor({ timeout: 10_000 });
  const panel = await panelFrame(page, ui);
  await panel.locator('.tab', { hasText: 'coder' }).click();
  await panel.locator('.code-block .code-label', { hasText: 'src/greet.ts:1\u20134' }).waitFor({ timeout: 10_000 });
  // A new message shows in the side bar and in the panel at once.
  cli.send(`/send 127.0.0.1:${port} live in both places`);
  await panel.locator('.msg.in', { hasText: 'live in both places' }).waitFor({ timeout: 10_000 });
  const side = await coderChat(page, ui);
  await side.locator('.msg.in', { hasText: 'live in both places' }).waitFor({ timeout: 10_000 });
  await setTheme(page, ui, 'Light Modern', 'vs');
  await screenshot('panel-light');
  await setTheme(page, ui, 'Dark Modern', 'vs-dark');
  await screenshot('panel-dark');

  try {
    const reloaded = page.waitForEvent('load', { timeout: 60_000 });
    await ui.runCommand(page, 'Developer: Reload Window');
    await reloaded;
    await page.locator('.statusbar-item', { hasText: `PeerChat :${port}` }).first().waitFor({ timeout: 60_000 });
    await panelTab.waitFor({ timeout: 30_000 });
    await panelTab.click();
    let again;
    try {
      again = await panelFrame(page, ui, { timeout: 15_000 });
    } catch (err) {
      // Seen about once in four full runs: code-server restores the panel's tab (and calls the
      // serializer) but leaves its frame empty. Reload Webviews fills it; the chat is the same.
      ui.log(`the restored chat panel stayed empty (${String(err).slice(0, 120)}); Developer: Reload Webviews`);
      await ui.runCommand(page, 'Developer: Reload Webviews');
      await panelTab.click();
      again = await panelFrame(page, ui, { timeout: 20_000 });
    }
    await again.locator('.tab', { hasText: 'coder' }).click();
    await again.locator('.msg.in', { hasText: 'live in both places' }).waitFor({ timeout: 20_000 });
    await screenshot('panel-after-reload');
  } finally {
    // Closed even when this test fails: the tests after it in this file share the window, and a
    // chat panel left open is a second chat webview there.
    await ui.runCommand(page, 'View: Close All Editors').catch(() => {});
    await panelTab.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  }
};

/**
 * The content frame of the chat panel in the editor area: of the PeerChat webviews, the one
 * whose frame lies right of the side bar.
 */
async function panelFrame(page, ui, { timeout = 30_000 } = {}) {
  const sidebar = await page.locator('.part.sidebar').boundingBox();
  const right = sidebar ? sidebar.x + sidebar.width : 0;
  const frames = page.locator(ui.WEBVIEW_IFRAME);
  const deadline = Date.now() + timeout;
  for (;;) {
    const n = await frames.count();
    for (let i = 0; i < n; i++) {
      const box = await frames.nth(i).boundingBox().catch(() => null);
      if (box && box.width > 0 && box.x >= right - 1) return ui.chatFrame(page, { index: i, timeout, anyWebview: true });
    }
    if (Date.now() > deadline) {
      const all = await page.locator('iframe.webview').evaluateAll((fs) => fs.map((f) => `${f.className} ${JSON.stringify(f.getBoundingClientRect())} ${f.getAttribute('src')?.slice(0, 80)}`));
      throw new Error(`no PeerChat webview in the editor area (side bar ends at ${right}): ${all.join('; ')}`);
    }
    await ui.sleep(200);
  }
}

/** @param {SpecContext} t */
exports['hostile Markdown from a peer runs nothing, loads nothing, and opens no path outside the workspace'] = async ({ page, port, ui, screenshot }) => {
  // Every request to this server would be the webview (or VS Code) loading something a peer named.
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    res.end('no');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  ui.onCleanup(() => server.close());
  const web = `http://127.0.0.1:${/** @type {import("net").AddressInfo} */ (server.address()).port}`;
  const hostile = [
    `![tracker](${web}/img.png) and ![](${web}/bare.png)`,
    `[click me](javascript:document.title='pwned-md') <javascript:document.title='pwned-auto'>`,
    `[close](command:workbench.action.closeWindow) [data](data:text/html,<script>parent.document.title='pwned-data'</script>) [file](file:///etc/passwd) [vs](vscode://peerchat/x)`,
    `<img src="${web}/raw.png" onerror="document.title='pwned-raw'"><script>document.title='pwned-script'</script>`,
    `[nested [brackets [deep](${web}/nested)](x)](y) ${'['.repeat(500)}`,
    `${'> '.repeat(2000)}deep quote`,
    `${'- '.repeat(2000)}deep list`,
    ['| a | b |', '|---|---|', ...Array.from({ length: 300 }, (_, i) => `| ${i} | <b onclick="x">${i}</b> |`)].join('\n'),
    ['```ts" onmouseover="document.title=\'pwned-info\' ../../../../etc/passwd:1-2', 'root:x:0:0', '```'].join('\n'),
    ['```sh /etc/passwd:1', 'root', '```'].join('\n'),
  ];
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Chat');
  await ui.waitForListening(port);
  for (const text of hostile) await classicSend(port, `127.0.0.1:47998 trudy ${text}`);
  const chat = await ui.chatFrame(page);
  await chat.locator('.tab', { hasText: 'Everyone' }).click();
  const trudy = chat.locator('.msg.in', { has: chat.locator('.name', { hasText: 'trudy' }) });
  await trudy.filter({ hasText: 'root' }).filter({ has: chat.locator('.code-block') }).last().waitFor({ timeout: 15_000 });
  assert.strictEqual(await trudy.count() >= hostile.length, true, `every hostile message shows (${await trudy.count()})`);
  const frame = await ui.chatFrameHandle(page);
  const report = await frame.evaluate(() => ({
    title: document.title,
    tags: ['img', 'script', 'iframe', 'svg', 'style', 'object', 'embed', 'form', 'b'].filter((tag) => document.querySelector(`#log ${tag}, .msg ${tag}`)),
    hrefs: [...document.querySelectorAll('[href], [src], [onclick], [onerror], [onmouseover]')].filter((e) => !['LINK', 'SCRIPT'].includes(e.tagName) || e.closest('.msg')).map((e) => e.outerHTML.slice(0, 120)),
    links: [...document.querySelectorAll('.msg a.link:not(.location)')].map((a) => /** @type {HTMLElement} */ (a).title),
  }));
  assert.ok(!/pwned/.test(report.title), `nothing ran: title ${report.title}`);
  assert.deepStrictEqual(report.tags, [], 'no element a peer named');
  assert.deepStrictEqual(report.hrefs, [], 'no href, src or handler in a message');
  for (const l of report.links) assert.match(l, /^http:\/\/127\.0\.0\.1:\d+\//, `only web links are links: ${l}`);
  assert.ok(report.links.some((l) => l.endsWith('/img.png')), `an image is a link to its address, never fetched: ${report.links.join(', ')}`);
  // Clicking an image's link asks first (VS Code's own dialog); cancelling loads nothing.
  await chat.locator('a.link.image-link', { hasText: 'tracker' }).click();
  const dialog = page.locator('.monaco-dialog-box', { hasText: '127.0.0.1' });
  await dialog.waitFor({ timeout: 10_000 });
  await screenshot('hostile-markdown-asks');
  await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 5000 });
  // A snippet naming a path outside the workspace: Open is refused with the reason, nothing opens.
  const outside = chat.locator('.code-block', { has: chat.locator('.code-label', { hasText: '/etc/passwd:1' }) });
  // Its status is asked for once it is on screen: scroll to it, as a user would.
  await outside.scrollIntoViewIfNeeded();
  await outside.locator('.code-status.status-refused').waitFor({ timeout: 10_000 });
  assert.strictEqual(await outside.getByRole('button', { name: 'Open', exact: true }).count(), 0, 'no Open for a refused path');
  await screenshot('hostile-markdown');
  // The view still answers: a message after the flood of nesting shows at once.
  await classicSend(port, '127.0.0.1:47998 trudy still responsive');
  await trudy.filter({ hasText: 'still responsive' }).waitFor({ timeout: 10_000 });
  assert.deepStrictEqual(requests, [], 'nothing was requested from the web server a peer named');
  assert.strictEqual(await page.locator('.tabs-container .tab', { hasText: 'passwd' }).count(), 0, 'no file outside the workspace opened');
};

/** @param {SpecContext} t */
exports['rows drawn plain to keep a burst fast become Markdown when scrolled to'] = async ({ page, port, ui }) => {
  const n = 80;
  for (let i = 0; i < n; i++) await classicSend(port, `127.0.0.1:47997 bursty **bold ${i}** and \`code ${i}\``);
  const chat = await ui.chatFrame(page);
  // Another conversation and back: the whole page of Everyone is drawn at once, only the newest
  // rows (those that fit on screen) as Markdown.
  await chat.locator('.tab', { hasText: 'coder' }).click();
  await chat.locator('.tab', { hasText: 'Everyone' }).click();
  await chat.locator('.msg.in strong', { hasText: `bold ${n - 1}` }).waitFor({ timeout: 15_000 });
  const frame = await ui.chatFrameHandle(page);
  const first = await frame.evaluate(() => {
    const row = [...document.querySelectorAll('.msg.in')].find((r) => (r.textContent || '').includes('bold 0*') || (r.textContent || '').includes('bold 0 '));
    return row ? { plain: !row.querySelector('strong'), text: row.querySelector('.text')?.textContent } : null;
  });
  assert.ok(first, 'the first message of the burst is in the log');
  assert.ok(first.plain, `far above the screen it is still plain text: ${first.text}`);
  // Scrolled to, it becomes Markdown.
  const row = chat.locator('.msg.in', { hasText: /bold 0\b/ });
  await row.scrollIntoViewIfNeeded();
  await row.locator('strong', { hasText: 'bold 0' }).waitFor({ timeout: 10_000 });
  await row.locator('code', { hasText: 'code 0' }).waitFor();
};
