/** Who a classic message is from, and whether an address it names is this node. */
import { isValidHost, PeerAddress, tryParseAddress, isLoopback } from '../../address';
import { isOwnAddress } from '../../self';
import { FamilyFields, ParseContext } from './types';

function selfOf(ctx: ParseContext): { ip: string; port: number } | undefined {
  const a = ctx.selfAddress ? tryParseAddress(ctx.selfAddress) : undefined;
  if (a) return { ip: a.host, port: a.port };
  return ctx.self ? { ip: ctx.self.ip, port: ctx.self.port } : undefined;
}

/** Whether host:port, as the sender on `ctx.remoteIp` wrote it, is this node (the rule in self.ts). */
export function isSelfHeader(host: string, port: number, ctx: ParseContext): boolean {
  const me = selfOf(ctx);
  if (!me) return false;
  const hosts = new Set(ctx.own?.hosts ?? []);
  hosts.add(me.ip.toLowerCase());
  return isOwnAddress({ host, port }, { port: me.port, hosts }, ctx.remoteIp);
}

/**
 * Who the message is from (or, for an exit, who left), keyed as the guide says: the socket IP and
 * the listening port; never this node.
 */
export function attribute(f: FamilyFields, ctx: ParseContext, headerIsSelf: boolean, listenPort: number | undefined): PeerAddress | undefined {
  const remote = ctx.remoteIp;
  const usableHeader = f.headerHost !== undefined && f.headerPort !== undefined && !headerIsSelf;
  let host = remote;
  let port = listenPort;
  if (f.kind === 'exit' && usableHeader && f.statedPort === undefined) {
    // The address, not the name, says who left: a program that relays an exit keeps the leaving
    // peer's address and writes its own name. A loopback header from a LAN socket is no address.
    host = isLoopback(f.headerHost!) && !isLoopback(remote) ? remote : f.headerHost!;
    port = f.headerPort;
  } else if (usableHeader && isLoopback(remote)) {
    // A program on this machine binds the IP it advertises (often 127.0.1.1, or the LAN IP
    // while it dials us on 127.0.0.1): only its header IP reaches it.
    host = f.headerHost!;
  }
  if (port === undefined) return undefined;
  if (!isValidHost(host)) host = remote; // a header host that is no host: the socket's IP stands
  if (isSelfHeader(host, port, ctx)) return undefined;
  return { host, port };
}
