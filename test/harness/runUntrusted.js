#!/usr/bin/env node
// Runs the extension-host suites of test/integration-untrusted/**/*.test.ts inside a real
// VS Code 1.100.3 (code-server + headless Chromium, as runIntegration.js) with workspace trust ON
// and the test folder UNTRUSTED: restricted mode, opened without any dialog (code-server started
// without --disable-workspace-trust; user settings security.workspace.trust.enabled: true,
// .startupPrompt: "never", .emptyWindow: false; the user-data dir is fresh, so nothing is trusted).
//
// The untrusted folder's .vscode/settings.json plays a hostile repository: it sets every peerchat.*
// setting, restricted or not, to something else than the trusted user settings:
//   user (User/settings.json):  peerchat.host 127.0.0.1, peerchat.advertisedAddress 127.0.0.1
//   workspace:                  peerchat.port <free port>, peerchat.host 127.0.0.3,
//                               peerchat.advertisedAddress 127.0.0.3, peerchat.autoStart false,
//                               peerchat.knownPeers ["127.0.0.1:<peer port>"], peerchat.name untrusted_ws
// The "peer" is a TCP server this harness listens with on 127.0.0.1:<peer port> from before
// code-server starts until the end (so a greeting sent at any moment, even before the suite runs,
// is seen); it appends one JSON line per connection (and per chunk received) to a log file that
// the suites read (PEERCHAT_TEST_PEER_PORT / PEERCHAT_TEST_PEER_LOG, also in peerchat-test.json).
// The suite makes one connection of its own that writes PEERCHAT_TEST_PEER_MARKER; the summary
// line at the end counts it apart from any other connection.
//
//   node test/harness/runUntrusted.js            build (npm run build + test bundles), then run
//   node test/harness/runUntrusted.js --no-build  use the existing dist/ and out/ (npm test)
//
// Env: PEERCHAT_TEST_GREP, PEERCHAT_TEST_TIMEOUT, PEERCHAT_UNTRUSTED_TIMEOUT (whole run ms,
//      default 120000).
// Prints `untrusted: N passed, N failed` last; exits non-zero on any failure.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const h = require('./vscodeWeb');
const { buildUntrustedTests, UNTRUSTED_OUT } = require('./buildTests');
const { runLayerCli } = require('./extensionTests');

/** What trust.test.ts writes on its own connection to the watched peer (PEERCHAT_TEST_PEER_MARKER). */
const MARKER = 'marker from the test (not the node)';

/** The peer the workspace names in knownPeers: listens on 127.0.0.1, logs every connection. */
async function startWatchedPeer() {
  const dir = h.tempDir('untrusted-peer');
  h.onCleanup(() => h.rmrf(dir));
  const logFile = path.join(dir, 'connections.jsonl');
  fs.writeFileSync(logFile, '');
  const record = (entry) => fs.appendFileSync(logFile, `${JSON.stringify({ at: Date.now(), ...entry })}\n`);
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    record({ event: 'connection', from });
    h.log(`the knownPeers address got a connection from ${from}`);
    socket.on('data', (chunk) => record({ event: 'data', from, text: chunk.toString('utf8').slice(0, 500) }));
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(2000, () => socket.destroy());
  });
  await /** @type {Promise<void>} */ (
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, h.HOST, () => resolve());
    })
  );
  h.onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await /** @type {Promise<void>} */ (new Promise((r) => server.close(() => r())));
  });
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  // The summary tells the suite's own marker connection (trust.test.ts connects and writes
  // MARKER, to prove the log is up to date) from any other, which only the node could have made.
  const report = () => {
    const entries = fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const connections = entries.filter((e) => e.event === 'connection').map((e) => e.from);
    const markers = new Set(entries.filter((e) => e.event === 'data' && e.text === MARKER).map((e) => e.from));
    const ours = connections.filter((from) => markers.has(from)).length;
    const others = connections.length - ours;
    h.log(
      `the knownPeers address (${h.HOST}:${port}) got ${connections.length} connection(s) during the run: ` +
        `${ours} the test's own marker connection(s), ${others} other (from the node, if any; expected 0)`,
    );
  };
  return { port, logFile, report };
}

runLayerCli({
  layer: 'untrusted',
  build: buildUntrustedTests,
  outDir: UNTRUSTED_OUT,
  untrusted: true,
  timeoutEnv: 'PEERCHAT_UNTRUSTED_TIMEOUT',
  defaultTimeoutMs: 120_000,
  async prepare() {
    const peer = await startWatchedPeer();
    return {
      userSettings: {
        'peerchat.host': h.HOST,
        'peerchat.advertisedAddress': h.HOST,
      },
      workspaceSettings: {
        // peerchat.port: createWorkspace's free port
        'peerchat.host': '127.0.0.3',
        'peerchat.advertisedAddress': '127.0.0.3',
        'peerchat.knownPeers': [`${h.HOST}:${peer.port}`],
        'peerchat.autoStart': false,
        'peerchat.name': 'untrusted_ws',
        // Announcing on the LAN is the user's choice, not a repository's (the user says "off").
        'peerchat.discovery': 'lan',
      },
      env: { PEERCHAT_TEST_PEER_PORT: String(peer.port), PEERCHAT_TEST_PEER_LOG: peer.logFile, PEERCHAT_TEST_PEER_MARKER: MARKER },
      testInfo: { peerPort: peer.port, peerLog: peer.logFile, peerMarker: MARKER },
      afterRun: peer.report,
    };
  },
});
