// Two PeerChat nodes natively: this window's node and a terminal peer (dist/cli.js) in its own
// process. Receipts, the outbox across the peer's restart, the Peers view's protocol column.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PeerChatApi } from '../../src/extension';
import { freePort } from '../support/freePort';
import { Cli } from './support/cli';
import { startedPeerChat, untilDescribed } from './support/peerchat';

let describeState: () => string = () => '';

const until = untilDescribed(() => describeState());

suite('native: this window ↔ a terminal peer', () => {
  let api: PeerChatApi;
  let cliPath: string;
  const clis: Cli[] = [];
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-int-cli-'));

  suiteSetup(async function () {
    this.timeout(30_000);
    ({ api, cliPath } = await startedPeerChat()); // api stays current across the chat suite's reload
  });

  suiteTeardown(async () => {
    await Promise.all(clis.map((c) => c.quit()));
    fs.rmSync(data, { recursive: true, force: true });
  });

  test('Connect makes a native session; a message is delivered with a receipt; the Peers view says native; the outbox survives the peer and this window restarting', async function () {
    this.timeout(80_000);
    const node = api.node;
    assert.strictEqual(node.status.state, 'listening');
    describeState = () => `history: ${JSON.stringify(node.getHistory().slice(-3).map((m) => [m.direction, m.text, m.state, m.error]))}; peers: ${JSON.stringify(node.peerViews())}`;
    const port = await freePort();
    const args = ['--port', String(port), '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--name', 'termi', '--data', data, '--json'];
    let cli = new Cli(cliPath, args);
    clis.push(cli);
    await cli.waitFor((e) => e.type === 'listening', 8000, 'listening');
    const address = `127.0.0.1:${port}`;

    const r = (await vscode.commands.executeCommand('peerchat.connect', address)) as { ok: boolean; error?: string };
    assert.ok(r.ok, r.error);
    const peer = await until('native peer', () => node.peers.get(address)?.protocol === 'native' && node.peers.get(address));
    assert.strictEqual(peer.name, 'termi');
    assert.strictEqual(peer.state, 'connected');
    const tree = api.peersTree;
    const row = tree.peerRows().find((p) => p.address === address);
    assert.ok(row);
    assert.match(String(tree.getTreeItem(row).description), /native/);
    assert.match(String(tree.getTreeItem(row).tooltip), /Node id: [0-9a-f]{8}/);

    const sent = (await vscode.commands.executeCommand('peerchat.sendMessage', address, 'native hello from VS Code')) as { ok: boolean; id: string };
    assert.ok(sent.ok);
    const got = await cli.waitFor((e) => e.type === 'message' && e.text === 'native hello from VS Code', 8000, 'the message');
    assert.strictEqual(got.origin, node.nodeId);
    // The terminal peer prints what it receives, so it also sends a read receipt: read follows delivered.
    const receipted = (id: string) => ['delivered', 'read'].includes(node.getHistory().find((m) => m.id === id)?.state ?? '');
    await until('delivered', () => receipted(sent.id));

    // The peer goes away; a message waits in the outbox (on disk) and goes when it is back.
    await cli.quit();
    await until('peer noticed away', () => node.peers.get(address)?.state !== 'connected');
    const queued = (await vscode.commands.executeCommand('peerchat.sendMessage', address, 'sent while you were away')) as { ok: boolean; id: string; queued?: boolean };
    assert.ok(queued.ok && queued.queued, 'queued while the peer is away');
    assert.strictEqual(node.getHistory().find((m) => m.id === queued.id)?.state, 'queued');
    assert.ok(node.outboxEntries().some((e) => e.message.id === queued.id));
    cli = new Cli(cliPath, args);
    clis.push(cli);
    await cli.waitFor((e) => e.type === 'message' && e.text === 'sent while you were away', 20_000, 'the queued message');
    await until('delivered after return', () => receipted(queued.id), 10_000);
    assert.strictEqual(cli.events.filter((e) => e.type === 'message' && e.text === 'sent while you were away').length, 1, 'exactly once');

    // Now this window restarts while the peer is away: the queued message survives on disk and
    // goes when both are back (what a VS Code reload or restart does to the extension).
    await cli.quit();
    await until('peer away again', () => node.peers.get(address)?.state !== 'connected');
    const waiting = (await vscode.commands.executeCommand('peerchat.sendMessage', address, 'queued across a reload')) as { ok: boolean; id: string; queued?: boolean };
    assert.ok(waiting.queued, 'queued while the peer is away');
    const reloaded = await api.reload();
    await reloaded.started;
    const node2 = reloaded.node;
    assert.notStrictEqual(node2, node, 'a new node after the reload');
    assert.ok(node2.outboxEntries().some((e) => e.message.id === waiting.id), 'the outbox came back from disk');
    assert.strictEqual(node2.getHistory().find((m) => m.id === waiting.id)?.state, 'queued');
    cli = new Cli(cliPath, args);
    clis.push(cli);
    await cli.waitFor((e) => e.type === 'message' && e.text === 'queued across a reload', 20_000, 'the message queued before the reload');
    await until('delivered after the reload', () => ['delivered', 'read'].includes(node2.getHistory().find((m) => m.id === waiting.id)?.state ?? ''), 10_000);
    assert.strictEqual(cli.events.filter((e) => e.type === 'message' && e.text === 'queued across a reload').length, 1, 'exactly once');
  });
});
