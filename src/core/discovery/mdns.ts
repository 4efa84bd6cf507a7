/**
 * Discovery on the LAN: DNS-SD over multicast DNS (224.0.0.251:5353) with the multicast-dns
 * library. The socket shares port 5353 with the OS's own responder (Avahi, Bonjour: SO_REUSEADDR).
 * A node bound to a loopback address announces nothing and does not listen: it cannot be reached
 * from the LAN. Announces at start, one second later, then every announceIntervalMs; answers
 * browse queries (at most once per mdnsAnswerEveryMs, after a random 20-120 ms as RFC 6762 asks);
 * says goodbye (TTL 0) when it stops.
 */
import * as os from 'node:os';
import type makeMdns from 'multicast-dns';
import { isLoopback, isUnspecified } from '../address';
import type { ChannelHooks, DiscoveryChannel, SelfAnnouncement } from './channel';
import { announcementPacket, asksForService, browseQuery, readResponse } from './dnssd';

export interface LanOptions {
  intervalMs: number;
  /** Records say they are valid this long (the Nearby table expires entries by the same rule). */
  expireMs: number;
  answerEveryMs: number;
  maxRecords: number;
  maxTxtBytes: number;
  /** Largest packet read (RFC 6762 §17: 9000 bytes). */
  maxPacketBytes?: number;
}

/** The non-internal IPv4 addresses this node is reached at on the LAN. */
export function lanAddresses(bindHost: string): string[] {
  if (!isUnspecified(bindHost)) return bindHost.includes(':') ? [] : [bindHost];
  const ips: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) ips.push(i.address);
  return ips;
}

export class LanChannel implements DiscoveryChannel {
  readonly kind = 'lan' as const;
  private mdns: makeMdns.MulticastDNS | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private interval: NodeJS.Timeout | undefined;
  private self: SelfAnnouncement | undefined;
  private hooks: ChannelHooks | undefined;
  private ips: string[] = [];
  private lastAnswer = 0;
  private stopped = false;

  constructor(private readonly o: LanOptions) {}

  get resources(): number {
    return this.timers.size + (this.interval ? 1 : 0) + (this.mdns ? 1 : 0);
  }

  async start(self: SelfAnnouncement, hooks: ChannelHooks): Promise<void> {
    this.self = self;
    this.hooks = hooks;
    if (isLoopback(self.bindHost)) {
      hooks.log('info', `LAN discovery: nothing announced, bound to ${self.bindHost} (this machine only)`);
      return;
    }
    if (self.bindHost.includes(':') && !isUnspecified(self.bindHost)) {
      hooks.log('info', `LAN discovery: announced over IPv4 only; bound to ${self.bindHost}`);
      return;
    }
    this.ips = lanAddresses(self.bindHost);
    this.stopped = false;
    await this.open();
    if (this.stopped) return; // stopped while the socket was opening
    this.interval = setInterval(() => this.tick(), this.o.intervalMs);
    this.interval.unref?.();
  }

  private async open(): Promise<void> {
    const hooks = this.hooks!;
    // With one LAN address (or a bind to one) packets go out there; with several, where the
    // system routes multicast.
    const iface = this.ips.length === 1 ? this.ips[0] : undefined;
    let mdns: makeMdns.MulticastDNS;
    try {
      // Loaded when first used, not when the extension activates.
      const { default: create } = await import('multicast-dns');
      mdns = create({ reuseAddr: true, ...(iface ? { interface: iface, bind: '0.0.0.0' } : {}) });
    } catch (err) {
      hooks.log('warn', `LAN discovery is off: ${(err as Error).message}`);
      return;
    }
    this.mdns = mdns;
    const ready = await new Promise<boolean>((resolve) => {
      const onError = (err: Error) => {
        mdns.off('ready', onReady);
        hooks.log('warn', `LAN discovery is off: could not use mDNS port 5353: ${err.message}`);
        resolve(false);
      };
      const onReady = () => {
        mdns.off('error', onError);
        resolve(true);
      };
      mdns.once('ready', onReady);
      mdns.once('error', onError);
    });
    mdns.on('error', (err: Error) => hooks.log('warn', `LAN discovery: ${err.message}`));
    mdns.on('warning', (err: Error) => hooks.log('trace', `LAN discovery: ${err.message}`));
    if (!ready || this.mdns !== mdns || this.stopped) {
      if (this.mdns === mdns) this.mdns = undefined;
      mdns.destroy();
      return;
    }
    mdns.on('response', (packet, rinfo) => {
      if (rinfo.size > (this.o.maxPacketBytes ?? 9000)) return;
      for (const h of readResponse(packet, rinfo.address, this.o.maxRecords, this.o.maxTxtBytes)) hooks.heard(h);
    });
    mdns.on('query', (packet) => {
      if (asksForService(packet, this.o.maxRecords)) this.answerSoon();
    });
    this.announce();
    this.later(1000, () => this.announce());
    mdns.query(browseQuery() as makeMdns.QueryOutgoingPacket);
    hooks.log('info', `LAN discovery: announcing _peerchat._tcp on ${this.ips.join(', ') || 'no LAN address yet'}`);
  }

  /** Every interval: announce again, or start over on the new addresses after a network change. */
  private tick(): void {
    const now = lanAddresses(this.self!.bindHost);
    if (now.join(',') !== this.ips.join(',')) {
      this.ips = now;
      const old = this.mdns;
      this.mdns = undefined;
      old?.destroy();
      void this.open();
      return;
    }
    this.announce();
  }

  private announce(ttl = Math.ceil(this.o.expireMs / 1000), done?: () => void): void {
    const m = this.mdns;
    if (!m || !this.self) {
      done?.();
      return;
    }
    m.respond(announcementPacket(this.self.ann, this.ips, ttl) as makeMdns.ResponseOutgoingPacket, (err?: Error | null) => {
      if (err) this.hooks?.log('trace', `LAN discovery: could not announce: ${err.message}`);
      done?.();
    });
  }

  private answerSoon(): void {
    const at = Date.now();
    if (at - this.lastAnswer < this.o.answerEveryMs) return;
    this.lastAnswer = at;
    this.later(20 + Math.floor(Math.random() * 100), () => this.announce());
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    this.interval = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const m = this.mdns;
    if (!m) return;
    // The goodbye goes out before the socket closes (bounded: a send that never calls back).
    await new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, 500);
      this.announce(0, () => {
        clearTimeout(bound);
        resolve();
      });
    });
    this.mdns = undefined;
    m.destroy();
  }
}
