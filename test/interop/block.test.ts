// Block Peer in the terminal peer (issue 12): the real `dist/cli.js --json` on 127.0.0.1 gets
// `/block`, `/blocked` and `/unblock`: a blocked address leaves /peers, what claims it is not
// shown, it is never sent to; a blocked IP (127.0.0.2 as a second source address) is closed at
// once; the list survives a restart with the same --data; unblock brings the peer back.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { CLI_PATH, classicReceiver, cleanupAll, cliAvailable, cliPeers, HOST, rawSend, settle, startCli } from './helpers';
import { silentClient } from '../support/silentClient';

describe('the terminal peer: /block, /blocked, /unblock', { skip: !cliAvailable() && `build first: ${CLI_PATH} is missing` }, () => {
  afterEach(cleanupAll);
  after(cleanupAll);

  it('blocks an address and an IP, keeps the list across a restart, and unblocks', async () => {
    const rx = await classicReceiver(HOST);
    try {
      let cli = await startCli('blocker');
      const { proc } = cli;
      await rawSend(cli.port, `${rx.addr} mallory hello before`);
      await proc.waitFor((e) => e.type === 'message' && e.text === 'hello before', 'the message before the block');

      let since = proc.mark();
      proc.send(`/block ${rx.addr}`);
      const blocked = await proc.waitFor((e) => e.type === 'blocked', 'the blocked event', { since });
      assert.equal(blocked.target, rx.addr);
      assert.equal(blocked.kind, 'address');
      assert.deepEqual(blocked.removed, [rx.addr]);
      assert.equal(blocked.label, 'mallory');
      assert.ok(!(await cliPeers(cli)).some((p) => p.address === rx.addr), 'it left /peers');

      // What claims the blocked address is not shown; sending to it is refused with the reason.
      since = proc.mark();
      await rawSend(cli.port, `${rx.addr} mallory hello after`);
      proc.send(`/send ${rx.addr} are you there`);
      const refused = await proc.waitFor((e) => e.type === 'error', 'the refusal of /send', { since });
      assert.match(String(refused.message), new RegExp(`${rx.addr.replace(/\./g, '\\.')} is blocked`));
      await settle(cli);
      assert.equal(proc.find((e) => e.type === 'message' && e.text === 'hello after', since), undefined, 'nothing from the blocked address is shown');
      assert.deepEqual(rx.got, [], 'the blocked address was never dialed');

      since = proc.mark();
      proc.send('/block 127.0.0.2');
      await proc.waitFor((e) => e.type === 'blocked' && e.target === '127.0.0.2', 'the IP blocked', { since });
      assert.deepEqual(await silentClient(HOST, cli.port, '127.0.0.2', 3000), { closed: true, bytes: 0 }, 'a connection from the blocked IP is closed at once');

      since = proc.mark();
      proc.send('/block not-a-target');
      assert.match(String((await proc.waitFor((e) => e.type === 'error', 'a bad target', { since })).message), /expected HOST:PORT, an IP, or a node id/);

      // Restart with the same data folder: the list is still there and still enforced.
      const dataDir = cli.dataDir;
      proc.send('/quit');
      await proc.waitExit(8000);
      cli = await startCli('blocker', ['--data', dataDir]);
      since = cli.proc.mark();
      cli.proc.send('/blocked');
      const list = await cli.proc.waitFor((e) => e.type === 'blocklist', 'the block list', { since });
      assert.deepEqual(
        (list.entries as { target: string }[]).map((e) => e.target),
        [rx.addr, '127.0.0.2'],
      );
      assert.deepEqual(await silentClient(HOST, cli.port, '127.0.0.2', 3000), { closed: true, bytes: 0 }, 'still closed after the restart');

      since = cli.proc.mark();
      cli.proc.send(`/unblock ${rx.addr}`);
      const unblocked = await cli.proc.waitFor((e) => e.type === 'unblocked', 'the unblocked event', { since });
      assert.deepEqual(unblocked.restored, [rx.addr]);
      assert.ok((await cliPeers(cli)).some((p) => p.address === rx.addr && p.name === 'mallory'), 'back in /peers with its name');
      await rawSend(cli.port, `${rx.addr} mallory hello again`);
      await cli.proc.waitFor((e) => e.type === 'message' && e.text === 'hello again', 'a message after the unblock', { since });

      since = cli.proc.mark();
      cli.proc.send(`/unblock ${rx.addr}`);
      assert.match(String((await cli.proc.waitFor((e) => e.type === 'error', 'a second unblock', { since })).message), /is not blocked/);
    } finally {
      await rx.close();
    }
  });
});
