/** A bounded set of recently seen message ids (insertion order = age): flood dedup. */
export class SeenCache {
  private readonly set = new Set<string>();

  constructor(private readonly max: number) {}

  /** Adds the id; returns false when it was already there. */
  add(id: string): boolean {
    if (this.set.has(id)) return false;
    this.set.add(id);
    if (this.set.size > this.max) {
      const oldest = this.set.values().next().value as string;
      this.set.delete(oldest);
    }
    return true;
  }

  has(id: string): boolean {
    return this.set.has(id);
  }

  get size(): number {
    return this.set.size;
  }
}
