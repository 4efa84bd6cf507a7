// Discovery on a LAN (issue 14), on a real network and no mocks: network namespaces joined by a
// bridge (inside a namespace of their own, so nothing touches the host's interfaces), addresses
// from the documentation range 192.0.2.0/24, a terminal peer in each with its defaults (bound to
// 0.0.0.0, discovery "lan") and a per-namespace --discovery-dir, so only multicast DNS can find
// the others. Needs root and iproute2; skipped with the reason otherwise. Every packet stays
// inside the namespaces this file makes; they are removed at the end, also after a failure.
//
//   A, B, C  peers with defaults: each lists the other two as nearby within 15 s (right node id)
//   A → B    a message to the discovered entry arrives natively (TLS: encrypted, key proven)
//   D        a PeerChat node with discovery off, plus a raw mDNS process (listener and forger):
//            it forges B's node id at D's port; A and C show it as spoofed, never trust it
//   E        a peer bound to 127.0.0.1 with discovery "lan": announces nothing, never seen
//   F        a peer with --discovery off: not one packet from its address
//   B quits  A and C drop it from Nearby (its goodbye)
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { type Cli, CLI_PATH, cleanupAll, cliAvailable, cliPeers, type Event, JsonProc, makeTempDir, REPO_ROOT } from './helpers';

const PREFIX = 'pcd';
const RUN = `${PREFIX}${process.pid}`;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
type Ns = (typeof NAMES)[number];
const ns = (x: Ns | 'hub') => `${RUN}-${x}`;
const ip = (x: Ns) => `192.0.2.${11 + NAMES.indexOf(x)}`;
const PORT = 47100;

function run(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

function must(args: string[]): void {
  const r = run(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out.trim()}`);
}

/** Why this machine cannot run the test, or undefined when it can. */
function cannotRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (CI runs as root)';
  if (!run(['-V']).ok) return 'needs iproute2 (the ip command): apt-get install iproute2';
  if (!cliAvailable()) return `build first: ${CLI_PATH} is missing`;
  // Everything setup() needs, once in small: namespaces, a bridge, a veth pair across them.
  const [p1, p2] = [`${RUN}-probe1`, `${RUN}-probe2`];
  const steps = [
    ['netns', 'add', p1],
    ['netns', 'add', p2],
    ['-n', p1, 'link', 'add', 'br0', 'type', 'bridge'],
    ['link', 'add', 'eth0', 'netns', p2, 'type', 'veth', 'peer', 'name', 'p-x', 'netns', p1],
    ['-n', p1, 'link', 'set', 'p-x', 'master', 'br0', 'up'],
  ];
  let why: string | undefined;
  for (const step of steps) {
    const r = run(step);
    if (!r.ok) {
      why = `cannot build test networks here (ip ${step.join(' ')}): ${r.out.trim()}`;
      break;
    }
  }
  run(['netns', 'del', p1]);
  run(['netns', 'del', p2]);
  return why;
}

/** Namespaces of earlier runs whose process is gone (a run killed before its cleanup). */
function removeLeftovers(): void {
  const list = run(['netns', 'list']).out;
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) run(['netns', 'del', name]);
  }
}

let made = false;
function teardown(): void {
  if (!made) return;
  made = false;
  for (const x of [...NAMES, 'hub'] as const) run(['netns', 'del', ns(x)]);
}

/** hub: a bridge; a..f: one veth each into the bridge, 192.0.2.11-16/24, multicast on. */
function setup(): void {
  removeLeftovers();
  made = true;
  process.once('exit', teardown);
  must(['netns', 'add', ns('hub')]);
  must(['-n', ns('hub'), 'link', 'add', 'br0', 'type', 'bridge']);
  must(['-n', ns('hub'), 'link', 'set', 'br0', 'up']);
  for (const x of NAMES) {
    must(['netns', 'add', ns(x)]);
    must(['link', 'add', 'eth0', 'netns', ns(x), 'type', 'veth', 'peer', 'name', `p-${x}`, 'netns', ns('hub')]);
    must(['-n', ns('hub'), 'link', 'set', `p-${x}`, 'master', 'br0', 'up']);
    must(['-n', ns(x), 'addr', 'add', `${ip(x)}/24`, 'dev', 'eth0']);
    must(['-n', ns(x), 'link', 'set', 'eth0', 'multicast', 'on', 'up']);
    must(['-n', ns(x), 'link', 'set', 'lo', 'up']);
  }
}

const skip = cannotRun();

after(async () => {
  await cleanupAll();
  teardown();
});

type NearbyPeer = { nodeId: string; name: string; address: string; learnedFrom: string };
type Spoofed = { nodeId: string; address: string; answeredBy?: string };
const nearbyOf = (e: Event) => (e.type === 'nearby' && Array.isArray(e.peers) ? (e.peers as NearbyPeer[]) : undefined);
const spoofedOf = (e: Event) => (e.type === 'nearby' && Array.isArray(e.spoofed) ? (e.spoofed as Spoofed[]) : []);

/** The environment of a peer with true defaults: nothing of the test run's discovery settings. */
function defaultsEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PEERCHAT_DISCOVERY;
  delete env.PEERCHAT_DISCOVERY_DIR;
  return env;
}

async function peer(x: Ns, name: string, extra: string[] = []): Promise<Cli & { nodeId: string }> {
  const base = makeTempDir(`peerchat-lan-${x}-`);
  const args = ['netns', 'exec', ns(x), process.execPath, CLI_PATH, '--port', String(PORT), '--name', name, '--data', `${base}/data`, '--discovery-dir', `${base}/nearby`, '--json', ...extra];
  const proc = new JsonProc(`${name} (${ns(x)})`, 'ip', args, { env: defaultsEnv() });
  const ev = await proc.waitFor((e) => e.type === 'listening', 'listening', { timeoutMs: 10_000 });
  return { proc, port: PORT, address: String(ev.address), name, dataDir: `${base}/data`, nodeId: String(ev.nodeId) };
}

describe('LAN discovery in network namespaces (DNS-SD over multicast DNS)', { skip }, () => {
  it('peers on one LAN find each other, chat natively, ignore a forgery, and see nothing of loopback-bound or discovery-off peers', { timeout: 90_000 }, async () => {
    setup();
    // The raw listener first: it hears everything said on the LAN from here on.
    const probe = new JsonProc('mdns probe (d)', 'ip', ['netns', 'exec', ns('d'), process.execPath, '--import', 'tsx', `${REPO_ROOT}/test/support/mdnsProbe.ts`, ip('d')], { cwd: REPO_ROOT });
    await probe.waitFor((e) => e.type === 'ready', 'the probe listening');
    // Those that must stay silent start before the others: they would have answered every query.
    const e = await peer('e', 'elle', ['--host', '127.0.0.1']);
    const f = await peer('f', 'fay', ['--discovery', 'off']);
    const d = await peer('d', 'dora', ['--discovery', 'off']);
    const a = await peer('a', 'ana');
    const b = await peer('b', 'bob');
    const c = await peer('c', 'cy');
    const abc = { a, b, c };

    // Within 15 s each of A, B, C lists the other two, with the right node id, at its LAN address.
    const t0 = Date.now();
    for (const [x, me] of Object.entries(abc) as [Ns, typeof a][]) {
      const others = (Object.entries(abc) as [Ns, typeof a][]).filter(([y]) => y !== x);
      const ev = await me.proc.waitFor(
        (ev) => {
          const list = nearbyOf(ev);
          return !!list && others.every(([y, o]) => list.some((p) => p.nodeId === o.nodeId && p.address === `${ip(y)}:${PORT}` && p.learnedFrom === 'lan'));
        },
        `${x} lists the other two as nearby`,
        { timeoutMs: Math.max(1, 15_000 - (Date.now() - t0)) },
      );
      assert.ok(!nearbyOf(ev)!.some((p) => [d.nodeId, e.nodeId, f.nodeId].includes(p.nodeId)), `${x} lists only A, B, C`);
    }

    // A sends to B by the discovered entry: it arrives natively, over TLS with A's key proven.
    const sinceB = b.proc.mark();
    a.proc.send(`/send ${ip('b')}:${PORT} hello over the LAN`);
    const got = await b.proc.waitFor((ev) => ev.type === 'message' && ev.text === 'hello over the LAN', 'the message at B', { since: sinceB });
    assert.equal(got.origin, a.nodeId, 'native: it carries A’s proven origin');
    await a.proc.waitFor((ev) => ev.type === 'delivered', 'delivered at A');
    const aAtB = (await cliPeers(b)).find((p) => (p as { nodeId?: string }).nodeId === a.nodeId) as { protocol?: string; encrypted?: boolean } | undefined;
    assert.deepEqual({ protocol: aAtB?.protocol, encrypted: aAtB?.encrypted }, { protocol: 'native', encrypted: true });

    // A forged announcement: B's node id at D's port, from D's address (D's key answers there).
    const sinceA = a.proc.mark();
    const sinceC = c.proc.mark();
    probe.send(`forge ${b.nodeId} ${PORT} bob`);
    await probe.waitFor((ev) => ev.type === 'forged', 'the forgery sent');
    for (const [x, me, since] of [['a', a, sinceA], ['c', c, sinceC]] as const) {
      const ev = await me.proc.waitFor((ev) => spoofedOf(ev).some((s) => s.nodeId === b.nodeId), `${x} shows the forgery as spoofed`, { since, timeoutMs: 10_000 });
      assert.deepEqual(spoofedOf(ev).find((s) => s.nodeId === b.nodeId), { nodeId: b.nodeId, name: 'bob', address: `${ip('d')}:${PORT}`, learnedFrom: 'lan', answeredBy: d.nodeId });
      assert.equal(nearbyOf(ev)!.find((p) => p.nodeId === b.nodeId)?.address, `${ip('b')}:${PORT}`, 'B stays at its own address');
      assert.ok(!nearbyOf(ev)!.some((p) => p.address === `${ip('d')}:${PORT}`), 'nothing at the forged address is nearby');
    }
    const dAtA = (await cliPeers(a)).find((p) => p.address === `${ip('d')}:${PORT}`);
    assert.equal(dAtA, undefined, 'the forged address never joins the peers');

    // B quits: its goodbye takes it out of A's and C's Nearby.
    const [qa, qc] = [a.proc.mark(), c.proc.mark()];
    b.proc.send('/quit');
    for (const [x, me, since] of [['a', a, qa], ['c', c, qc]] as const) {
      await me.proc.waitFor((ev) => !!nearbyOf(ev) && !nearbyOf(ev)!.some((p) => p.nodeId === b.nodeId), `${x} drops B from Nearby`, { since, timeoutMs: 10_000 });
    }

    // The listener heard A, B and C (after E and F had started, so they had every query to
    // answer) and not one packet from E's or F's address; D's node sent nothing either.
    const packets = probe.events.filter((ev) => ev.type === 'packet') as unknown as { from: string; kind: string; ids: string[] }[];
    for (const x of ['a', 'b', 'c'] as const) assert.ok(packets.some((p) => p.from === ip(x) && p.ids.includes(abc[x].nodeId)), `the listener heard ${x}`);
    assert.deepEqual(packets.filter((p) => p.from === ip('e') || p.from === ip('f')), [], 'a loopback-bound peer and discovery off: no packet at all');
    assert.ok(!packets.some((p) => p.ids.includes(e.nodeId) || p.ids.includes(f.nodeId) || p.ids.includes(d.nodeId)), 'their ids were never announced');
  });
});
