// Discovery (issue 14): the announcement codec and the DNS-SD packets against hostile input, the
// Nearby table with an injected clock, the per-machine folder in a real temp folder (a dead
// process's file, a stale one, a malformed one), and real nodes on loopback proving what is
// announced: a spoofed announcement (another key answers) is refused.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { checkAnnouncement, cleanAnnouncedName, decodeRegistryEntry, encodeRegistryEntry, fromTxt, registryFileName, toTxt } from '../../src/core/discovery/announcement';
import type { ChannelHooks, DiscoveryChannel, Heard, SelfAnnouncement } from '../../src/core/discovery/channel';
import { announcementPacket, asksForService, browseQuery, readResponse, SERVICE } from '../../src/core/discovery/dnssd';
import { EMPTY_NEARBY, NearbyAction, NearbyLimits, NearbyState, nextDeadline, provenNodes, reduceNearby, spoofedEntries, toCheck } from '../../src/core/discovery/nearby';
import { machineHost, MachineRegistry } from '../../src/core/discovery/registry';
import { PROTOCOL_VERSION } from '../../src/core/native/frames';
import { NodeOptions, PeerNode } from '../../src/core/node';
import { FileStore } from '../../src/core/store';
import { tmpDir } from '../support/tmpDir';
import { until } from '../support/until';

const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);
const ann = (over: Partial<{ v: number; nodeId: string; name: string; port: number }> = {}) => ({ v: PROTOCOL_VERSION, nodeId: ID_A, name: 'ana', port: 47100, ...over });

describe('announcement codec: every field from outside is checked', () => {
  it('TXT round trip: v, id, name and the SRV port', () => {
    const r = fromTxt(toTxt(ann()), 47100, 4096);
    assert.deepEqual(r, { ok: true, value: ann() });
  });

  it('refuses a missing or malformed node id, a bad port, another protocol version', () => {
    const bad: [unknown, unknown, RegExp][] = [
      [[Buffer.from(`v=${PROTOCOL_VERSION}`), Buffer.from('name=x')], 1, /node id/],
      [[Buffer.from(`v=${PROTOCOL_VERSION}`), Buffer.from(`id=${ID_A.toUpperCase()}`)], 1, /node id/],
      [[Buffer.from(`v=${PROTOCOL_VERSION}`), Buffer.from(`id=${ID_A}0`)], 1, /node id/],
      [toTxt(ann()), 0, /port/],
      [toTxt(ann()), 70000, /port/],
      [toTxt(ann()), '80a', /port/],
      [toTxt(ann()), 1.5, /port/],
      [toTxt(ann({ v: PROTOCOL_VERSION + 1 })), 1, /protocol version/],
      [[Buffer.from(`id=${ID_A}`)], 1, /version/],
      [[Buffer.from(`v=x${PROTOCOL_VERSION}`), Buffer.from(`id=${ID_A}`)], 1, /version/],
      [[42], 1, /not bytes/],
      [[Buffer.alloc(300, 0x61)], 1, /too large/],
      [Array.from({ length: 40 }, () => Buffer.from('x=y')), 1, /too many/],
    ];
    for (const [txt, port, why] of bad) {
      const r = fromTxt(txt, port, 4096);
      assert.equal(r.ok, false, `${JSON.stringify(txt)} ${String(port)}`);
      assert.match(r.ok ? '' : r.error, why);
    }
    // Many small strings that add up past the budget.
    const big = [...toTxt(ann()), ...Array.from({ length: 20 }, (_, i) => Buffer.from(`k${i}=${'x'.repeat(200)}`))];
    assert.equal(fromTxt(big, 1, 1024).ok, false);
  });

  it('the first value of a key wins; unknown keys are skipped', () => {
    const r = fromTxt([Buffer.from(`v=${PROTOCOL_VERSION}`), Buffer.from(`id=${ID_A}`), Buffer.from(`id=${ID_B}`), Buffer.from('name=ana'), Buffer.from('color=red'), Buffer.from('=x')], 5, 4096);
    assert.ok(r.ok);
    assert.equal(r.value.nodeId, ID_A);
  });

  it('names lose control, zero-width and direction characters, spaces and colons; bounded; never empty', () => {
    assert.equal(cleanAnnouncedName('ev\u001b[31mil\u202eana\u200b'), 'ev[31milana');
    assert.equal(cleanAnnouncedName('ana lopez:1'), 'ana_lopez_1');
    assert.equal(cleanAnnouncedName('x'.repeat(500)).length, 64);
    assert.equal(cleanAnnouncedName('\u0007'), '?');
    const r = checkAnnouncement({ v: PROTOCOL_VERSION, nodeId: ID_A, name: 'a\u0085b\u2066c', port: 9 });
    assert.ok(r.ok);
    assert.equal(r.value.name, 'abc');
    const noName = checkAnnouncement({ v: PROTOCOL_VERSION, nodeId: ID_A, port: 9 });
    assert.ok(noName.ok);
    assert.equal(noName.value.name, '?');
  });

  it('per-machine files: round trip; anything else refused', () => {
    const e = { ...ann(), host: '127.0.0.1', pid: 1234 };
    assert.deepEqual(decodeRegistryEntry(encodeRegistryEntry(e)), { ok: true, value: e });
    for (const [text, why] of [
      ['{', /JSON/],
      ['[1]', /object/],
      ['null', /object/],
      [JSON.stringify({ ...e, host: 'evil.example' }), /host/],
      [JSON.stringify({ ...e, host: 5 }), /host/],
      [JSON.stringify({ ...e, pid: -1 }), /process/],
      [JSON.stringify({ ...e, pid: '12' }), /process/],
      [JSON.stringify({ ...e, nodeId: 'x' }), /node id/],
    ] as const) {
      const r = decodeRegistryEntry(text);
      assert.equal(r.ok, false, text);
      assert.match(r.ok ? '' : r.error, why);
    }
    assert.equal(registryFileName(ID_A), `${ID_A}.json`);
    assert.equal(machineHost('0.0.0.0'), '127.0.0.1');
    assert.equal(machineHost('::'), '::1');
    assert.equal(machineHost('127.0.0.5'), '127.0.0.5');
    assert.equal(machineHost('192.0.2.7'), '192.0.2.7');
  });
});

describe('DNS-SD packets (_peerchat._tcp over mDNS)', () => {
  /** Our packet through the real DNS wire format and back, as the socket would hand it over. */
  const wire = (p: dnsPacket.Packet) => dnsPacket.decode(dnsPacket.encode(p));

  it('an announcement reads back as heard, at the source IP (never the A record)', () => {
    const p = wire(announcementPacket(ann({ name: 'ana' }), ['198.51.100.77'], 30));
    const heard = readResponse(p, '192.0.2.10', 32, 4096);
    assert.deepEqual(heard, [{ type: 'heard', ann: ann(), host: '192.0.2.10' }]);
    assert.ok(p.answers?.some((a) => a.type === 'PTR' && a.name === SERVICE));
    assert.ok(p.additionals?.some((a) => a.type === 'A' && a.data === '198.51.100.77'), 'A records are sent (DNS-SD) but not believed');
  });

  it('TTL 0 is a goodbye', () => {
    assert.deepEqual(readResponse(wire(announcementPacket(ann(), [], 0)), '192.0.2.10', 32, 4096), [{ type: 'goodbye', nodeId: ID_A, host: '192.0.2.10', port: 47100 }]);
  });

  it('other services, an SRV without TXT, a PTR alone: nothing; too many records or a bad TXT: refused', () => {
    const other = wire({ type: 'response', answers: [{ type: 'SRV', name: 'x._http._tcp.local', ttl: 30, data: { port: 80, target: 'h.local' } }, { type: 'TXT', name: 'x._http._tcp.local', ttl: 30, data: toTxt(ann()) }] });
    assert.deepEqual(readResponse(other, '192.0.2.1', 32, 4096), []);
    const inst = `peerchat-x.${SERVICE}`;
    assert.deepEqual(readResponse(wire({ type: 'response', answers: [{ type: 'SRV', name: inst, ttl: 30, data: { port: 80, target: 'h.local' } }] }), '192.0.2.1', 32, 4096), []);
    assert.deepEqual(readResponse(wire({ type: 'response', answers: [{ type: 'PTR', name: SERVICE, ttl: 30, data: inst }] }), '192.0.2.1', 32, 4096), []);
    const flood = wire({ type: 'response', answers: Array.from({ length: 40 }, (_, i) => ({ type: 'TXT' as const, name: `n${i}.${SERVICE}`, ttl: 30, data: toTxt(ann()) })) });
    assert.match(JSON.stringify(readResponse(flood, '192.0.2.1', 32, 4096)), /"refused".*40 records/);
    const badTxt = wire({ type: 'response', answers: [{ type: 'SRV', name: inst, ttl: 30, data: { port: 80, target: 'h.local' } }, { type: 'TXT', name: inst, ttl: 30, data: [Buffer.from('v=2'), Buffer.from('id=nope')] }] });
    assert.equal(readResponse(badTxt, '192.0.2.1', 32, 4096)[0].type, 'refused');
    // Malformed shapes a decoder could hand over never throw.
    assert.deepEqual(readResponse({}, '192.0.2.1', 32, 4096), []);
    assert.deepEqual(readResponse({ answers: [null as never, { name: 5 } as never] }, '192.0.2.1', 32, 4096), []);
  });

  it('the browse query asks for our PTR; only such queries are answered', () => {
    assert.equal(asksForService(wire(browseQuery()), 32), true);
    assert.equal(asksForService({ questions: [{ name: '_http._tcp.local', type: 'PTR' }] }, 32), false);
    assert.equal(asksForService({ questions: [{ name: SERVICE.toUpperCase(), type: 'ANY' as never }] }, 32), true);
    assert.equal(asksForService({ questions: Array.from({ length: 40 }, () => ({ name: SERVICE, type: 'PTR' as const })) }, 32), false);
  });
});

describe('Nearby table: a pure reducer, the clock in every action', () => {
  const L: NearbyLimits = { expireMs: 30_000, maxEntries: 4, maxPerHost: 2, retryMs: 10_000 };
  const run = (actions: NearbyAction[], state: NearbyState = EMPTY_NEARBY) => actions.reduce((s, a) => reduceNearby(s, a, L).state, state);
  const heard = (nodeId: string, now: number, host = '192.0.2.1', port = 47100, channel: 'lan' | 'machine' = 'lan'): NearbyAction => ({ type: 'heard', channel, ann: ann({ nodeId, port }), host, now });
  const key = (nodeId: string, host = '192.0.2.1', port = 47100, channel = 'lan') => `${channel}|${nodeId}|${host}:${port}`;

  it('heard is only a hint: shown once the announced key answered, never before', () => {
    let s = run([heard(ID_A, 0)]);
    assert.deepEqual(provenNodes(s), []);
    assert.deepEqual(toCheck(s, 0).map((e) => e.nodeId), [ID_A]);
    s = run([{ type: 'checking', key: key(ID_A) }], s);
    assert.deepEqual(toCheck(s, 0), [], 'one check at a time');
    s = run([{ type: 'proved', key: key(ID_A), peerId: ID_A, now: 10 }], s);
    assert.deepEqual(provenNodes(s).map((e) => [e.nodeId, e.address]), [[ID_A, '192.0.2.1:47100']]);
  });

  it('expiry with an injected clock: heard again refreshes it; silent for expireMs, it leaves', () => {
    let s = run([heard(ID_A, 0), { type: 'proved', key: key(ID_A), peerId: ID_A, now: 0 }]);
    assert.equal(nextDeadline(s), 30_000);
    s = run([{ type: 'tick', now: 29_999 }], s);
    assert.equal(provenNodes(s).length, 1);
    s = run([heard(ID_A, 20_000), { type: 'tick', now: 45_000 }], s);
    assert.equal(provenNodes(s).length, 1, 'heard at 20 s: still there at 45 s');
    assert.equal(provenNodes(s)[0].proof.state, 'proven', 'what was proven at this address still holds');
    const r = reduceNearby(s, { type: 'tick', now: 50_000 }, L);
    assert.equal(r.changed, true);
    assert.equal(r.state.entries.size, 0);
  });

  it('a goodbye removes it at once, but only from the host and port it was announced at', () => {
    let s = run([heard(ID_A, 0), { type: 'proved', key: key(ID_A), peerId: ID_A, now: 0 }]);
    s = run([{ type: 'goodbye', channel: 'lan', nodeId: ID_A, host: '192.0.2.66', port: 47100 }], s);
    s = run([{ type: 'goodbye', channel: 'lan', nodeId: ID_A, host: '192.0.2.1', port: 1 }], s);
    s = run([{ type: 'goodbye', channel: 'machine', nodeId: ID_A, host: '192.0.2.1', port: 47100 }], s);
    assert.equal(provenNodes(s).length, 1, 'a goodbye from elsewhere is ignored');
    s = run([{ type: 'goodbye', channel: 'lan', nodeId: ID_A, host: '192.0.2.1', port: 47100 }], s);
    assert.equal(s.entries.size, 0);
  });

  it('spoofed: another key answered; shown as spoofed, never as the node, not checked again', () => {
    let s = run([heard(ID_A, 0), { type: 'proved', key: key(ID_A), peerId: ID_B, now: 5 }]);
    assert.deepEqual(provenNodes(s), []);
    assert.deepEqual(spoofedEntries(s).map((e) => [e.nodeId, e.proof.state === 'spoofed' && e.proof.answeredBy]), [[ID_A, ID_B]]);
    s = run([heard(ID_A, 100)], s);
    assert.equal(spoofedEntries(s).length, 1, 'heard again: still spoofed');
    assert.deepEqual(toCheck(s, 1e9), []);
    // The real node at its own address is not touched by the forgery.
    s = run([heard(ID_A, 200, '192.0.2.2'), { type: 'proved', key: key(ID_A, '192.0.2.2'), peerId: ID_A, now: 200 }], s);
    assert.deepEqual(provenNodes(s).map((e) => e.address), ['192.0.2.2:47100']);
  });

  it('unreachable: checked again after retryMs', () => {
    const s = run([heard(ID_A, 0), { type: 'proved', key: key(ID_A), error: 'ECONNREFUSED', now: 0 }]);
    assert.deepEqual(toCheck(s, 9_999), []);
    assert.equal(toCheck(s, 10_000).length, 1);
    assert.equal(nextDeadline(s), 10_000);
  });

  it('bounded: per LAN host, in all, and a new entry never pushes out a proven one', () => {
    const ids = Array.from({ length: 8 }, (_, i) => String(i).repeat(64));
    let r = reduceNearby(run([heard(ids[0], 0), heard(ids[1], 1)]), heard(ids[2], 2), L);
    assert.match(r.refused ?? '', /more than 2 nodes/);
    assert.equal(r.state.entries.size, 2);
    // Machine entries all come from 127.0.0.1: no per-host cap there.
    const m = run([0, 1, 2].map((i) => heard(ids[i], i, '127.0.0.1', 47100, 'machine')));
    assert.equal(m.entries.size, 3);
    // Full of unchecked ones: the oldest goes.
    let s = run([heard(ids[0], 0, '192.0.2.1'), heard(ids[1], 1, '192.0.2.2'), heard(ids[2], 2, '192.0.2.3'), heard(ids[3], 3, '192.0.2.4'), heard(ids[4], 4, '192.0.2.5')]);
    assert.equal(s.entries.size, 4);
    assert.equal([...s.entries.values()].some((e) => e.nodeId === ids[0]), false);
    // Full of proven ones: a newcomer is refused.
    s = run([...s.entries.values()].map((e) => ({ type: 'proved', key: e.key, peerId: e.nodeId, now: 5 }) as NearbyAction), s);
    r = reduceNearby(s, heard(ids[5], 6, '192.0.2.9'), L);
    assert.match(r.refused ?? '', /full/);
    assert.equal(provenNodes(r.state).length, 4);
  });

  it('one node heard twice (this machine and the LAN) is listed once, the per-machine entry first', () => {
    const s = run([
      heard(ID_A, 0, '192.0.2.1', 47100, 'lan'),
      heard(ID_A, 1, '127.0.0.1', 47100, 'machine'),
      { type: 'proved', key: key(ID_A), peerId: ID_A, now: 2 },
      { type: 'proved', key: key(ID_A, '127.0.0.1', 47100, 'machine'), peerId: ID_A, now: 2 },
    ]);
    assert.deepEqual(provenNodes(s).map((e) => [e.channel, e.address]), [['machine', '127.0.0.1:47100']]);
  });
});

describe('the per-machine folder (a real temp folder)', () => {
  const opts = (dir: string) => ({ dir, intervalMs: 60_000, pollMs: 60_000, expireMs: 30_000, maxFiles: 256, maxFileBytes: 4096 });
  const self = (nodeId: string, port = 47100): SelfAnnouncement => ({ ann: ann({ nodeId, port, name: 'me' }), bindHost: '0.0.0.0' });
  const collect = () => {
    const heard: Heard[] = [];
    const logs: string[] = [];
    const hooks: ChannelHooks = { heard: (h) => heard.push(h), log: (_l, t) => logs.push(t) };
    return { heard, logs, hooks };
  };
  /** The id of a process that has exited (its pid is free now). */
  const deadPid = () => {
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(r.stdout);
  };

  it('writes its own file 0600 in a 0700 folder; reads the live ones; ignores and removes a dead process’s and a stale one', async () => {
    const dir = path.join(tmpDir(), 'nearby');
    fs.mkdirSync(dir, { mode: 0o755 });
    const live = { ...ann({ nodeId: ID_B, name: 'bob', port: 47101 }), host: '127.0.0.1', pid: process.pid };
    const dead = { ...ann({ nodeId: 'c'.repeat(64), name: 'ghost', port: 47102 }), host: '127.0.0.1', pid: deadPid() };
    const stale = { ...ann({ nodeId: 'd'.repeat(64), name: 'hung', port: 47103 }), host: '127.0.0.1', pid: process.pid };
    for (const e of [live, dead, stale]) fs.writeFileSync(path.join(dir, registryFileName(e.nodeId)), encodeRegistryEntry(e));
    const old = (Date.now() - 120_000) / 1000;
    fs.utimesSync(path.join(dir, registryFileName(stale.nodeId)), old, old);
    fs.writeFileSync(path.join(dir, registryFileName('e'.repeat(64))), '{not json');
    fs.writeFileSync(path.join(dir, registryFileName('f'.repeat(64))), encodeRegistryEntry({ ...live, nodeId: ID_B }));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    fs.symlinkSync('/etc/passwd', path.join(dir, registryFileName('9'.repeat(64))));

    const reg = new MachineRegistry(opts(dir));
    const c = collect();
    await reg.start(self(ID_A), c.hooks);
    try {
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700, 'the folder is made private');
      const own = path.join(dir, registryFileName(ID_A));
      assert.equal(fs.statSync(own).mode & 0o777, 0o600);
      assert.deepEqual(decodeRegistryEntry(fs.readFileSync(own, 'utf8')), { ok: true, value: { ...ann({ nodeId: ID_A, name: 'me' }), host: '127.0.0.1', pid: process.pid } });
      const heard = c.heard.filter((h) => h.type === 'heard');
      assert.deepEqual(heard, [{ type: 'heard', ann: ann({ nodeId: ID_B, name: 'bob', port: 47101 }), host: '127.0.0.1' }], 'only the live node; never itself');
      assert.equal(fs.existsSync(path.join(dir, registryFileName(dead.nodeId))), false, 'the dead process’s file is removed');
      assert.equal(fs.existsSync(path.join(dir, registryFileName(stale.nodeId))), false, 'the stale file is removed');
      const refused = c.heard.filter((h) => h.type === 'refused').map((h) => (h.type === 'refused' ? h.reason : ''));
      assert.ok(refused.some((r) => /not JSON/.test(r)));
      assert.ok(refused.some((r) => /not the file name/.test(r)));
      assert.ok(refused.some((r) => /not a plain file/.test(r)), 'a link is never followed');

      // The live node goes away: the next read says goodbye.
      fs.rmSync(path.join(dir, registryFileName(ID_B)));
      c.heard.length = 0;
      reg.read();
      assert.deepEqual(c.heard.filter((h) => h.type !== 'refused'), [{ type: 'goodbye', nodeId: ID_B, host: '127.0.0.1', port: 47101 }]);
    } finally {
      await reg.stop();
    }
    assert.equal(fs.existsSync(path.join(dir, registryFileName(ID_A))), false, 'stop removes its own file (its goodbye)');
    assert.equal(reg.resources, 0);
  });

  it("refuses a folder of another user's or one that is not a folder", async () => {
    const file = path.join(tmpDir(), 'plain');
    fs.writeFileSync(file, '');
    const reg = new MachineRegistry(opts(file));
    const c = collect();
    await reg.start(self(ID_A), c.hooks);
    assert.match(c.logs.join('\n'), /discovery on this machine is off/);
    assert.equal(reg.resources, 0);
    await reg.stop();
  });
});

// ---------------------------------------------------------------- real nodes on loopback

/** A channel the test speaks through: it hands the node announcements as a network would. */
class HandChannel implements DiscoveryChannel {
  hooks: ChannelHooks | undefined;
  self: SelfAnnouncement | undefined;
  readonly resources = 0;
  constructor(readonly kind: 'lan' | 'machine' = 'lan') {}
  async start(self: SelfAnnouncement, hooks: ChannelHooks): Promise<void> {
    this.self = self;
    this.hooks = hooks;
  }
  async stop(): Promise<void> {
    this.hooks = undefined;
  }
  say(h: Heard): void {
    assert.ok(this.hooks, 'the channel runs');
    this.hooks.heard(h);
  }
}

const live = new Set<PeerNode>();
after(async () => {
  await Promise.all([...live].map((n) => n.stop()));
});

async function node(name: string, o: Partial<NodeOptions> = {}): Promise<PeerNode> {
  const n = new PeerNode({ host: '127.0.0.1', port: 0, name, advertisedIp: '127.0.0.1', ...o, limits: { probeWaitMs: 300, registryPollMs: 50, ...o.limits } });
  live.add(n);
  await n.start();
  return n;
}
const heardOf = (n: PeerNode, name = n.name): Heard => ({ type: 'heard', ann: { v: PROTOCOL_VERSION, nodeId: n.nodeId, name, port: n.listeningPort }, host: '127.0.0.1' });

describe('discovery in the node: announcements proven by TLS', () => {
  it('a spoofed announcement (B’s node id at C’s address) is shown as spoofed, never trusted; the real B is found', async () => {
    const ch = new HandChannel();
    const logs: string[] = [];
    const a = await node('ana', { discovery: { mode: 'lan', channels: [ch] } });
    a.on('log', (_l, t) => logs.push(t));
    const b = await node('bob');
    const c = await node('carl');
    // The forgery first, so the real announcement cannot have settled anything before it.
    ch.say({ type: 'heard', ann: { v: PROTOCOL_VERSION, nodeId: b.nodeId, name: 'bob', port: c.listeningPort }, host: '127.0.0.1' });
    ch.say(heardOf(b));
    await until('B proven and the forgery spoofed', () => a.nearby().length === 1 && a.spoofedAnnouncements().length === 1, 8000, () => JSON.stringify({ near: a.nearby(), spoofed: a.spoofedAnnouncements(), logs }));
    assert.deepEqual(a.nearby().map((x) => [x.nodeId, x.address, x.learnedFrom, x.known]), [[b.nodeId, `127.0.0.1:${b.listeningPort}`, 'lan', false]]);
    assert.deepEqual(a.spoofedAnnouncements(), [{ nodeId: b.nodeId, name: 'bob', address: `127.0.0.1:${c.listeningPort}`, learnedFrom: 'lan', answeredBy: c.nodeId }]);
    assert.ok(logs.some((l) => /spoofed announcement .*claims to be bob/.test(l)), logs.join('\n'));
    assert.equal(a.peers.get(`127.0.0.1:${c.listeningPort}`), undefined, 'nothing at the forged address joins the peers');
    assert.equal(a.peers.byNodeId(b.nodeId)?.address, `127.0.0.1:${b.listeningPort}`);
    assert.equal(a.peerViews().find((p) => p.nodeId === b.nodeId)?.learnedFrom, 'lan');
    // Proving leaves nothing behind in the proven node: no session, no peer, no warning.
    assert.equal(b.peers.size, 0);
    assert.equal(b.activeResources().sessions, 0);
  });

  it('a proven nearby node: a send reaches it natively; it stays a peer after it leaves; one never talked to leaves with its announcement and is not stored', async () => {
    const ch = new HandChannel('machine');
    const dir = tmpDir();
    const a = await node('ana2', { discovery: { mode: 'machine', channels: [ch] }, store: new FileStore(dir, 100) });
    const b = await node('bob2');
    const d = await node('dora2');
    ch.say(heardOf(b));
    ch.say(heardOf(d));
    await until('both nearby', () => a.nearby().length === 2);
    assert.deepEqual(a.peerViews().filter((p) => p.nearby).map((p) => p.name).sort(), ['bob2', 'dora2']);

    const { message, result } = await a.send(`node:${b.nodeId}`, 'hello nearby');
    assert.equal(result.ok, true);
    await until('delivered', () => ['delivered', 'read'].includes(a.getHistory().find((m) => m.id === message.id)?.state ?? ''));
    const got = b.getHistory().find((m) => m.text === 'hello nearby');
    assert.equal(got?.origin, a.nodeId, 'it arrived natively, from A’s proven key');
    await until('B is no longer nearby-only', () => !a.peerViews().find((p) => p.nodeId === b.nodeId)?.nearby);
    assert.equal(a.nearby().find((x) => x.nodeId === b.nodeId)?.known, true);

    ch.say({ type: 'goodbye', nodeId: b.nodeId, host: '127.0.0.1', port: b.listeningPort });
    ch.say({ type: 'goodbye', nodeId: d.nodeId, host: '127.0.0.1', port: d.listeningPort });
    assert.deepEqual(a.nearby(), []);
    assert.ok(a.peers.byNodeId(b.nodeId), 'a peer talked to stays');
    assert.equal(a.peers.byNodeId(d.nodeId), undefined, 'a nearby node never talked to leaves');
    ch.say(heardOf(d));
    await until('D nearby again', () => a.nearby().some((x) => x.nodeId === d.nodeId));
    await a.shutdown();
    live.delete(a);
    const stored = JSON.stringify(new FileStore(dir, 100).loadPeers());
    assert.ok(stored.includes(b.nodeId), stored);
    assert.ok(!stored.includes(d.nodeId), `a nearby node nobody talked to is not stored: ${stored}`);
  });

  it('a blocked node leaves Nearby and the peers at once, and is not checked again; unblocked, it is back', async () => {
    const ch = new HandChannel();
    const a = await node('ana4', { discovery: { mode: 'lan', channels: [ch] } });
    const b = await node('bob4');
    let events = 0;
    a.on('nearby', () => events++);
    ch.say(heardOf(b));
    await until('B nearby', () => a.nearby().length === 1);
    const before = events;
    a.block(`node:${b.nodeId}`);
    assert.deepEqual(a.nearby(), []);
    assert.equal(a.peers.byNodeId(b.nodeId), undefined);
    assert.ok(events > before, 'the views are told');
    ch.say(heardOf(b));
    assert.deepEqual(a.nearby(), []);
    a.unblock(`node:${b.nodeId}`);
    assert.equal(a.nearby().length, 1);
    assert.ok(a.peers.byNodeId(b.nodeId));
  });

  it('quick setting changes end in the last one (starts and stops run in order)', async () => {
    const dir = path.join(tmpDir(), 'reg');
    const a = await node('ana6', { discovery: { mode: 'off', dir } });
    const mine = () => fs.existsSync(path.join(dir, registryFileName(a.nodeId)));
    const first = a.reconfigure({ discovery: { mode: 'machine', dir } });
    await a.reconfigure({ discovery: { mode: 'off', dir } });
    await first;
    assert.equal(mine(), false, 'machine then off: off');
    const again = a.reconfigure({ discovery: { mode: 'machine', dir } });
    const off = a.reconfigure({ discovery: { mode: 'off', dir } });
    await a.reconfigure({ discovery: { mode: 'machine', dir } });
    await Promise.all([again, off]);
    assert.equal(mine(), true, 'machine, off, machine: machine');
    assert.equal(a.discoveryMode, 'machine');
  });

  it('a check under way when the node stops is cut off: nothing stays open', async () => {
    // A server that accepts and never speaks: the check waits for a banner that does not come.
    const tarpit = net.createServer(() => undefined);
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
    const ch = new HandChannel();
    const a = await node('ana5', { discovery: { mode: 'lan', channels: [ch] }, limits: { probeWaitMs: 30_000 } });
    try {
      ch.say({ type: 'heard', ann: { v: PROTOCOL_VERSION, nodeId: ID_B, name: 'slow', port: (tarpit.address() as net.AddressInfo).port }, host: '127.0.0.1' });
      await until('the check connected', () => a.activeResources().timers > 0);
      await a.shutdown();
      live.delete(a);
      assert.equal(a.activeResources().timers, 0);
    } finally {
      tarpit.close();
    }
  });

  it('two nodes with one per-machine folder find each other; stop is a goodbye; off writes nothing', async () => {
    const dir = path.join(tmpDir(), 'reg');
    const a = await node('ana3', { discovery: { mode: 'machine', dir } });
    const off = await node('offy', { discovery: { mode: 'off', dir } });
    const b = await node('bob3', { discovery: { mode: 'machine', dir } });
    await until('A and B see each other', () => a.nearby().some((x) => x.nodeId === b.nodeId) && b.nearby().some((x) => x.nodeId === a.nodeId));
    assert.deepEqual(a.nearby().map((x) => [x.name, x.address, x.learnedFrom]), [['bob3', `127.0.0.1:${b.listeningPort}`, 'machine']]);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort(), [registryFileName(a.nodeId), registryFileName(b.nodeId)].sort(), 'the node with discovery off wrote nothing');
    assert.equal(off.nearby().length, 0);
    await b.stop();
    live.delete(b);
    await until('B left A’s Nearby', () => a.nearby().length === 0);
    assert.equal(a.peers.byNodeId(b.nodeId), undefined);
    await a.shutdown();
    live.delete(a);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.equal(a.activeResources().timers, 0, 'nothing left running');
  });
});
