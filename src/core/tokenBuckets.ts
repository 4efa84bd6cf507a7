/**
 * Token buckets by key (a remote IP, a session): each key may spend `burst` at once and then
 * `perSecond` on average. Used to cut back a peer that sends faster than any person types,
 * without a fixed window that lets twice the rate through at its edge.
 */
export interface BucketSpec {
  /** Tokens added per second. */
  perSecond: number;
  /** Tokens a bucket holds at most (and starts with). */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly spec: BucketSpec,
    private readonly now: () => number = Date.now,
    /** Keys remembered at once; the least recently used are forgotten (a full bucket is the same as none). */
    private readonly maxKeys = 4096,
  ) {}

  private refill(key: string): Bucket {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.spec.burst, b.tokens + ((t - b.at) / 1000) * this.spec.perSecond);
      b.at = t;
      this.buckets.delete(key); // most recently used last
    } else {
      b = { tokens: this.spec.burst, at: t };
    }
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    return b;
  }

  /** Spends `amount` tokens when the key has them; false (and nothing spent) when it has not. */
  take(key: string, amount = 1): boolean {
    const b = this.refill(key);
    if (b.tokens < amount) return false;
    b.tokens -= amount;
    return true;
  }

  /**
   * Spends `amount` even when that leaves the bucket in debt, and returns how long the key must
   * wait until it is out of debt (0 when it was not). For senders that are slowed, not refused.
   */
  spend(key: string, amount: number): number {
    const b = this.refill(key);
    b.tokens -= amount;
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens / this.spec.perSecond) * 1000);
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}
