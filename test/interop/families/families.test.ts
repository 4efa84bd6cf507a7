// Self-check of the per-family reference peers: each one talks both ways with a miniature node
// built only from PeerChat's pure classic pieces (ClassicFramer, parseAny, replyFor via ctx.self,
// formatFor, openingFor) over loopback TCP. It shows that the reference peers behave as the
// guide describes and that the pure core answers each the way it waits for; the real node is
// exercised against the same peers by the interop suite. Loopback (127.0.0.1) only; OS ports.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { DialectName, formatFor, NormalizedClassic, openingFor, parseAny, SelfIdentity } from '../../../src/core/classic/dialects';
import { ClassicFramer } from '../../../src/core/classic/framing';
import { until } from '../../support/until';

const HOST = '127.0.0.1';
const PYTHON = process.env.PYTHON ?? 'python3';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ev = { type: string; [k: string]: any };

/** A reference peer: JSON lines out, commands in. */
class RefPeer {
  readonly events: Ev[] = [];
  readonly child: ChildProcess;
  stderr = '';
  constructor(file: string, args: string[] = []) {
    const full = path.join(__dirname, file);
    const [cmd, pre] = file.endsWith('.mjs') ? [process.execPath, [full]] : [PYTHON, ['-u', full]];
    this.child = spawn(cmd, [...pre, '--host', HOST, '--port', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.child.stdin!.on('error', () => undefined);
    readline.createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.events.push(JSON.parse(l));
      } catch {
        /* not an event */
      }
    });
  }
  cmd(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  wait(pred: (e: Ev) => boolean, what: string, ms = 8000): Promise<Ev> {
    return until(what, () => this.events.find(pred), ms, () => `last events: ${JSON.stringify(this.events.slice(-4))} ${this.stderr}`);
  }
  async port(): Promise<number> {
    return (await this.wait((e) => e.type === 'listening', 'listening')).port;
  }
  stop(): void {
    if (this.child.exitCode === null) {
      this.cmd('quit');
      this.child.stdin!.end();
      const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      this.child.once('exit', () => clearTimeout(t));
    }
  }
}

/** The pure pieces on a loopback listener: frame, parse, answer while the sender is open, dial back. */
class MiniNode {
  readonly got: NormalizedClassic[] = [];
  readonly drops: string[] = [];
  readonly self: SelfIdentity = { ip: HOST, port: 0, name: 'mini' };
  private server = net.createServer((s) => this.accept(s));
  private sockets = new Set<net.Socket>();

  listen(): Promise<void> {
    return new Promise((r) =>
      this.server.listen(0, HOST, () => {
        this.self.port = (this.server.address() as net.AddressInfo).port;
        r();
      }),
    );
  }
  get address(): string {
    return `${HOST}:${this.self.port}`;
  }
  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
  waitFor(pred: (m: NormalizedClassic) => boolean, what: string, ms = 8000): Promise<NormalizedClassic> {
    return until(`mini node: ${what}`, () => this.got.find(pred), ms, () => `got ${JSON.stringify(this.got.slice(-3))} drops ${JSON.stringify(this.drops)}`);
  }

  private accept(sock: net.Socket): void {
    this.sockets.add(sock);
    let ended = false;
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
    const framer = new ClassicFramer({
      maxBytes: 64 * 1024,
      onMessage: (bytes, info) => {
        const r = parseAny(bytes, { remoteIp: sock.remoteAddress ?? '', self: this.self, lineMode: info.lineMode });
        if (r.ok) this.got.push(r.message);
        else this.drops.push(r.reason);
        const reply = r.ok ? r.message.reply : r.reply;
        if (reply?.sameSocket && !ended && !sock.destroyed) sock.write(reply.sameSocket);
        else if (reply?.dialBack) {
          const d = reply.dialBack;
          const c = net.connect(d.port, d.host, () => c.end(d.text));
          c.on('error', () => undefined);
        }
      },
      onError: (reason) => {
        this.drops.push(reason);
        sock.destroy();
      },
    });
    sock.on('data', (d) => framer.push(d));
    sock.on('end', () => {
      ended = true;
      framer.end();
      sock.end();
    });
  }

  /**
   * Writes `text` to a peer in `dialect` the way PeerChat would, half-closes, and returns what came
   * back once the peer closed (every reference peer closes when it has read to our close).
   */
  send(dialect: DialectName, port: number, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, HOST);
      let reply = '';
      let closed = false;
      // A line-mode peer answers each line "Message received": wait for it, as PeerChat does.
      const acked = async () => {
        await until(`"Message received" from the ${dialect} peer on ${port}`, () => reply.includes('Message received') || closed, 4000, () => `reply so far: ${JSON.stringify(reply)}`);
        reply = reply.replace(/Message received\n?/, '');
      };
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`the ${dialect} peer on ${port} did not close within 5 s of our close; it wrote ${JSON.stringify(reply)}`));
      }, 5000);
      s.on('data', (d) => (reply += d.toString('utf8')));
      s.on('error', (e) => resolve(`error: ${e.message}`));
      s.on('close', () => {
        closed = true;
        clearTimeout(timer);
        resolve(reply);
      });
      s.on('connect', async () => {
        try {
          for (const line of openingFor(dialect, this.self)) {
            s.write(line);
            await acked();
          }
          s.write(formatFor(dialect, this.self, text));
          if (dialect === 'lineMode') await acked();
          s.end();
        } catch (err) {
          clearTimeout(timer);
          s.destroy();
          reject(err);
        }
      });
    });
  }
}

describe('reference peers of each family, against the pure classic core', { timeout: 120_000 }, () => {
  const mini = new MiniNode();
  const peers: RefPeer[] = [];
  const start = (file: string, args: string[] = []) => {
    const p = new RefPeer(file, args);
    peers.push(p);
    return p;
  };
  before(() => mini.listen());
  after(() => {
    for (const p of peers) p.stop();
    mini.close();
  });

  it('ack-waiting sender: answered before it gives up; its own receiver acknowledges', async () => {
    const p = start('ackwait.py');
    const port = await p.port();
    p.cmd(`send ${mini.address} hello from ackwait`);
    const sent = await p.wait((e) => e.type === 'sent', 'sent');
    assert.equal(sent.acked, true);
    assert.ok(sent.waited_ms < 2000, `waited ${sent.waited_ms} ms`);
    const m = await mini.waitFor((x) => x.text === 'hello from ackwait', 'the message');
    assert.deepEqual([m.dialect, m.name, m.peer], ['standard', 'ackwait', { host: HOST, port }]);
    assert.match(await mini.send('standard', port, 'hi ackwait'), /^\[ACK\] Message received from \d+$/);
    await p.wait((e) => e.type === 'message' && e.text === 'hi ackwait', 'our message');
  });

  it('line mode: every line answered; it reads our line form and refuses the one-shot form', async () => {
    const p = start('linemode.py');
    const port = await p.port();
    p.cmd(`send ${mini.address} line one`);
    p.cmd(`send ${mini.address} line two`);
    const s2 = await p.wait((e) => e.type === 'sent' && e.text === 'line two', 'second line sent');
    assert.equal(s2.acked, true);
    assert.equal(p.events.filter((e) => e.type === 'sent' && e.hung).length, 0);
    const m = await mini.waitFor((x) => x.text === 'line two', 'line two');
    assert.deepEqual([m.dialect, m.name, m.peer], ['lineMode', 'linemode', { host: HOST, port }]);
    await mini.send('lineMode', port, 'hi linemode');
    const got = await p.wait((e) => e.type === 'message' && e.text === 'hi linemode', 'our line');
    assert.equal(got.name, 'mini');
    await mini.send('standard', port, 'one-shot');
    await p.wait((e) => e.type === 'rejected', 'the one-shot form refused');
  });

  it('Node sender, chunk = message: one write per message, lowercase exit', async () => {
    const p = start('nodechunk.mjs');
    const port = await p.port();
    p.cmd(`send ${mini.address} hello from node`);
    await mini.waitFor((x) => x.text === 'hello from node' && x.name === 'nodechunk', 'its message');
    await mini.send('standard', port, 'two words');
    await mini.send('standard', port, 'exit');
    await p.wait((e) => e.type === 'message' && e.kind === 'exit', 'exit');
    assert.equal(p.events.find((e) => e.type === 'message' && e.text === 'two words')?.chunk, 1);
  });

  it('`connect` keeps the socket: `connected` on the same socket, later writes split by gaps', async () => {
    const p = start('connectkeep.py');
    const port = await p.port();
    p.cmd(`connect ${mini.address}`);
    const c = await p.wait((e) => e.type === 'connect_result', 'connect result');
    assert.equal(c.ok, true, JSON.stringify(c));
    p.cmd(`send ${mini.address} kept one`);
    // cut by the quiet gap after it: the next write comes a gap later
    await mini.waitFor((x) => x.text === 'kept one', 'the first kept message');
    p.cmd(`send ${mini.address} kept two`);
    await mini.waitFor((x) => x.text === 'kept two', 'the second kept message');
    assert.equal(p.events.filter((e) => e.type === 'sent' && e.via === 'kept').length, 2);
    await mini.send('standard', port, 'connect');
    const a = await p.wait((e) => e.type === 'answered', 'its connected answer');
    assert.match(a.text, / connected$/);
  });

  it('`connect` dials back: we dial back `connect_ack`, and read its own', async () => {
    const p = start('connectdial.py');
    const port = await p.port();
    p.cmd(`connect ${mini.address}`);
    const active = await p.wait((e) => e.type === 'active', 'active after our dial-back');
    assert.equal(active.address, mini.address);
    await mini.send('standard', port, 'connect');
    await p.wait((e) => e.type === 'dialed_back' && e.ok, 'its dial-back');
    const ack = await mini.waitFor((x) => x.keyword === 'connect_ack', 'its connect_ack');
    assert.equal(ack.kind, 'ack');
    assert.equal(ack.reply, undefined);
  });

  for (const [form, dialect] of [
    ['at', 'bracketAt'],
    ['dated', 'bracketDated'],
    ['plain', 'bracket'],
  ] as const) {
    it(`bracket form ${form}: read, and answered in its own form (it refuses any other)`, async () => {
      const p = start('bracket.py', ['--form', form, ...(form === 'dated' ? ['--recipient-header'] : [])]);
      const port = await p.port();
      p.cmd(`send ${mini.address} hello ${form}`);
      const m = await mini.waitFor((x) => x.text === `hello ${form}`, 'its message');
      assert.equal(m.dialect, dialect);
      assert.equal(m.name, 'bracket');
      if (form === 'dated') assert.equal(m.headerIsSelf, true, 'the recipient-header variant');
      await mini.send(dialect, port, `hi ${form}`);
      await p.wait((e) => e.type === 'message' && e.text === `hi ${form}` && e.name === 'mini', 'our message in its form');
      await mini.send('standard', port, 'standard form');
      await p.wait((e) => e.type === 'rejected', 'the standard form refused');
    });
  }

  it('pipe form: read with its port, answered in it', async () => {
    const p = start('pipe.py');
    const port = await p.port();
    p.cmd(`send ${mini.address} hello | pipe`);
    const m = await mini.waitFor((x) => x.dialect === 'pipe', 'its message');
    assert.deepEqual([m.text, m.listenPort], ['hello | pipe', port]);
    await mini.send('pipe', port, 'hi pipe');
    await p.wait((e) => e.type === 'message' && e.text === 'hi pipe' && e.listening_port === mini.self.port, 'our message');
  });

  it('JSON: read (recipient address in content, port from sender_port), answered in JSON', async () => {
    const p = start('jsonpeer.py');
    const port = await p.port();
    p.cmd(`send ${mini.address} hola jsón`);
    const m = await mini.waitFor((x) => x.dialect === 'json', 'its message');
    assert.deepEqual([m.text, m.name, m.headerIsSelf, m.peer], ['hola jsón', 'json', true, { host: HOST, port }]);
    await mini.send('json', port, 'hi json');
    await p.wait((e) => e.type === 'message' && e.text === 'hi json', 'our message');
    await mini.send('standard', port, 'not json');
    await p.wait((e) => e.type === 'rejected', 'anything else refused');
  });

  it('headerless: CONNECT:PORT gives the port, a kept socket is split by gaps, `NAME : text` is shown', async () => {
    const p = start('headerless.py', ['--announce', '--keep']);
    const port = await p.port();
    p.cmd(`send ${mini.address} hello headerless`);
    // cut by the quiet gap after it: the next write comes a gap later
    await mini.waitFor((x) => x.text === 'hello headerless' && x.name === 'headerless', 'the first write on the kept socket');
    p.cmd(`send ${mini.address} again`);
    const c = await mini.waitFor((x) => x.keyword === 'CONNECT:PORT', 'CONNECT:PORT');
    assert.deepEqual(c.peer, { host: HOST, port });
    await mini.waitFor((x) => x.text === 'again', 'the second write on the kept socket');
    await mini.send('headerless', port, 'hi headerless');
    await p.wait((e) => e.type === 'message' && e.text === 'hi headerless' && e.name === 'mini', 'our message');
  });

  it('handshakes: each request answered as it waits; a bare connect is a probe, not a message', async () => {
    const p = start('handshake.py');
    const port = await p.port();
    for (const c of ['request', 'connection', 'disconnect']) p.cmd(`${c} ${mini.address}`);
    await p.wait((e) => e.type === 'handshake' && e.request === 'DISCONNECT', 'the three handshakes');
    for (const h of p.events.filter((e) => e.type === 'handshake')) assert.equal(h.ok, true, JSON.stringify(h));
    const before = mini.got.length;
    const dropsBefore = mini.drops.length;
    p.cmd(`probe ${mini.address}`);
    await p.wait((e) => e.type === 'probed', 'probe');
    // a later message from the same peer arriving proves the probe was handled before it
    p.cmd(`send ${mini.address} after the probe`);
    await mini.waitFor((x) => x.text === 'after the probe', 'the message after the probe');
    assert.deepEqual(mini.got.slice(before).map((x) => x.text), ['after the probe'], 'no message from a bare connect');
    assert.deepEqual(mini.drops.slice(dropsBefore), [], 'no error from a bare connect');
    assert.equal(await mini.send('handshake', port, 'CONNECT_REQUEST'), 'CONNECTED');
    assert.equal(await mini.send('handshake', port, 'DISCONNECT'), 'DISCONNECT_ACK');
  });
});
