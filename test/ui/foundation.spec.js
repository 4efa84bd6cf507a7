// Foundation UI spec: what a user sees first. The PeerChat tab in the activity bar opens its
// container with the Chat webview and the Peers view, and a command runs from the palette.
// Each export is one test; they run in order on the same workbench page.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');

/** @param {SpecContext} t */
exports['the PeerChat activity-bar tab exists and opens'] = async ({ page, ui, screenshot }) => {
  const tab = ui.peerChatTab(page);
  await tab.waitFor({ state: 'visible' });
  await ui.openPeerChat(page);
  assert.strictEqual(await tab.getAttribute('aria-selected'), 'true');
  await screenshot('container-open');
};

/** @param {SpecContext} t */
exports['the Peers view and the Chat webview appear, and the webview script runs'] = async ({ page, port, ui, screenshot }) => {
  await ui.openPeerChat(page);
  await ui.expandView(page, 'Peers');
  await ui.expandView(page, 'Chat');
  await ui.viewPane(page, 'Peers').waitFor({ state: 'visible' });
  await ui.chatFrame(page);
  const frame = await ui.chatFrameHandle(page);
  // The static HTML has empty #self and #tabs: only webview.js fills them, the tabs always with
  // Everyone first and the header from the host's `init` (this node's address), and it sets the
  // `peerchat:first-render` mark once it drew that. A webview whose script did not run, or never
  // heard from the extension, shows none of these.
  const ran = await frame
    .waitForFunction(
      (address) => {
        const tab = document.querySelector('#tabs .tab[data-conversation="everyone"]');
        const who = document.querySelector('#self .who');
        return (
          tab !== null &&
          // (its label: an unread badge from messages of earlier specs may follow it)
          tab.querySelector('.label')?.textContent === 'Everyone' &&
          who !== null &&
          (who.textContent || '').endsWith(`@ ${address}`) &&
          performance.getEntriesByName('peerchat:first-render', 'mark').length === 1
        );
      },
      `127.0.0.1:${port}`,
      { timeout: 20_000 },
    )
    .then(() => true)
    .catch(() => false);
  const seen = await frame.evaluate(() => ({
    tabs: Array.from(document.querySelectorAll('#tabs .tab')).map((t) => t.textContent),
    self: document.querySelector('#self')?.textContent,
    marks: performance.getEntriesByType('mark').map((m) => m.name),
  }));
  assert.ok(ran, `webview.js did not render the chat (tabs, header, first-render mark): ${JSON.stringify(seen)}`);
  await screenshot('views');
};

/** @param {SpecContext} t */
exports['a command runs from the Command Palette'] = async ({ page, port, ui, screenshot }) => {
  await ui.dismissNotifications(page);
  await ui.runCommand(page, 'PeerChat: Copy My Address');
  const toast = await ui.waitForNotification(page, /copied/i);
  const text = await toast.innerText();
  assert.ok(text.includes(`:${port}`), `the notification does not mention port ${port}: ${text}`);
  await screenshot('copy-my-address');
};
