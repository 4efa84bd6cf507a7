/**
 * PeerChat's DNS-SD service over multicast DNS (RFC 6762/6763), as packets: what a node sends
 * (its PTR, SRV, TXT and A records; the same with TTL 0 to say goodbye; the browse query) and what
 * it reads from a response. Pure: packets in and out as dns-packet objects, no socket.
 *
 * Only the TXT record (version, node id, name) and the SRV port are believed, and only as a hint;
 * the host is the packet's source address, never an A record: an announcement cannot send the
 * nodes of a LAN to dial a third machine.
 */
import type { Answer, Packet, Question, SrvAnswer, TxtAnswer } from 'dns-packet';
import { Announcement, fromTxt, isNodeId, toTxt } from './announcement';
import type { Heard } from './channel';

/** The DNS-SD service type of PeerChat nodes. */
export const SERVICE = '_peerchat._tcp.local';

/** The instance label: unique per node (16 hex digits of its id), the name goes in the TXT record. */
export function instanceName(nodeId: string): string {
  return `peerchat-${nodeId.slice(0, 16)}.${SERVICE}`;
}

function hostName(nodeId: string): string {
  return `peerchat-${nodeId.slice(0, 16)}.local`;
}

/**
 * Our records: PTR (the service has this instance), SRV (its port), TXT (v, id, name) and an A
 * record per address. TTL 0 is the goodbye (RFC 6762 §10.1).
 */
export function announcementPacket(a: Announcement, ips: readonly string[], ttlSeconds: number): Packet {
  const instance = instanceName(a.nodeId);
  const target = hostName(a.nodeId);
  const answers: Answer[] = [
    { type: 'PTR', name: SERVICE, ttl: ttlSeconds, data: instance },
    { type: 'SRV', name: instance, ttl: ttlSeconds, flush: true, data: { port: a.port, target, priority: 0, weight: 0 } },
    { type: 'TXT', name: instance, ttl: ttlSeconds, flush: true, data: toTxt(a) },
  ];
  const additionals: Answer[] = ips.map((ip) => ({ type: 'A', name: target, ttl: ttlSeconds, flush: true, data: ip }));
  return { type: 'response', flags: 0x400 /* authoritative */, answers, additionals };
}

/** The browse query: who offers the PeerChat service? */
export function browseQuery(): Packet {
  return { type: 'query', questions: [{ name: SERVICE, type: 'PTR' }] };
}

/** Whether a query asks for our service (or for any record of it). */
export function asksForService(packet: { questions?: readonly Question[] }, maxRecords: number): boolean {
  const qs = packet.questions;
  if (!Array.isArray(qs) || qs.length > maxRecords) return false;
  return qs.some((q) => typeof q?.name === 'string' && q.name.toLowerCase() === SERVICE && (q.type === 'PTR' || q.type === 'ANY'));
}

const INSTANCE_SUFFIX = `.${SERVICE}`;

/**
 * What a response says about PeerChat nodes: an announcement (heard) or a goodbye per instance
 * with both an SRV and a TXT record, reached at `sourceIp`. Anything malformed is one `refused`.
 */
export function readResponse(packet: { answers?: readonly Answer[]; additionals?: readonly Answer[] }, sourceIp: string, maxRecords: number, maxTxtBytes: number): Heard[] {
  const answers = Array.isArray(packet.answers) ? packet.answers : [];
  const additionals = Array.isArray(packet.additionals) ? packet.additionals : [];
  const all = [...answers, ...additionals];
  const ours = all.filter((r) => typeof r?.name === 'string' && r.name.toLowerCase().endsWith(INSTANCE_SUFFIX));
  if (ours.length === 0) return [];
  if (all.length > maxRecords) return [{ type: 'refused', from: sourceIp, reason: `an mDNS packet with ${all.length} records (at most ${maxRecords} are read)` }];
  const srv = new Map<string, SrvAnswer>();
  const txt = new Map<string, TxtAnswer>();
  for (const r of ours) {
    const name = r.name.toLowerCase();
    if (r.type === 'SRV' && !srv.has(name)) srv.set(name, r);
    else if (r.type === 'TXT' && !txt.has(name)) txt.set(name, r);
  }
  const out: Heard[] = [];
  for (const [name, s] of srv) {
    const t = txt.get(name);
    if (!t) continue; // an SRV alone says nothing about who it is
    const a = fromTxt(t.data, s.data?.port, maxTxtBytes);
    if (!a.ok) {
      out.push({ type: 'refused', from: sourceIp, reason: `an announcement that cannot be read: ${a.error}` });
      continue;
    }
    if (!isNodeId(a.value.nodeId)) continue;
    const goodbye = s.ttl === 0 || t.ttl === 0;
    out.push(goodbye ? { type: 'goodbye', nodeId: a.value.nodeId, host: sourceIp, port: a.value.port } : { type: 'heard', ann: a.value, host: sourceIp });
  }
  return out;
}
