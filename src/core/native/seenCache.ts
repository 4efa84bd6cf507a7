/**
 * Recently seen message ids (insertion order = age) for flood dedup, bounded by count. It also
 * knows how far back it remembers: a message older than the newest one it had to forget could be
 * a replay it cannot recognise, so the mesh drops it instead of showing it again.
 */
export class SeenCache {
  private readonly ids = new Map<string, number>();
  /** The newest time stamp among the ids forgotten so far. */
  private horizon = -Infinity;

  constructor(private readonly max: number) {}

  /** Adds the id (with its message time); false when it was already there. */
  add(id: string, ts = 0): boolean {
    if (this.ids.has(id)) return false;
    this.ids.set(id, ts);
    if (this.ids.size > this.max) {
      const [oldest, oldTs] = this.ids.entries().next().value as [string, number];
      this.ids.delete(oldest);
      if (oldTs > this.horizon) this.horizon = oldTs;
    }
    return true;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** True when a message of this time could have been seen and forgotten. */
  forgot(ts: number): boolean {
    return ts <= this.horizon;
  }

  get size(): number {
    return this.ids.size;
  }
}
