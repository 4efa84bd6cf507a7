// PeerChat to PeerChat as a user sees it: connect to a terminal peer from the palette, the Peers
// view says "native", a message typed in the chat shows delivered then read, a message to a peer
// that is away shows queued (with Cancel) and is delivered when it returns.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const assert = require('assert');
const { connectTerminalPeer, terminalPeer, typeInComposer } = require('./support/peers');

/** @param {SpecContext} t */
exports['Connect to Peer… to a PeerChat terminal peer opens a native session, shown in the Peers view'] = async (t) => {
  const { cli, cliPort, row } = await connectTerminalPeer(t, 'termi');
  assert.match(await row.innerText(), new RegExp(`127\\.0\\.0\\.1:${cliPort}`));
  await t.screenshot('native-peer');
  cli.send('/quit');
  await cli.waitFor((e) => e.type === 'bye', 5000, 'bye');
};

/** @param {SpecContext} t */
exports['a message shows delivered and read; one sent while the peer is away shows queued, then goes'] = async (t) => {
  const { page, port, ui, screenshot } = t;
  const { cli: first, cliPort, data, row } = await connectTerminalPeer(t, 'tessa');
  const chat = await ui.chatFrame(page);
  // Its conversation is open (and stays, being the one on screen) before the peer leaves.
  await chat.locator('.tab', { hasText: 'tessa' }).click();
  first.send('/quit');
  await first.waitFor((e) => e.type === 'bye', 5000, 'bye');
  // The node has seen it go: the Peers view no longer says connected.
  await ui.viewPane(page, 'Peers').locator('.monaco-list-row', { hasText: 'tessa' }).filter({ hasNotText: '· connected' }).waitFor({ timeout: 15_000 });
  // The peer is away: the message waits, visibly.
  await typeInComposer(chat, 'waiting for you');
  const queuedMsg = chat.locator('.msg.out', { hasText: 'waiting for you' });
  await queuedMsg.locator('.state-queued').waitFor({ timeout: 10_000 });
  await queuedMsg.locator('button', { hasText: 'Cancel' }).waitFor();
  await screenshot('queued');
  // It comes back with the same identity (same --data): the outbox empties, receipts come in.
  const cli = await terminalPeer(ui, cliPort, data, 'tessa');
  const got = await cli.waitFor((e) => e.type === 'message' && e.text === 'waiting for you', 30_000, 'the queued message');
  assert.ok(got.origin, 'a native message names its origin node');
  await queuedMsg.locator('.state-delivered, .state-read').waitFor({ timeout: 15_000 });
  await row.locator('text=/native · connected/').waitFor({ timeout: 10_000 });
  await typeInComposer(chat, 'and now live');
  await cli.waitFor((e) => e.type === 'message' && e.text === 'and now live', 10_000, 'the live message');
  await chat.locator('.msg.out', { hasText: 'and now live' }).locator('.state-read').waitFor({ timeout: 10_000 });
  // A reply from the terminal peer lands in the same conversation.
  cli.send(`/send 127.0.0.1:${port} reply from the terminal`);
  await chat.locator('.msg.in', { hasText: 'reply from the terminal' }).waitFor({ timeout: 10_000 });
  await screenshot('delivered-read');
  cli.send('/quit');
};
