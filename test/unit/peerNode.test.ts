import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import type { ChatMessage } from '../../src/core/chatTypes';
import { PeerNode } from '../../src/core/node';
import { FileStore } from '../../src/core/store';
import { ClassicReceiver, classicReceiver } from '../support/classicReceiver';
import { nextEvent } from '../support/events';
import { freePort } from '../support/freePort';
import { rawSend } from '../support/rawSend';
import { tmpDir } from '../support/tmpDir';
import { until } from '../support/until';

const HOST = '127.0.0.1';
const nodes: PeerNode[] = [];
const servers: net.Server[] = [];
const receivers: ClassicReceiver[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  servers.forEach((s) => s.close());
  await Promise.all(receivers.map((r) => r.close()));
});

async function startNode(opts: Partial<ConstructorParameters<typeof PeerNode>[0]> = {}): Promise<PeerNode> {
  const n = new PeerNode({ host: HOST, port: 0, name: 'me', advertisedIp: HOST, ...opts });
  nodes.push(n);
  await n.start();
  return n;
}

/** A classic receiver (test/support), closed after the file. */
async function receiver(): Promise<ClassicReceiver> {
  const r = await classicReceiver(HOST);
  receivers.push(r);
  return r;
}

describe('peer node: listening', () => {
  it('reports listening, and a port in use as ERR_PORT_IN_USE with the address in the message', async () => {
    const a = await startNode();
    assert.equal(a.status.state, 'listening');
    const b = new PeerNode({ host: HOST, port: a.listeningPort, name: 'b', advertisedIp: HOST });
    await assert.rejects(b.start(), (e: Error & { code?: string }) => e.code === 'ERR_PORT_IN_USE' && e.message.includes(`${HOST}:${a.listeningPort}`) && /address in use/.test(e.message));
    assert.equal(b.status.state, 'error');
  });

  it('moves to a new port on reconfigure', async () => {
    const a = await startNode();
    const port = await freePort();
    await a.reconfigure({ port });
    assert.equal(a.listeningPort, port);
    assert.equal(a.status.state, 'listening');
  });
});

describe('peer node: receiving classic messages', () => {
  it('shows a chat message and learns its sender as a known peer', async () => {
    const n = await startNode();
    const got = nextEvent<[ChatMessage]>(n, 'message', (m: ChatMessage) => m.direction === 'in');
    await rawSend(n.listeningPort, '127.0.0.1:5555 ana hello there');
    const [m] = await got;
    assert.equal(m.text, 'hello there');
    assert.equal(m.name, 'ana');
    assert.equal(m.peer, '127.0.0.1:5555');
    assert.equal(n.peers.get('127.0.0.1:5555')?.state, 'known');
  });

  it('handles PING (no message), greetings (connected) and exit (gone) with system lines', async () => {
    const n = await startNode();
    const messages: ChatMessage[] = [];
    n.on('message', (m) => messages.push(m));
    await rawSend(n.listeningPort, '127.0.0.1:5601 bob PING');
    // The PING was read: it made its sender a known peer (the same step would have shown it).
    await until('the PING sender known', () => n.peers.get('127.0.0.1:5601')?.state === 'known');
    assert.equal(messages.length, 0, 'PING is never shown');
    const greeted = nextEvent(n, 'message', (m: ChatMessage) => m.direction === 'system' && /connected/.test(m.text));
    await rawSend(n.listeningPort, '127.0.0.1:5601 bob Connected');
    await greeted;
    assert.equal(n.peers.get('127.0.0.1:5601')?.state, 'connected');
    const left = nextEvent(n, 'message', (m: ChatMessage) => m.direction === 'system' && /left/.test(m.text));
    await rawSend(n.listeningPort, '127.0.0.1:5601 bob EXIT');
    await left;
    assert.equal(n.peers.get('127.0.0.1:5601')?.state, 'gone');
    assert.equal(messages.filter((m) => m.direction === 'in').length, 0);
  });

  it('drops malformed input with a logged reason and keeps working', async () => {
    const n = await startNode();
    const shown: ChatMessage[] = [];
    n.on('message', (m) => m.direction === 'in' && shown.push(m));
    const logged = nextEvent<[string, string]>(n, 'log', (_l: string, t: string) => /dropped message from 127\.0\.0\.1:\d+: .*bad port "99999"/.test(t));
    await rawSend(n.listeningPort, '127.0.0.1:99999 eve hi');
    await logged;
    const junk = nextEvent<[string, string]>(n, 'log', (_l: string, t: string) => /dropped message from 127\.0\.0\.1:\d+: not valid UTF-8/.test(t));
    await rawSend(n.listeningPort, Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    await junk;
    const good = nextEvent(n, 'message', (m: ChatMessage) => m.text === 'still here');
    await rawSend(n.listeningPort, '127.0.0.1:5700 ana still here');
    await good;
    assert.deepEqual(shown.map((m) => m.text), ['still here']);
    assert.deepEqual(n.peerViews().map((p) => p.address), ['127.0.0.1:5700'], 'nothing malformed became a peer');
  });

  it('cuts a connection that sends more than the byte limit or stays idle', async () => {
    const n = await startNode({ limits: { maxIncomingBytes: 1024, incomingIdleMs: 200 } });
    const big = nextEvent(n, 'log', (_l: string, t: string) => /a message longer than 1024 bytes/.test(t));
    await rawSend(n.listeningPort, '127.0.0.1:5800 big ' + 'x'.repeat(5000)).catch(() => undefined);
    await big;
    // A client that connects and says nothing (not even answering the banner) is closed.
    const idle = nextEvent(n, 'log', (_l: string, t: string) => /idle for 0.2 s after 0 bytes/.test(t));
    const s = net.connect(n.listeningPort, HOST);
    s.on('error', () => {});
    await idle;
    s.destroy();
    assert.equal(n.peers.get('127.0.0.1:5800'), undefined);
    await until('no incoming connection left', () => n.activeResources().incoming === 0);
  });

  it('takes a message after a short quiet gap without waiting for the close, and answers a sender that waits', async () => {
    const n = await startNode();
    const got = nextEvent<[ChatMessage]>(n, 'message', (m: ChatMessage) => m.text === 'are you there?');
    const reply = new Promise<string>((resolve) => {
      let r = '';
      const s = net.connect(n.listeningPort, HOST, () => s.write('127.0.0.1:5990 waiter are you there?'));
      s.on('data', (d) => {
        r += d.toString();
        s.end();
      });
      s.on('close', () => resolve(r));
      s.on('error', () => {});
    });
    await got; // arrived while the sender still holds the socket
    assert.equal(await reply, `[ACK] Message received from ${n.listeningPort}`);
  });

  it('never lists itself, even when a PING names its own address', async () => {
    const n = await startNode();
    await rawSend(n.listeningPort, `127.0.0.1:${n.listeningPort} hashpa PING`);
    // A marker sent after the PING's connection closed: once it is in, the PING was read.
    const marker = nextEvent(n, 'message', (m: ChatMessage) => m.text === 'hi' && m.peer === '127.0.0.1:5900');
    await rawSend(n.listeningPort, '127.0.0.1:5900 ana hi');
    await marker;
    assert.deepEqual(n.peerViews().map((p) => p.address), ['127.0.0.1:5900']);
  });

  it('takes the IP from the socket when a LAN header lies... and the header IP from a local sender', async () => {
    const n = await startNode();
    const shown = nextEvent<[ChatMessage]>(n, 'message', (m: ChatMessage) => m.direction === 'in' && m.text === 'hi');
    await rawSend(n.listeningPort, '127.0.1.1:6001 local hi');
    const [m] = await shown;
    assert.equal(m.peer, '127.0.1.1:6001', 'a sender on this machine is keyed by its header IP (it binds there)');
    assert.ok(n.peers.get('127.0.1.1:6001'));
    assert.equal(n.peers.get('127.0.0.1:6001'), undefined, 'not by the socket IP');
  });
});

describe('peer node: sending', () => {
  it('sends the exact classic text, one connection per message', async () => {
    const n = await startNode({ name: 'ana' });
    const rx = await receiver();
    const { result, message } = await n.send(`127.0.0.1:${rx.port}`, 'hello world');
    assert.ok(result.ok);
    assert.equal(await rx.next(), `127.0.0.1:${n.listeningPort} ana hello world`);
    assert.equal(message.state, 'sent');
  });

  it('fails with the reason when nothing listens, then retries successfully', async () => {
    const n = await startNode({ limits: { sendRetries: 1, sendRetryBaseMs: 10 } });
    const port = await freePort();
    const { result, message } = await n.send(`127.0.0.1:${port}`, 'are you there');
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /connection refused/);
    assert.equal(message.state, 'failed');
    assert.equal(n.peers.get(`127.0.0.1:${port}`)?.state, 'inactive');
    const server = net.createServer((s) => s.on('data', () => s.end()));
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, HOST, r));
    const r2 = await n.retry(message.id);
    assert.ok(r2[0].ok);
    assert.equal(n.getHistory().find((m) => m.id === message.id)?.state, 'sent');
  });

  it('broadcasts to every peer not gone, and greets on connect', async () => {
    const n = await startNode({ name: 'ana' });
    const a = await receiver();
    const b = await receiver();
    const c = await receiver();
    assert.ok((await n.connect(`127.0.0.1:${a.port}`)).ok);
    assert.equal(await a.next(), `127.0.0.1:${n.listeningPort} ana Hello, I am connecting!`);
    assert.equal(n.peers.get(`127.0.0.1:${a.port}`)?.state, 'connected');
    n.peers.upsert({ host: HOST, port: b.port }, {});
    n.peers.upsert({ host: HOST, port: c.port }, { state: 'gone' });
    const { results } = await n.broadcast('to all');
    assert.deepEqual(results.map((r) => r.ok), [true, true]);
    assert.match(await a.next(), / ana to all$/);
    assert.match(await b.next(), / ana to all$/);
    assert.equal(c.got.length, 0);
  });

  it('refuses empty messages and says why', async () => {
    const n = await startNode();
    await assert.rejects(n.broadcast('   '), /empty/);
  });

  it('removes peers that do not answer PING, keeps those that do', async () => {
    const n = await startNode();
    const alive = await receiver();
    const deadPort = await freePort();
    n.peers.upsert({ host: HOST, port: alive.port }, {});
    n.peers.upsert({ host: HOST, port: deadPort }, {});
    const r = await n.pruneInactive(true);
    assert.deepEqual(r.inactive, [`127.0.0.1:${deadPort}`]);
    assert.match(await alive.next(), / PING$/);
    assert.deepEqual(n.peerViews().map((p) => p.address), [`127.0.0.1:${alive.port}`]);
  });

  it('says exit to connected peers on shutdown and keeps peers and history on disk', async () => {
    const dir = tmpDir('peerchat-node-');
    const n = await startNode({ name: 'ana', store: new FileStore(dir, 100) });
    const rx = await receiver();
    await n.connect(`127.0.0.1:${rx.port}`);
    await rx.next();
    await n.send(`127.0.0.1:${rx.port}`, 'remember me');
    await rx.next();
    await n.shutdown();
    assert.match(await rx.next(), / ana exit$/);
    assert.equal(n.status.state, 'stopped');
    const again = new PeerNode({ host: HOST, port: 0, name: 'ana', advertisedIp: HOST, store: new FileStore(dir, 100) });
    assert.equal(again.peers.get(`127.0.0.1:${rx.port}`)?.state, 'known', 'peers come back as known');
    assert.ok(again.getHistory().some((m) => m.text === 'remember me' && m.state === 'sent'));
  });
});
