/**
 * Flood control of classic input, per remote IP. Pure: the clock is injected, nothing here sets
 * a timer (the owner asks `nextDue()` and calls `due()` then).
 *
 * - Every classic message counts against its IP's rate (messages and bytes per second): a peer
 *   faster than that is cut back, whatever it claims to be.
 * - A chat message from a sender that has not said who it is (no listening port) also counts
 *   against a small chat budget of its IP: a stranger cannot fill the chat, and what it sent
 *   beyond the budget is said in one line per flood instead of one line per message.
 *
 * What was dropped is tallied per IP and kind; a tally is reported once when the flood ends
 * (no drop for `quietMs`) or every `everyMs` while it goes on, never once per drop.
 */
import type { Limits } from '../limits';
import { TokenBuckets } from '../tokenBuckets';

/** Why a message was dropped: over the classic message rate, the byte rate, or the chat budget. */
export type DropKind = 'messages' | 'bytes' | 'unannounced';

/** A flood that ended (or went on for a while): `count` dropped from `ip` since `since`. */
export interface DropReport {
  kind: DropKind;
  ip: string;
  count: number;
  since: number;
}

interface Open {
  count: number;
  since: number;
  last: number;
}

/** Counts drops per key and says each flood once (see the file comment). */
export class DropTally {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly quietMs: number,
    private readonly everyMs: number,
    /** Floods tallied at once; past it the oldest is reported early (many source addresses). */
    private readonly maxKeys = 1024,
  ) {}

  /** One more dropped for `key` at `now`; returns the tallies reported early to stay in bounds. */
  add(key: string, now: number): { key: string; count: number; since: number }[] {
    const o = this.open.get(key);
    if (o) {
      o.count++;
      o.last = now;
      return [];
    }
    this.open.set(key, { count: 1, since: now, last: now });
    const early: { key: string; count: number; since: number }[] = [];
    while (this.open.size > this.maxKeys) {
      const [k, v] = this.open.entries().next().value as [string, Open];
      this.open.delete(k);
      early.push({ key: k, count: v.count, since: v.since });
    }
    return early;
  }

  /** The tallies due at `now` (quiet for quietMs, or open for everyMs), removed. */
  due(now: number): { key: string; count: number; since: number }[] {
    const out: { key: string; count: number; since: number }[] = [];
    for (const [k, o] of this.open) {
      if (now - o.last >= this.quietMs || now - o.since >= this.everyMs) {
        this.open.delete(k);
        out.push({ key: k, count: o.count, since: o.since });
      }
    }
    return out;
  }

  /** When the next tally is due; undefined when none is open. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const o of this.open.values()) {
      const at = Math.min(o.last + this.quietMs, o.since + this.everyMs);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** Every open tally, removed (the node stops: what was counted is still said). */
  flush(): { key: string; count: number; since: number }[] {
    const out = [...this.open].map(([key, o]) => ({ key, count: o.count, since: o.since }));
    this.open.clear();
    return out;
  }

  get size(): number {
    return this.open.size;
  }
}

function split(key: string): { kind: DropKind; ip: string } {
  const at = key.indexOf(' ');
  return { kind: key.slice(0, at) as DropKind, ip: key.slice(at + 1) };
}

export class ClassicFlood {
  private readonly messages: TokenBuckets;
  private readonly bytes: TokenBuckets;
  private readonly unannounced: TokenBuckets;
  private readonly tally: DropTally;

  constructor(
    limits: Pick<Limits, 'classicBurst' | 'classicMessagesPerSecond' | 'classicBytesPerSecond' | 'unannouncedBurst' | 'unannouncedPerSecond' | 'dropSummaryMs' | 'dropSummaryEveryMs' | 'maxIncomingBytes'>,
    private readonly now: () => number,
  ) {
    this.messages = new TokenBuckets({ burst: limits.classicBurst, perSecond: limits.classicMessagesPerSecond }, now);
    // Two seconds' worth at once, and never less than one message of the largest size allowed.
    const byteBurst = Math.max(2 * limits.classicBytesPerSecond, limits.maxIncomingBytes);
    this.bytes = new TokenBuckets({ burst: byteBurst, perSecond: limits.classicBytesPerSecond }, now);
    this.unannounced = new TokenBuckets({ burst: limits.unannouncedBurst, perSecond: limits.unannouncedPerSecond }, now);
    this.tally = new DropTally(limits.dropSummaryMs, limits.dropSummaryEveryMs);
  }

  /**
   * Whether a classic message of `size` bytes from `ip` is within the IP's rates; when it is not,
   * it is tallied and `dropped` says under which kind (the first one it broke).
   */
  admitClassic(ip: string, size: number): { ok: true } | { ok: false; kind: DropKind; early: DropReport[] } {
    if (!this.messages.take(ip)) return this.drop('messages', ip);
    if (!this.bytes.take(ip, size)) return this.drop('bytes', ip);
    return { ok: true };
  }

  /** Whether a chat message from an unannounced sender at `ip` may be shown; tallied when not. */
  admitUnannounced(ip: string): { ok: true } | { ok: false; kind: DropKind; early: DropReport[] } {
    if (this.unannounced.take(ip)) return { ok: true };
    return this.drop('unannounced', ip);
  }

  /** Floods to report now. */
  due(): DropReport[] {
    return this.tally.due(this.now()).map((t) => ({ ...split(t.key), count: t.count, since: t.since }));
  }

  nextDue(): number | undefined {
    return this.tally.nextDue();
  }

  /** Every flood still counting, to report now. */
  flush(): DropReport[] {
    return this.tally.flush().map((t) => ({ ...split(t.key), count: t.count, since: t.since }));
  }

  /** Floods being counted (bounded). */
  get counting(): number {
    return this.tally.size;
  }

  private drop(kind: DropKind, ip: string): { ok: false; kind: DropKind; early: DropReport[] } {
    const early = this.tally.add(`${kind} ${ip}`, this.now()).map((t) => ({ ...split(t.key), count: t.count, since: t.since }));
    return { ok: false, kind, early };
  }
}

/** `1480` as `1,480`: the count in a line people read. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** What a report says: the chat line for a budgeted stranger, the log line for every kind. */
export function describeDrop(r: DropReport, limits: Pick<Limits, 'classicMessagesPerSecond' | 'classicBytesPerSecond' | 'unannouncedBurst' | 'unannouncedPerSecond'>): { system?: string; log: string } {
  const n = formatCount(r.count);
  switch (r.kind) {
    case 'unannounced': {
      const system = `${r.ip} sent ${n} more message${r.count === 1 ? '' : 's'}: dropped`;
      return { system, log: `${system} (a sender without a listening port may put ${limits.unannouncedBurst} messages in the chat at once, then ${limits.unannouncedPerSecond} a second)` };
    }
    case 'messages':
      return { log: `${r.ip} sends more than ${limits.classicMessagesPerSecond} classic messages/s: cut back, ${n} dropped` };
    case 'bytes':
      return { log: `${r.ip} sends more than ${limits.classicBytesPerSecond} bytes of classic messages/s: cut back, ${n} dropped` };
    default: {
      const never: never = r.kind;
      throw new Error(`unknown drop kind ${String(never)}`);
    }
  }
}
