/** At most `perSecond` events in each wall-clock second; counts what it refused. */
export class RateBudget {
  private second = 0;
  private used = 0;
  private refused = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    /** Called at the start of a new second with how many were refused in the last one. */
    private readonly onRefused: (count: number) => void = () => {},
  ) {}

  take(): boolean {
    const sec = Math.floor(this.now() / 1000);
    if (sec !== this.second) {
      if (this.refused) this.onRefused(this.refused);
      this.second = sec;
      this.used = 0;
      this.refused = 0;
    }
    if (this.used >= this.perSecond) {
      this.refused++;
      return false;
    }
    this.used++;
    return true;
  }
}
