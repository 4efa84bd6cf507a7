/** What the node is built with, and what it reports. */
import type { ChatMessage, NodeStatus } from './chatTypes';
import type { LogLevel } from './context';
import type { DiscoverySettings } from './discovery/discovery';
import type { Identity } from './identity/identity';
import type { Limits } from './limits';
import type { Store } from './store';
import type { Transport } from './transport';

export interface NodeOptions {
  /** Bind address: 0.0.0.0 listens on every interface. */
  host: string;
  port: number;
  name: string;
  /** IP written into classic headers so peers can answer. */
  advertisedIp: string;
  /** Probe peers every this many seconds and mark silent ones inactive; 0 = never. */
  inactiveAfterSeconds?: number;
  limits?: Partial<Limits>;
  store?: Store;
  /** Clock, injectable for tests. */
  now?: () => number;
  /** Tell native peers when the user has seen their messages. */
  readReceipts?: boolean;
  /** Speak the native protocol with PeerChat peers (default true). */
  native?: boolean;
  /** Where listening and dialing go (default real TCP); tests pass an in-memory one. */
  transport?: Transport;
  /** This node's key and certificate (default: the store's). */
  identity?: Identity;
  /** Finding PeerChat nodes nearby: "lan" (the LAN and this machine), "machine", "off" (the default
   *  here: the extension and the terminal peer choose). */
  discovery?: DiscoverySettings;
}

export interface NodeEvents {
  status: [NodeStatus];
  peers: [];
  /** A message was added to history or changed (state); same id = same message. */
  message: [ChatMessage];
  log: [LogLevel, string];
  /** The block list changed (block, unblock). */
  blocked: [];
  /** The nearby nodes (or the spoofed announcements) changed. */
  nearby: [];
}
