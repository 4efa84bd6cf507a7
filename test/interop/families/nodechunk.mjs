#!/usr/bin/env node
// "Node, chunk = message": the standard form `IP:PORT NAME MSG`, but every `data` chunk is taken
// as one whole message (so two writes that arrive together read as one, and one write split in
// two reads as two), and keywords are matched case-sensitively (`exit`, `PING`).
//
// What it needs from the other side: one write per message; lowercase `exit`.
//
// Same surface as the Python peers (see common.py): --host (loopback only) --port --name
// --advertise --timeout; stdin commands `send HOST:PORT text`, `ping HOST:PORT`, `peers`, `quit`;
// JSON events on stdout: listening, message {kind, text, from, name, remote, chunk}, rejected,
// sent {to, text, wire, ok, error?}, peers, error, bye.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

const FAMILY = 'nodechunk';
const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    name: { type: 'string', default: FAMILY },
    advertise: { type: 'string' },
    timeout: { type: 'string', default: '5' },
  },
});

const isLoopback = (h) => net.isIPv4(h) ? h.startsWith('127.') : h === '::1';
if (!isLoopback(args.host)) {
  console.error(`refusing to bind ${args.host}: reference peers listen on loopback only`);
  process.exit(2);
}
const emit = (e) => process.stdout.write(JSON.stringify({ family: FAMILY, ...e }) + '\n');
const peers = new Map();
let address = '';

const server = net.createServer((socket) => {
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  let chunkNo = 0;
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    chunkNo++;
    const message = chunk.toString('utf8');
    const s1 = message.indexOf(' ');
    const s2 = s1 < 0 ? -1 : message.indexOf(' ', s1 + 1);
    if (s1 < 0 || s2 < 0) {
      emit({ type: 'rejected', reason: 'malformed: expected IP:PORT NAME MESSAGE', data: message, remote });
      return;
    }
    const from = message.slice(0, s1);
    const name = message.slice(s1 + 1, s2);
    const text = message.slice(s2 + 1);
    let kind = 'chat';
    if (text === 'PING') kind = 'ping';
    else if (text === 'exit') kind = 'exit'; // case-sensitive, as this program matches it
    else if (text === 'Connected' || text === 'Hello, I am connecting!') kind = 'greeting';
    if (kind === 'exit') peers.delete(from);
    else peers.set(from, { name });
    emit({ type: 'message', kind, text, from, name, remote, chunk: chunkNo });
  });
});

function splitTarget(target) {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i);
  const port = Number(target.slice(i + 1));
  if (!isLoopback(host)) throw new Error(`only loopback targets are allowed here, not ${host}`);
  return { host, port };
}

function send(target, text) {
  const wire = `${address} ${args.name} ${text}`;
  return new Promise((resolve) => {
    const done = (ok, error) => {
      emit({ type: 'sent', to: target, text, wire, ok, ...(error ? { error } : {}) });
      resolve();
    };
    let t;
    try {
      t = splitTarget(target);
    } catch (e) {
      done(false, e.message);
      return;
    }
    const s = net.connect(t);
    s.setTimeout(Number(args.timeout) * 1000, () => {
      s.destroy();
      done(false, 'timed out');
    });
    s.on('error', (e) => done(false, e.message));
    s.on('connect', () => s.end(wire, () => done(true)));
  });
}

server.listen({ host: args.host, port: Number(args.port), backlog: 5 }, async () => {
  const port = server.address().port;
  address = `${args.advertise ?? args.host}:${port}`;
  emit({ type: 'listening', host: args.host, port, address });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const sp = line.indexOf(' ');
    const cmd = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    if (cmd === 'quit') break;
    if (cmd === 'send') {
      const i = rest.indexOf(' ');
      await send(i < 0 ? rest : rest.slice(0, i), i < 0 ? '' : rest.slice(i + 1));
    } else if (cmd === 'ping') await send(rest.trim(), 'PING');
    else if (cmd === 'peers') emit({ type: 'peers', peers: [...peers].map(([a, p]) => ({ address: a, ...p })) });
    else if (cmd) emit({ type: 'error', message: `unknown command: ${cmd}` });
  }
  server.close();
  emit({ type: 'bye' });
  process.exit(0);
});
