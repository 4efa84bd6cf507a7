/** What a discovery channel (multicast DNS on the LAN, the per-machine folder) gives and takes. */
import type { LogLevel } from '../context';
import type { Announcement } from './announcement';
import type { DiscoveryChannelKind } from './nearby';

/** What a channel heard. `host` is where the node is reached: for the LAN the packet's source IP. */
export type Heard =
  | { type: 'heard'; ann: Announcement; host: string }
  | { type: 'goodbye'; nodeId: string; host: string; port: number }
  /** Something that could not be read: said in a rate-limited log line keyed by `from`. */
  | { type: 'refused'; from: string; reason: string };

/** This node as a channel announces it. */
export interface SelfAnnouncement {
  ann: Announcement;
  /** The bind address: the LAN channel announces nothing for a loopback one, and the per-machine
   *  folder says which host reaches the node. */
  bindHost: string;
}

export interface ChannelHooks {
  heard(h: Heard): void;
  log(level: LogLevel, text: string): void;
}

export interface DiscoveryChannel {
  readonly kind: DiscoveryChannelKind;
  /** Starts announcing `self` and listening; resolves once it runs (or logs why it cannot). */
  start(self: SelfAnnouncement, hooks: ChannelHooks): Promise<void>;
  /** Says goodbye (the others drop this node at once) and stops. */
  stop(): Promise<void>;
  /** Timers and sockets it holds (zero once stopped). */
  readonly resources: number;
}
