// Trust between nodes in the real extension host: a native peer (the terminal peer, its own
// process and key) is encrypted, both sides compute the same safety number, a verified mark shows
// in the Peers view and survives a reload; a classic program is shown unencrypted.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { PeerChatApi } from '../../src/extension';
import { classicReceiver } from '../support/classicReceiver';
import { freePort } from '../support/freePort';
import { Cli } from './support/cli';
import { startedPeerChat, untilDescribed } from './support/peerchat';

const SAFETY = /^\d{5}( \d{5}){11}$/;
const FINGERPRINT = /^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/;

let describeState: () => string = () => '';

/** The parts of a Peers row's description (address · protocol · state · security), in any order. */
function parts(item: vscode.TreeItem): string[] {
  return String(item.description).split(' · ');
}

const until = untilDescribed(() => describeState());

suite('trust: encrypted, verified, unencrypted', () => {
  let api: PeerChatApi;
  let cliPath: string;
  const clis: Cli[] = [];
  const dirs: string[] = [];

  suiteSetup(async function () {
    this.timeout(30_000);
    ({ api, cliPath } = await startedPeerChat());
    describeState = () => `peers: ${JSON.stringify(api.node.peerViews())}`;
  });

  suiteTeardown(async () => {
    await Promise.all(clis.map((c) => c.quit()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A terminal peer of this test's own (fresh key, free port), listening. */
  async function terminalPeer(name: string): Promise<{ cli: Cli; address: string; nodeId: string; fingerprint: string }> {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'peerchat-int-trust-'));
    dirs.push(data);
    const port = await freePort();
    const cli = new Cli(cliPath, ['--port', String(port), '--host', '127.0.0.1', '--advertise', '127.0.0.1', '--name', name, '--data', data, '--json']);
    clis.push(cli);
    const listening = await cli.waitFor((e) => e.type === 'listening', 8000, 'listening');
    return { cli, address: `127.0.0.1:${port}`, nodeId: String(listening.nodeId), fingerprint: String(listening.fingerprint) };
  }

  function rowOf(address: string): vscode.TreeItem {
    const tree = api.peersTree;
    const row = tree.peerRows().find((p) => p.address === address);
    assert.ok(row, `the Peers view lists ${address}`);
    return tree.getTreeItem(row);
  }

  test('Copy My Fingerprint returns and copies this node\'s fingerprint', async () => {
    const fp = (await vscode.commands.executeCommand('peerchat.copyMyFingerprint')) as string;
    assert.match(fp, FINGERPRINT);
    assert.strictEqual(fp, api.node.fingerprint);
    assert.strictEqual(await vscode.env.clipboard.readText(), fp);
    assert.ok(api.peersTree.describeSelf().endsWith(` · key ${fp}`), `the Peers view shows it beside its title: ${api.peersTree.describeSelf()}`);
  });

  test('a native peer is encrypted, both sides see the same safety number, and the verified mark shows and survives a reload', async function () {
    this.timeout(60_000);
    const peer = await terminalPeer('trusty');
    assert.match(peer.fingerprint, FINGERPRINT);
    assert.match(peer.nodeId, /^[0-9a-f]{64}$/);
    const r = (await vscode.commands.executeCommand('peerchat.connect', peer.address)) as { ok: boolean; error?: string };
    assert.ok(r.ok, r.error);
    const view = await until('the native session', () => api.node.peerViews().find((p) => p.address === peer.address && p.protocol === 'native' && p.state === 'connected'));
    assert.strictEqual(view.encrypted, true);
    assert.strictEqual(view.verified, false);
    assert.strictEqual(view.nodeId, peer.nodeId, 'the node id the peer proved is the one it prints');
    assert.strictEqual(view.fingerprint, peer.fingerprint, 'the fingerprint shown is the one the peer prints');
    assert.ok(!view.identityChanged);

    const item = rowOf(peer.address);
    assert.ok(parts(item).includes('encrypted'), `the row says encrypted: ${item.description}`);
    assert.ok(parts(item).includes('connected'), `the row says connected: ${item.description}`);
    assert.doesNotMatch(String(item.description), /verified|unencrypted/);
    assert.match(String(item.contextValue), /^peer\.connected\.native$/);
    assert.match(String(item.tooltip), /Encrypted \(TLS 1\.3, key proven\)/);
    assert.ok(String(item.tooltip).includes(peer.fingerprint), 'the tooltip names the fingerprint');

    // The same twelve groups on both sides.
    const ours = api.node.safetyNumber(peer.address);
    assert.match(ours.number, SAFETY);
    assert.strictEqual(ours.nodeId, peer.nodeId);
    const since = peer.cli.events.length;
    peer.cli.send(`/verify ${api.node.address}`);
    const theirs = await peer.cli.waitFor((e) => e.type === 'safety', 8000, 'safety number', since);
    assert.strictEqual(theirs.nodeId, api.node.nodeId, 'the peer proved our key');
    assert.strictEqual(theirs.number, ours.number, 'both sides compute the same safety number');

    // Marked verified: the row says so, and so it stays after a reload (read back from disk).
    const rec = api.node.setVerified(peer.address, true);
    assert.strictEqual(rec.verified, true);
    await until('the row says verified', () => /(^| · )encrypted · verified ✓( · |$)/.test(String(rowOf(peer.address).description)));
    assert.strictEqual(api.node.peerViews().find((p) => p.address === peer.address)?.verified, true);
    assert.match(String(rowOf(peer.address).tooltip), /Verified: you compared safety numbers/);

    const oldNode = api.node;
    const reloaded = await api.reload();
    await reloaded.started;
    assert.notStrictEqual(api.node, oldNode, 'a new node after the reload');
    const after = api.node.peerViews().find((p) => p.address === peer.address);
    assert.ok(after, 'the peer is restored');
    assert.strictEqual(after.verified, true, 'the verified mark came back from disk');
    assert.strictEqual(after.encrypted, true);
    assert.match(String(rowOf(peer.address).description), /encrypted · verified ✓/);
    assert.strictEqual(api.node.safetyNumber(peer.address).number, ours.number, 'the same number after the reload (same keys)');

    // And it can be taken back.
    api.node.setVerified(peer.address, false);
    await until('the row no longer says verified', () => !/verified/.test(String(rowOf(peer.address).description)));
    assert.ok(parts(rowOf(peer.address)).includes('encrypted'), String(rowOf(peer.address).description));
  });

  test('a classic program is shown unencrypted and has no safety number', async function () {
    this.timeout(20_000);
    const peer = await classicReceiver();
    try {
      const r = (await vscode.commands.executeCommand('peerchat.connect', peer.addr)) as { ok: boolean; error?: string };
      assert.ok(r.ok, r.error);
      await peer.next(); // its greeting arrived: it is a classic receiver
      const view = await until('the classic peer', () => api.node.peerViews().find((p) => p.address === peer.addr && p.protocol === 'classic'));
      assert.strictEqual(view.encrypted, false);
      assert.strictEqual(view.verified, false);
      assert.strictEqual(view.fingerprint, undefined);
      const item = rowOf(peer.addr);
      assert.ok(parts(item).includes('unencrypted'), `the row says unencrypted: ${item.description}`);
      assert.doesNotMatch(String(item.contextValue), /native/, 'no Verify Peer… in its context menu');
      assert.match(String(item.tooltip), /Unencrypted: classic programs send plain text/);
      assert.throws(() => api.node.safetyNumber(peer.addr), /classic peer/);
      assert.throws(() => api.node.setVerified(peer.addr, true), /classic peer/);
    } finally {
      await peer.close();
      await vscode.commands.executeCommand('peerchat.removePeer', peer.addr);
    }
  });
});
