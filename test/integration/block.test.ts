// Block Peer in the real extension host: peerchat.blockPeer on a Peers row (what the row's
// context menu passes) blocks it, the Peers view stops listing it, what claims its address is not
// shown and it is not dialed; peerchat.unblockPeer brings it back. A PeerChat peer (the terminal
// peer, its own key) is blocked by its key.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PeerView } from '../../src/core/chatTypes';
import type { BlockResult } from '../../src/core/node';
import type { PeerChatApi } from '../../src/extension';
import { classicReceiver } from '../support/classicReceiver';
import { freePort } from '../support/freePort';
import { rawSend } from '../support/rawSend';
import { Cli } from './support/cli';
import { startedPeerChat, untilDescribed } from './support/peerchat';

let describeState: () => string = () => '';

const until = untilDescribed(() => describeState());

suite('block: Block Peer and Unblock Peer', () => {
  let api: PeerChatApi;
  let cliPath: string;
  const clis: Cli[] = [];
  const dirs: string[] = [];

  suiteSetup(async function () {
    this.timeout(30_000);
    ({ api, cliPath } = await startedPeerChat());
    describeState = () => `peers: ${JSON.stringify(api.node.peerViews())}; blocked: ${JSON.stringify(api.node.blocked())}`;
  });

  suiteTeardown(async () => {
    await Promise.all(clis.map((c) => c.quit()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const listed = (address: string): PeerView | undefined => api.peersTree.peerRows().find((p) => p.address === address);

  test('blocking a classic peer from its row hides it, drops what claims it, never dials it; unblock restores it', async function () {
    this.timeout(30_000);
    const peer = await classicReceiver();
    try {
      await vscode.commands.executeCommand('peerchat.connect', peer.addr);
      await peer.next(); // its greeting
      const row = await until('the classic peer in the Peers view', () => listed(peer.addr));

      const r = (await vscode.commands.executeCommand('peerchat.blockPeer', row)) as BlockResult;
      assert.ok(r, 'the command returns what it blocked');
      assert.strictEqual(r.target, peer.addr);
      assert.deepStrictEqual(r.removed, [peer.addr]);
      assert.strictEqual(listed(peer.addr), undefined, 'the Peers view no longer lists it');
      assert.ok(api.node.blocked().some((b) => b.target === peer.addr));
      assert.ok(fs.existsSync(path.join(api.storageDir, 'blocked.json')), 'the list is stored with the workspace data');

      const port = api.node.listeningPort;
      await rawSend(port, `${peer.addr} blocked-one claimed text`);
      await rawSend(port, `127.0.0.1:1 marker marker-after-block`);
      await until('the marker', () => api.node.getHistory().some((m) => m.text === 'marker-after-block'));
      assert.ok(!api.node.getHistory().some((m) => m.text === 'claimed text'), 'nothing claiming the blocked address is shown');
      assert.strictEqual(await vscode.commands.executeCommand('peerchat.connect', peer.addr), undefined, 'connect is refused (an error toast)');
      assert.strictEqual(peer.got.length, 1, 'no connection reached it after the block');

      const u = (await vscode.commands.executeCommand('peerchat.unblockPeer', peer.addr)) as { restored: string[] } | undefined;
      assert.deepStrictEqual(u?.restored, [peer.addr]);
      await until('listed again', () => listed(peer.addr));
      assert.ok(!api.node.blocked().some((b) => b.target === peer.addr));
    } finally {
      await peer.close();
    }
  });

  test('a PeerChat peer is blocked by its key: its session closes and it leaves the view', async function () {
    this.timeout(30_000);
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-int-block-'));
    dirs.push(data);
    const port = await freePort();
    const cli = new Cli(cliPath, ['--port', String(port), '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--name', 'blockee', '--data', data, '--json']);
    clis.push(cli);
    const listening = await cli.waitFor((e) => e.type === 'listening', 8000, 'listening');
    const address = `127.0.0.1:${port}`;
    await vscode.commands.executeCommand('peerchat.connect', address);
    const row = await until('the native peer', () => listed(address)?.protocol === 'native' && listed(address));

    const r = (await vscode.commands.executeCommand('peerchat.blockPeer', row)) as BlockResult;
    assert.strictEqual(r.target, `node:${String(listening.nodeId)}`);
    assert.strictEqual(listed(address), undefined);
    await until('its session closed', () => api.node.activeResources().sessions === 0);

    await vscode.commands.executeCommand('peerchat.unblockPeer', r.target);
    await until('listed again', () => listed(address));
  });
});
