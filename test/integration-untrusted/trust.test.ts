// Workspace trust (issue 5): in an untrusted workspace (restricted mode) VS Code ignores the
// workspace values of the settings package.json lists in capabilities.untrustedWorkspaces
// .restrictedConfigurations, so a hostile repository's .vscode/settings.json cannot make the node
// bind elsewhere, advertise another address, greet an address of its choosing, or not start.
//
// Run by test/harness/runUntrusted.js, which opens the folder untrusted and writes:
//   user settings (trusted):  peerchat.host / peerchat.advertisedAddress = 127.0.0.1
//   workspace (untrusted):    peerchat.port = PEERCHAT_TEST_PORT, peerchat.host / advertisedAddress
//                             = 127.0.0.3, peerchat.knownPeers = ["127.0.0.1:PEERCHAT_TEST_PEER_PORT"],
//                             peerchat.autoStart = false, peerchat.name = "untrusted_ws",
//                             peerchat.discovery = "lan" (the user's: "off")
// The harness listens on the knownPeers address from before code-server starts and logs every
// connection to PEERCHAT_TEST_PEER_LOG.
import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as vscode from 'vscode';
import { testEnv } from '../integration/support/testEnv';
import { until } from '../support/until';

const EXTENSION_ID = 'peerchat.peerchat';
const HOST = '127.0.0.1';

interface NodeLike {
  status: { state: string; address?: string };
  address: string;
  name: string;
  discoveryMode: string;
  peerViews(): { address: string }[];
}

interface PeerChatExports {
  node: NodeLike;
  started: Promise<void>;
}

/** The harness's watched peer: its port and the file it logs connections to. */
function peerInfo(): { peerPort: number; peerLog: string; peerMarker: string } {
  let file: { peerPort?: number; peerLog?: string; peerMarker?: string } = {};
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) {
    try {
      file = JSON.parse(fs.readFileSync(path.join(folder, '.vscode', 'peerchat-test.json'), 'utf8'));
    } catch {
      /* the environment variables are enough */
    }
  }
  const peerPort = Number(process.env.PEERCHAT_TEST_PEER_PORT || file.peerPort);
  const peerLog = process.env.PEERCHAT_TEST_PEER_LOG || file.peerLog || '';
  // What our own marker connection writes: the harness's summary counts that connection apart.
  const peerMarker = process.env.PEERCHAT_TEST_PEER_MARKER || file.peerMarker || '';
  assert.ok(Number.isInteger(peerPort) && peerPort > 0 && peerLog && peerMarker, 'no watched peer: run this suite with test/harness/runUntrusted.js');
  return { peerPort, peerLog, peerMarker };
}

/** Connections the watched peer received so far (one JSON object per line). */
function peerConnections(peerLog: string): { at: number; event: string; from: string; text?: string }[] {
  return fs
    .readFileSync(peerLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Whether a socket LISTENs on ip:port, read from /proc/net/tcp (never connects). */
function listensOn(ip: string, port: number): boolean {
  const hex = ip
    .split('.')
    .map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
  const want = `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const text = fs.readFileSync('/proc/net/tcp', 'utf8');
  return text
    .split('\n')
    .slice(1)
    .some((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[1] === want && cols[3] === '0A';
    });
}

/**
 * Makes a connection of the test's own to the watched peer, writes `text` and waits until the
 * peer's log shows it. The peer logs connections in the order it accepts them, so any connection
 * made before this one (the node greeting knownPeers at start) is in the log by then. Resolves
 * with the `from` the log uses for this connection.
 */
async function markWatchedPeer(peerPort: number, peerLog: string, text: string): Promise<string> {
  const s = net.connect(peerPort, HOST);
  s.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  const from = `${s.localAddress}:${s.localPort}`;
  s.end(text);
  try {
    await until(`the watched peer to log our marker connection from ${from}`, () => peerConnections(peerLog).some((c) => c.event === 'data' && c.from === from && c.text === text), 5000, () =>
      JSON.stringify(peerConnections(peerLog)),
    );
  } finally {
    s.destroy();
  }
  return from;
}

suite('workspace trust: untrusted workspace', () => {
  let api: PeerChatExports;

  suiteSetup(async function () {
    this.timeout(30_000);
    const ext = vscode.extensions.getExtension<PeerChatExports>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed in the extension host`);
    api = await ext.activate();
    await api.started;
  });

  test('the workspace is not trusted (restricted mode)', () => {
    assert.strictEqual(vscode.workspace.isTrusted, false);
  });

  test('restricted settings ignore the workspace values and fall back to user settings / defaults', () => {
    const c = vscode.workspace.getConfiguration('peerchat');
    assert.strictEqual(c.get<string>('host'), HOST, 'peerchat.host (user 127.0.0.1, workspace 127.0.0.3)');
    assert.strictEqual(c.get<string>('advertisedAddress'), HOST, 'peerchat.advertisedAddress (user 127.0.0.1, workspace 127.0.0.3)');
    assert.deepStrictEqual(c.get<string[]>('knownPeers'), [], 'peerchat.knownPeers (default [], workspace names the watched peer)');
    assert.strictEqual(c.get<boolean>('autoStart'), true, 'peerchat.autoStart (default true, workspace false)');
    assert.strictEqual(c.get<string>('discovery'), 'off', 'peerchat.discovery (user off, workspace lan)');
    assert.strictEqual(api.node.discoveryMode, 'off', 'the node announces nothing');
  });

  test('settings that are not restricted take the workspace values', () => {
    const { port } = testEnv();
    const c = vscode.workspace.getConfiguration('peerchat');
    assert.strictEqual(c.get<number>('port'), port, 'peerchat.port (not restricted: workspace value)');
    assert.strictEqual(c.get<string>('name'), 'untrusted_ws', 'peerchat.name (not restricted: workspace value)');
  });

  test('the node started (autoStart) and listens on 127.0.0.1:<workspace port>, advertising 127.0.0.1', () => {
    const { port } = testEnv();
    assert.deepStrictEqual(api.node.status, { state: 'listening', address: `${HOST}:${port}` });
    assert.strictEqual(api.node.address, `${HOST}:${port}`);
    assert.strictEqual(api.node.name, 'untrusted_ws');
    assert.ok(listensOn(HOST, port), `nothing listens on ${HOST}:${port} (/proc/net/tcp)`);
    assert.ok(!listensOn('127.0.0.3', port), `something listens on 127.0.0.3:${port}: the workspace host was used`);
  });

  test('the node does not greet the address the workspace put in knownPeers', async function () {
    this.timeout(10_000);
    const { peerPort, peerLog, peerMarker } = peerInfo();
    const target = `${HOST}:${peerPort}`;
    // The node would greet knownPeers right after it started (before api.started resolved): a
    // connection of ours logged after it proves such a greeting would be in the log by now.
    const ours = await markWatchedPeer(peerPort, peerLog, peerMarker);
    console.log(`    (the watched peer's log has one connection of the test's own, from ${ours}: the marker)`);
    const seen = peerConnections(peerLog).filter((c) => c.from !== ours);
    assert.deepStrictEqual(seen, [], `the knownPeers address ${target} was contacted: ${JSON.stringify(seen)}`);
    const views = api.node.peerViews().map((p) => p.address);
    assert.ok(!views.includes(target), `${target} is in the peer table: ${views.join(', ')}`);
  });
});
