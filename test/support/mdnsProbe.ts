// A raw mDNS process for the LAN discovery test, run inside a test network namespace only:
//   node --import tsx test/support/mdnsProbe.ts IFACE_IP
// It listens on 224.0.0.251:5353 (sharing the port) and prints one JSON line per packet heard:
// {"type":"packet","from":IP,"kind":"query"|"response","ids":[node ids in PeerChat TXT records]}.
// On stdin, `forge NODEID PORT NAME` sends a PeerChat announcement built by hand (not by the
// node's code) claiming NODEID at PORT of this namespace's address, three times, then prints
// {"type":"forged"}. Never run it on the host's own interfaces: it multicasts.
import makeMdns from 'multicast-dns';
import * as readline from 'node:readline';

const iface = process.argv[2];
if (!iface) {
  process.stderr.write('usage: mdnsProbe.ts IFACE_IP\n');
  process.exit(2);
}
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const mdns = makeMdns({ interface: iface, bind: '0.0.0.0', reuseAddr: true, loopback: false });
mdns.on('warning', () => undefined);
mdns.on('error', (err: Error) => out({ type: 'error', message: err.message }));
mdns.on('ready', () => out({ type: 'ready' }));
mdns.on('packet', (packet, rinfo) => {
  const ids: string[] = [];
  for (const r of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
    if (r.type !== 'TXT') continue;
    for (const s of Array.isArray(r.data) ? r.data : [r.data]) {
      const m = /^id=([0-9a-f]{64})$/.exec(String(s));
      if (m) ids.push(m[1]);
    }
  }
  out({ type: 'packet', from: rinfo.address, kind: packet.type, ids });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, nodeId, port, name] = line.trim().split(' ');
  if (cmd !== 'forge') return;
  const instance = `forged-${nodeId.slice(0, 8)}._peerchat._tcp.local`;
  const packet = {
    answers: [
      { type: 'PTR' as const, name: '_peerchat._tcp.local', ttl: 30, data: instance },
      { type: 'SRV' as const, name: instance, ttl: 30, data: { port: Number(port), target: 'forger.local', priority: 0, weight: 0 } },
      { type: 'TXT' as const, name: instance, ttl: 30, data: ['v=2', `id=${nodeId}`, `name=${name}`] },
    ],
  };
  let left = 3;
  const again = () => {
    mdns.respond(packet, () => {
      if (--left > 0) setTimeout(again, 150);
      else out({ type: 'forged' });
    });
  };
  again();
});
