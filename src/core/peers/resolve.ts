/** Which peer an operation means: a conversation id ("node:ID") or an address. */
import { addressKey, parseAddress, tryParseAddress } from '../address';
import { PeerChatError } from '../errors';
import type { Self } from '../self';
import type { PeerRecord, PeerTable } from './table';

export function findPeer(peers: PeerTable, target: string): PeerRecord | undefined {
  if (target.startsWith('node:')) return peers.byNodeId(target.slice(5));
  const addr = tryParseAddress(target);
  return addr ? peers.get(addressKey(addr)) : undefined;
}

/** The peer for `target`; an unknown address is added (unless `create` is false). Never this node. */
export function resolvePeer(peers: PeerTable, self: Self, target: string, create = true): PeerRecord {
  const found = findPeer(peers, target);
  if (found) return found;
  if (target.startsWith('node:')) throw new PeerChatError('ERR_BAD_ADDRESS', `no known peer with node id ${target.slice(5)}`);
  const addr = parseAddress(target);
  if (!create) throw new PeerChatError('ERR_BAD_ADDRESS', `${addressKey(addr)} is not a known peer`);
  if (self.isMe(addr)) throw new PeerChatError('ERR_BAD_ADDRESS', `${addressKey(addr)} is this node's own address`);
  return peers.upsert(addr, { source: 'connect' });
}

/** What may be sent at all: not blank, not over the size limit. */
export function checkText(text: string, maxBytes: number): void {
  if (text.trim() === '') throw new PeerChatError('ERR_BAD_INPUT', 'cannot send an empty message');
  if (Buffer.byteLength(text) > maxBytes) throw new PeerChatError('ERR_TOO_LARGE', `message is larger than ${maxBytes / 1024} KiB`);
}
