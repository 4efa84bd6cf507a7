// The chat in the real extension host: commands change the peer table, the tree shows it,
// settings changes move the listener, history survives a deactivate/activate cycle.
import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PeerChatApi } from '../../src/extension';
import { classicReceiver } from '../support/classicReceiver';
import { freePort } from '../support/freePort';
import { rawSend } from '../support/rawSend';
import { until } from '../support/until';
import { testEnv } from './support/testEnv';

const HOST = '127.0.0.1';

async function api(): Promise<PeerChatApi> {
  const ext = vscode.extensions.getExtension<PeerChatApi>('peerchat.peerchat');
  assert.ok(ext, 'extension not installed');
  const a = (ext.isActive ? ext.exports : await ext.activate()) as PeerChatApi;
  await a.started;
  return current ?? a;
}
let current: PeerChatApi | undefined;

suite('chat: node, commands, tree, settings, history', () => {
  suiteSetup(async function () {
    this.timeout(30_000);
    current = await api();
  });

  test('the node listens on the configured port and host', async () => {
    const a = await api();
    assert.strictEqual(a.node.status.state, 'listening');
    assert.strictEqual(a.node.listeningPort, testEnv().port);
    assert.strictEqual(a.node.address, `127.0.0.1:${testEnv().port}`);
  });

  test('Connect, Send, Broadcast, Disconnect and Remove change the peer table and reach the peer', async () => {
    const a = await api();
    const peer = await classicReceiver();
    try {
      const r = (await vscode.commands.executeCommand('peerchat.connect', peer.addr)) as { ok: boolean };
      assert.ok(r.ok);
      assert.match(await peer.next(), new RegExp(`^127\\.0\\.0\\.1:${testEnv().port} \\S+ Hello, I am connecting!$`));
      assert.strictEqual(a.node.peers.get(peer.addr)?.state, 'connected');

      const items = a.peersTree.peerRows();
      const row = items.find((p) => p.address === peer.addr);
      assert.ok(row, 'the Peers view lists the peer');
      const item = a.peersTree.getTreeItem(row);
      assert.strictEqual(item.contextValue, 'peer.connected');
      assert.match(String(item.description), new RegExp(peer.addr.replace(/\./g, '\\.')));

      await vscode.commands.executeCommand('peerchat.sendMessage', peer.addr, 'direct hello');
      assert.match(await peer.next(), / direct hello$/);
      await vscode.commands.executeCommand('peerchat.broadcast', 'hello everyone');
      assert.match(await peer.next(), / hello everyone$/);
      const out = a.node.getHistory().filter((m) => m.direction === 'out').slice(-2);
      assert.deepStrictEqual(out.map((m) => [m.text, m.state]), [['direct hello', 'sent'], ['hello everyone', 'sent']]);

      await vscode.commands.executeCommand('peerchat.disconnect', peer.addr);
      assert.match(await peer.next(), / exit$/);
      assert.strictEqual(a.node.peers.get(peer.addr)?.state, 'known');

      assert.strictEqual(await vscode.commands.executeCommand('peerchat.removePeer', peer.addr), true);
      assert.strictEqual(a.node.peers.get(peer.addr), undefined);
    } finally {
      await peer.close();
    }
  });

  test('a message from a classic peer is in history and its sender in the tree', async () => {
    const a = await api();
    await rawSend(testEnv().port, '127.0.0.1:45999 classmate hi from python');
    const m = await until('the message', () => a.node.getHistory().find((x) => x.text === 'hi from python'));
    assert.strictEqual(m.name, 'classmate');
    assert.ok(a.peersTree.peerRows().some((p) => p.address === '127.0.0.1:45999' && p.name === 'classmate'));
  });

  test('Remove Inactive Peers probes with PING and removes the silent', async () => {
    const a = await api();
    const alive = await classicReceiver();
    // A peer of this test's own that nothing listens for (a port that was free a moment ago).
    const silentPort = await freePort();
    const silent = `${HOST}:${silentPort}`;
    try {
      a.node.peers.upsert({ host: HOST, port: alive.port }, {});
      a.node.peers.upsert({ host: HOST, port: silentPort }, {});
      assert.ok(a.node.peers.get(silent), 'the silent peer is in the table before the probe');
      const r = (await vscode.commands.executeCommand('peerchat.removeInactive')) as { inactive: string[] };
      assert.match(await alive.next(), / PING$/);
      assert.ok(r.inactive.includes(silent), `the peer that never listened is removed: ${JSON.stringify(r.inactive)}`);
      assert.ok(!r.inactive.includes(alive.addr), 'the peer that answered is not');
      assert.ok(a.node.peers.get(alive.addr));
      assert.strictEqual(a.node.peers.get(silent), undefined);
    } finally {
      await alive.close();
    }
  });

  test('changing peerchat.port moves the listener without a reload', async function () {
    this.timeout(20_000);
    const a = await api();
    const cfg = vscode.workspace.getConfiguration('peerchat');
    const old = testEnv().port;
    const next = await freePort();
    try {
      await cfg.update('port', next, vscode.ConfigurationTarget.Workspace);
      await until('the new port', () => a.node.status.state === 'listening' && a.node.listeningPort === next, 10_000);
      await rawSend(next, '127.0.0.1:45998 mover on the new port');
      await until('a message on the new port', () => a.node.getHistory().find((m) => m.text === 'on the new port'));
      await assert.rejects(rawSend(old, '127.0.0.1:45998 mover old'), /ECONNREFUSED/);
    } finally {
      await cfg.update('port', old, vscode.ConfigurationTarget.Workspace);
      await until('the old port again', () => a.node.status.state === 'listening' && a.node.listeningPort === old, 10_000);
    }
  });

  test('a port in use is a clear error, and the node recovers on a free port', async function () {
    this.timeout(20_000);
    const a = await api();
    const cfg = vscode.workspace.getConfiguration('peerchat');
    const old = testEnv().port;
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, HOST, r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      await cfg.update('port', busy, vscode.ConfigurationTarget.Workspace);
      const s = await until('the error state', () => (a.node.status.state === 'error' ? a.node.status : undefined), 10_000);
      assert.strictEqual(s.code, 'ERR_PORT_IN_USE');
      assert.match(s.reason, new RegExp(`could not listen on 127\\.0\\.0\\.1:${busy}: address in use`));
    } finally {
      blocker.close();
      await cfg.update('port', old, vscode.ConfigurationTarget.Workspace);
      await until('listening again', () => a.node.status.state === 'listening' && a.node.listeningPort === old, 10_000);
    }
  });

  test('history and peers survive deactivate/activate', async function () {
    this.timeout(20_000);
    const a = await api();
    await rawSend(testEnv().port, '127.0.0.1:45997 keeper keep this line');
    await until('the message', () => a.node.getHistory().find((m) => m.text === 'keep this line'));
    const oldNode = a.node;
    const b = await a.reload();
    current = b;
    await b.started;
    assert.notStrictEqual(b.node, oldNode, 'a new node was built');
    assert.strictEqual(oldNode.status.state, 'stopped', 'the old node stopped listening');
    assert.deepStrictEqual(oldNode.activeResources(), { listening: false, incoming: 0, sessions: 0, handshaking: 0, timers: 0, dialing: 0 }, 'deactivate left nothing open');
    assert.ok(fs.existsSync(path.join(b.storageDir, 'history.jsonl')));
    assert.ok(b.node.getHistory().some((m) => m.text === 'keep this line'), 'history restored');
    assert.strictEqual(b.node.peers.get('127.0.0.1:45997')?.state, 'known', 'peer restored as known');
    assert.strictEqual(b.node.status.state, 'listening');
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('peerchat.connect'), 'commands registered again');
  });
});
