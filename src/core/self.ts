/**
 * Who this node is on the network, and the one rule for "is this address me". Both the node
 * (before dialing or listing an address) and the classic reader (a header naming this node) ask it.
 */
import * as os from 'node:os';
import { formatHostPort, isLoopback, isUnspecified, PeerAddress } from './address';
import type { SelfIdentity } from './classic/dialects/types';

/** The addresses that reach this node: its port, and the hosts that lead to this machine. */
export interface OwnAddresses {
  port: number;
  /** The advertised IP, the bind address and this machine's interface IPs. */
  hosts: ReadonlySet<string>;
}

/**
 * Whether host:port is this node. `seenFrom` is the socket IP of the sender that wrote the
 * address: a loopback or unspecified host written on another machine is that machine, not us.
 */
export function isOwnAddress(addr: PeerAddress, own: OwnAddresses, seenFrom?: string): boolean {
  if (addr.port !== own.port) return false;
  const host = addr.host.toLowerCase();
  if (isLoopback(host) || isUnspecified(host)) return seenFrom === undefined || isLoopback(seenFrom);
  return own.hosts.has(host);
}

/** This machine's interface IPs (lowercase). */
function localIps(): Set<string> {
  const set = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) set.add(i.address.toLowerCase());
  return set;
}

/** What the parts read of this node's settings, live (a reconfigure changes them). */
export interface SelfSettings {
  name: string;
  host: string;
  advertisedIp: string;
  port: number;
}

/** This node as peers see it: its name, the address its headers carry, and "is this me". */
export class Self {
  private boundPort = 0;
  private ips: Set<string> | undefined;
  private ownCache: { key: string; own: OwnAddresses } | undefined;

  constructor(private readonly settings: () => SelfSettings) {}

  get name(): string {
    return this.settings().name;
  }

  get advertisedIp(): string {
    return this.settings().advertisedIp;
  }

  /** The port we listen on (the configured one until bound). */
  get port(): number {
    return this.boundPort || this.settings().port;
  }

  /** The address written into headers and hellos. */
  get address(): string {
    return formatHostPort(this.advertisedIp, this.port);
  }

  bound(port: number): void {
    this.boundPort = port;
  }

  identity(): SelfIdentity {
    return { ip: this.advertisedIp, port: this.port, name: this.name };
  }

  own(): OwnAddresses {
    // Asked for every classic message: built again only when the settings or the bound port
    // changed. Interface IPs are read once per node: the lookup costs more than a message.
    const s = this.settings();
    const key = `${this.port} ${s.advertisedIp} ${s.host}`;
    if (this.ownCache?.key !== key) {
      this.ips ??= localIps();
      this.ownCache = { key, own: { port: this.port, hosts: new Set([...this.ips, s.advertisedIp.toLowerCase(), s.host.toLowerCase()]) } };
    }
    return this.ownCache.own;
  }

  /** Whether an address we would dial or list is this node. */
  isMe(addr: PeerAddress): boolean {
    return isOwnAddress(addr, this.own());
  }
}
