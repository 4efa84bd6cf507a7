// Discovery on one machine (issue 14): terminal peers with their own --data and one
// --discovery-dir find each other with --discovery machine, with no mDNS socket at all; a message
// to the discovered entry arrives natively; a peer that quits leaves the other's Nearby; one with
// --discovery off writes nothing into the folder.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI_PATH, cleanupAll, cliAvailable, cliPeers, type Cli, type Event, makeTempDir, startCli } from './helpers';

after(cleanupAll);

type NearbyPeer = { nodeId: string; name: string; address: string; learnedFrom: string };
const nearbyOf = (e: Event) => (e.type === 'nearby' && Array.isArray(e.peers) ? (e.peers as NearbyPeer[]) : undefined);

/** UDP sockets a process holds on port 5353 (mDNS), from /proc: none means it sends no mDNS. */
function mdnsSockets(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  let n = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1].endsWith(':14E9') && inodes.has(cols[9])) n++;
    }
  }
  return n;
}

describe('interop: discovery on one machine (--discovery machine)', { skip: !cliAvailable() && `build first: ${CLI_PATH} is missing` }, () => {
  it('two terminal peers with one --discovery-dir find each other, chat natively, and part', async () => {
    const dir = path.join(makeTempDir('peerchat-interop-disc-'), 'nearby');
    const args = ['--discovery', 'machine', '--discovery-dir', dir];
    const a = await startCli('dana', args);
    const b = await startCli('eli', args);
    const off = await startCli('quiet', ['--discovery', 'off', '--discovery-dir', dir]);
    const idOf = async (c: Cli) => String((await c.proc.waitFor((e) => e.type === 'listening', 'listening')).nodeId);
    const [ida, idb] = [await idOf(a), await idOf(b)];

    const sees = (c: Cli, id: string) => c.proc.waitFor((e) => !!nearbyOf(e)?.some((p) => p.nodeId === id), `${c.name} sees ${id.slice(0, 8)} nearby`, { timeoutMs: 10_000 });
    const [ea, eb] = await Promise.all([sees(a, idb), sees(b, ida)]);
    const bFromA = nearbyOf(ea)!.find((p) => p.nodeId === idb)!;
    assert.deepEqual({ name: bFromA.name, address: bFromA.address, learnedFrom: bFromA.learnedFrom }, { name: 'eli', address: `127.0.0.1:${b.port}`, learnedFrom: 'machine' });
    assert.equal(nearbyOf(eb)!.find((p) => p.nodeId === ida)?.address, `127.0.0.1:${a.port}`);
    assert.ok(!nearbyOf(ea)!.some((p) => p.name === 'quiet'), 'discovery off: not announced');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort(), [`${ida}.json`, `${idb}.json`].sort(), 'one file per announcing node, none for the one with discovery off');
    assert.equal((fs.statSync(dir).mode & 0o777).toString(8), '700');
    for (const c of [a, b, off]) assert.equal(mdnsSockets(c.proc.pid!), 0, `${c.name} has no mDNS socket: machine discovery sends no network packets`);

    const listed = (await cliPeers(a)).find((p) => p.address === bFromA.address) as { learnedFrom?: string; nodeId?: string } | undefined;
    assert.deepEqual({ learnedFrom: listed?.learnedFrom, nodeId: listed?.nodeId }, { learnedFrom: 'machine', nodeId: idb });

    // /nearby answers with the same list.
    const since = a.proc.mark();
    a.proc.send('/nearby');
    const answered = await a.proc.waitFor((e) => e.type === 'nearby', '/nearby', { since });
    assert.ok(nearbyOf(answered)!.some((p) => p.nodeId === idb));

    // A sends to the discovered entry: it arrives natively (from A's key), nothing typed but the entry.
    const sinceB = b.proc.mark();
    a.proc.send(`/send ${bFromA.address} hello from the folder`);
    const got = await b.proc.waitFor((e) => e.type === 'message' && e.text === 'hello from the folder', 'the message at eli', { since: sinceB });
    assert.equal(got.origin, ida, 'native: it carries the proven origin');
    await a.proc.waitFor((e) => e.type === 'delivered', 'delivered at dana');

    // B quits: its file goes, and A's Nearby follows.
    const sinceA = a.proc.mark();
    b.proc.send('/quit');
    await a.proc.waitFor((e) => !!nearbyOf(e) && !nearbyOf(e)!.some((p) => p.nodeId === idb), 'eli left dana’s Nearby', { since: sinceA, timeoutMs: 10_000 });
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.json')), [`${ida}.json`]);
  });

  it('a terminal peer killed with -9 leaves a file of a dead process: the other drops it at its next read and removes the file', async () => {
    const dir = path.join(makeTempDir('peerchat-interop-disc9-'), 'nearby');
    const args = ['--discovery', 'machine', '--discovery-dir', dir];
    const a = await startCli('fern', args);
    const b = await startCli('gus', args);
    const idb = String((await b.proc.waitFor((e) => e.type === 'listening', 'listening')).nodeId);
    await a.proc.waitFor((e) => !!nearbyOf(e)?.some((p) => p.nodeId === idb), 'gus nearby', { timeoutMs: 10_000 });
    const since = a.proc.mark();
    b.proc.child.kill('SIGKILL');
    assert.ok(fs.existsSync(path.join(dir, `${idb}.json`)), 'no goodbye: its file stays behind');
    // Polled every 2 s (registryPollMs): well within three announcement intervals.
    await a.proc.waitFor((e) => !!nearbyOf(e) && !nearbyOf(e)!.some((p) => p.nodeId === idb), 'gus dropped from Nearby', { since, timeoutMs: 10_000 });
    assert.equal(fs.existsSync(path.join(dir, `${idb}.json`)), false, 'the dead process’s file is removed');
  });
});
