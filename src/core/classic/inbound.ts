/**
 * Classic messages arriving: each payload is read in whatever classmate's form it came, the
 * sender gets the reply it waits for, and what it means goes through the reducer into the peer
 * table and the history.
 */
import { formatHostPort, isLoopback } from '../address';
import { EVERYONE } from '../chatTypes';
import type { NodeContext } from '../context';
import { cleanName } from '../text';
import { LINE_ACK } from './dialects/lineMode';
import { parseAny } from './dialects/parse';
import { ClassicFlood, describeDrop, DropReport } from './flood';
import type { IncomingConnection, IncomingPayload } from './net/listener';
import { sendWithRetry } from './net/sender';
import { reduceClassic } from './reducer';

export class ClassicInbound {
  /** Listening ports that headerless senders announced (`CONNECT:PORT`), by remote IP. */
  private readonly announcedPorts = new Map<string, number>();
  /** Per-IP classic rates and the chat budget of senders that have not said who they are. */
  private readonly flood: ClassicFlood;
  private reportTimer: NodeJS.Timeout | undefined;
  /** The stop signal the pending reports are flushed on (a restarted node has a new one). */
  private watched: AbortSignal | undefined;

  constructor(private readonly ctx: NodeContext) {
    this.flood = new ClassicFlood(ctx.limits, ctx.now);
  }

  /** Floods being counted (bounded): for tests and resource checks. */
  get floodsCounting(): number {
    return this.flood.counting;
  }

  onPayload(p: IncomingPayload, conn: IncomingConnection): void {
    const { ctx } = this;
    const remote = `${p.remoteIp}:${p.remotePort}`;
    const admitted = this.flood.admitClassic(p.remoteIp, p.bytes.length);
    if (!admitted.ok) {
      // Dropped before it is even read: that is the point of cutting a peer back.
      this.counted(admitted.early);
      // A line-mode sender blocks until it reads an answer: it gets one, or it hangs for good.
      if (p.lineMode) conn.write(LINE_ACK);
      return;
    }
    const parsed = parseAny(p.bytes, { remoteIp: p.remoteIp, self: ctx.self.identity(), own: ctx.self.own(), lineMode: p.lineMode });
    if (!parsed.ok) {
      ctx.logDrop(remote, parsed.reason, `dropped message from ${remote}: ${parsed.reason}`);
      // A line-mode sender blocks until it reads an answer, even to a line we could not read.
      if (parsed.reply?.sameSocket) conn.write(parsed.reply.sameSocket);
      return;
    }
    const m = parsed.message;
    // A sender that opened with `connect` keeps the socket and writes later messages on it: it
    // waits for `connected` once, and must not get an acknowledgement after every message.
    if (m.kind === 'connect') conn.memo.openedWithConnect = true;
    const reply = m.reply?.sameSocket;
    const quiet = conn.memo.openedWithConnect === true && m.kind !== 'connect';
    if (reply && !quiet && conn.isOpen()) {
      conn.write(reply);
    } else if (m.reply?.dialBack && !(reply && conn.isOpen())) {
      const { host, port, text } = m.reply.dialBack;
      const o = { timeoutMs: ctx.limits.sendTimeoutMs, replyWaitMs: 500, retries: 1, retryBaseMs: ctx.limits.sendRetryBaseMs };
      void sendWithRetry(ctx.transport, host, port, Buffer.from(text, 'utf8'), o).then((r) => {
        if (!r.ok) ctx.log('warn', `could not answer ${host}:${port}'s connect: ${r.error}`);
      });
    }
    if (m.kind === 'probe') return; // a bare connect-and-close: liveness, not a message
    // Only a sender that said who it is (a listening port) or speaks line mode earns the long idle
    // allowance: a trickle of bare bytes must not hold connections for minutes.
    if (m.peer || p.lineMode) conn.keepAlive();
    if (m.headerHost !== undefined && m.headerPort !== undefined && m.name !== undefined && conn.isOpen() && m.dialect === 'standard') {
      // Persistent senders write message after message with no delimiter: cut at their header.
      conn.setRecordPrefix(`${formatHostPort(m.headerHost, m.headerPort)} ${m.name} `);
    }
    if (m.kind === 'ack') {
      ctx.log('trace', `← ${remote} acknowledgement ${JSON.stringify(m.keyword ?? m.text)}`);
      return;
    }
    const name = m.name !== undefined ? cleanName(m.name) : undefined;
    if (m.peer && m.dialect === 'headerless') this.rememberPort(p.remoteIp, m.peer.port);
    const announced = this.announcedPorts.get(p.remoteIp);
    // A headerless sender told its listening port earlier (`CONNECT:PORT`): that is who this is.
    const addr = m.peer ?? (!m.headerIsSelf && announced !== undefined ? { host: p.remoteIp, port: announced } : undefined);
    if (!addr) {
      if (m.headerIsSelf && m.kind !== 'chat') {
        ctx.log('trace', `ignored ${m.kind} from ${remote} that names this node's own address`);
        return;
      }
      if (m.kind === 'chat') {
        // A sender that has not said who it is gets a small chat budget per IP: otherwise anyone
        // can fill the chat (the excess is said in one line per flood, see flood.ts).
        const budget = this.flood.admitUnannounced(p.remoteIp);
        if (!budget.ok) {
          const l = ctx.limits;
          const why = `${p.remoteIp} sends messages without saying who it is (no listening port) faster than ${l.unannouncedBurst} at once and ${l.unannouncedPerSecond} a second: the rest are dropped and counted in one line in the chat`;
          ctx.logDrop(remote, 'unannounced over budget', why);
          this.counted(budget.early);
          return;
        }
        // No listening port known (bare text, "Team : msg"): show it, but it cannot be answered.
        // Shown under the connection's address until the sender tells its listening port.
        ctx.history.add({ conversation: EVERYONE, direction: 'in', peer: remote, name: name ?? p.remoteIp, text: m.text });
        const why = `message from ${remote} (${m.dialect}) with no listening port: shown, but it cannot be answered until the sender tells its port`;
        ctx.logDrop(remote, 'no-port', why, 'info');
      }
      return;
    }
    if (ctx.self.isMe(addr)) {
      ctx.log('trace', `ignored ${m.kind} from ${remote} that names this node's own address`);
      return;
    }
    const key = formatHostPort(addr.host, addr.port);
    if (ctx.blocked({ ip: p.remoteIp, address: key }, remote, `a classic message from ${remote} as ${key}`)) return;
    if ((m.kind === 'exit' || m.kind === 'disconnect') && !this.sameMachine(addr.host, p.remoteIp)) {
      // Only the peer itself (its own IP, or this machine for local programs) can say it left.
      ctx.logDrop(remote, 'exit for another host', `ignored ${m.kind} from ${remote} naming ${key}: only ${key} itself can say it left`);
      return;
    }
    ctx.log('trace', `← ${remote} as ${key} ${m.dialect} ${m.kind} ${JSON.stringify(m.text.length > 200 ? `${m.text.slice(0, 200)}…` : m.text)}`);
    const out = reduceClassic(ctx.peers.get(key), { kind: m.kind, host: addr.host, port: addr.port, name, text: m.text, revealed: m.revealsDialect ? m.dialect : undefined }, { now: ctx.now(), native: ctx.native() });
    if (out.log) ctx.logDrop(remote, out.log.replace(/\S+:\d+/g, 'ADDR'), out.log, 'info'); // rate-limited: a sender controls these
    ctx.peers.upsert(addr, out.patch);
    if (out.system) ctx.system(out.system.conversation, out.system.text);
    if (out.renamed) ctx.system(out.renamed.conversation, out.renamed.text);
    if (out.chat) ctx.history.add({ conversation: out.chat.conversation, direction: 'in', peer: key, name: out.chat.name, text: out.chat.text });
  }

  /** A drop was tallied: reports that had to be said early are said now, the rest when due. */
  private counted(early: DropReport[]): void {
    this.report(early);
    this.scheduleReports();
  }

  private scheduleReports(): void {
    const signal = this.ctx.stopSignal();
    if (signal !== this.watched) {
      this.watched = signal;
      // When the node stops, what was counted is said at once and no timer is left behind.
      signal.addEventListener('abort', () => {
        clearTimeout(this.reportTimer);
        this.reportTimer = undefined;
        this.report(this.flood.flush());
      }, { once: true });
    }
    if (this.reportTimer || signal.aborted) return;
    const at = this.flood.nextDue();
    if (at === undefined) return;
    // Armed for the earliest tally: a tally only moves later, so firing early just re-arms.
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.report(this.flood.due());
      this.scheduleReports();
    }, Math.max(10, at - this.ctx.now()));
    this.reportTimer.unref?.();
  }

  private report(reports: DropReport[]): void {
    for (const r of reports) {
      const d = describeDrop(r, this.ctx.limits);
      if (d.system) this.ctx.system(EVERYONE, d.system);
      // Not through logDrop: a tally is already one line per flood, and its count must not be held back.
      this.ctx.log('warn', d.log);
    }
  }

  /** Whether `host` is the sender's own machine: its socket IP, or this machine for a local sender. */
  private sameMachine(host: string, remoteIp: string): boolean {
    if (host.toLowerCase() === remoteIp.toLowerCase()) return true;
    return isLoopback(remoteIp) && (isLoopback(host) || this.ctx.self.own().hosts.has(host.toLowerCase()));
  }

  private rememberPort(ip: string, port: number): void {
    this.announcedPorts.delete(ip);
    this.announcedPorts.set(ip, port);
    if (this.announcedPorts.size > this.ctx.limits.maxPeers) this.announcedPorts.delete(this.announcedPorts.keys().next().value as string);
  }
}
