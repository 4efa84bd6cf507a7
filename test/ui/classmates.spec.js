// Classmates' programs that do not speak the standard form, chatting with the Chat view both
// ways: a line-mode program (persistent connection, every line acknowledged) and a bracket-form
// program (`<IP:PORT> @ <NAME>` / text / `<end>`), each shown under its own name and answered in
// its own form without any setting.
'use strict';

/** @typedef {import('../harness/runUi').SpecContext} SpecContext */

const { typeInComposer } = require('./support/peers');
const assert = require('assert');
const path = require('path');
const { startJsonProcess } = require('./support/jsonProcess');

const FAMILIES = path.join(__dirname, '..', 'interop', 'families');

function family(ui, script, name, extra = []) {
  return startJsonProcess('python3', [path.join(FAMILIES, script), '--host', '127.0.0.1', '--port', '0', '--name', name, ...extra], {
    ready: (e) => e.type === 'listening',
    onCleanup: ui.onCleanup,
  });
}

for (const [label, script, name, extra] of /** @type {[string, string, string, string[]][]} */ ([
  ['a line-mode program', 'linemode.py', 'lineguy', []],
  ['a bracket-form program', 'bracket.py', 'brackets', ['--form', 'at']],
])) {
  /** @param {SpecContext} t */
  exports[`${label} chats with the Chat view both ways`] = async ({ page, port, ui, screenshot }) => {
    const peer = await family(ui, script, name, extra);
    await ui.openPeerChat(page);
    await ui.expandView(page, 'Chat');
    await ui.waitForListening(port);
    peer.send(`send 127.0.0.1:${port} hello from ${name}`);
    const sent = await peer.waitFor((e) => e.type === 'sent', 15_000, 'its send');
    assert.ok(sent.ok, `the ${name} program's send failed: ${JSON.stringify(sent)}`);
    if ('hung' in sent) assert.strictEqual(sent.hung, false, 'the line-mode program got its acknowledgement');
    const chat = await ui.chatFrame(page);
    await chat.locator('.tab', { hasText: 'Everyone' }).click();
    const inMsg = chat.locator('.msg.in', { hasText: `hello from ${name}` });
    await inMsg.waitFor({ timeout: 10_000 });
    assert.strictEqual(await inMsg.locator('.name').innerText(), name);
    // Answer from its conversation: it must display our message in its own form.
    await chat.locator('.tab', { hasText: name }).click();
    await typeInComposer(chat, `hi ${name}, from VS Code`);
    const got = await peer.waitFor((e) => e.type === 'message' && e.text === `hi ${name}, from VS Code`, 10_000, 'our reply');
    assert.ok(!got.kind || got.kind === 'chat', JSON.stringify(got));
    assert.deepStrictEqual(peer.events.filter((e) => e.type === 'rejected'), [], 'it rejected nothing we sent');
    await chat.locator('.msg.out', { hasText: `hi ${name}, from VS Code` }).locator('.state-sent, .state-acked').waitFor({ timeout: 10_000 });
    await screenshot(script.replace('.py', ''));
    peer.stop();
  };
}
