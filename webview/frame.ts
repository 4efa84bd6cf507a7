/** Drawing at most once per animation frame, and the performance marks the benchmarks read. */

export class FrameScheduler {
  private scheduled = false;

  constructor(private readonly draw: () => void) {}

  /** Draws on the next frame, at most once per frame, however many messages arrived. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  /** Draws now (a frame already scheduled still draws, finding little to do). */
  now(): void {
    this.draw();
  }
}

/** A performance mark set the first time only. */
export class OnceMark {
  private done = false;

  constructor(private readonly name: string) {}

  mark(): void {
    if (this.done) return;
    this.done = true;
    performance.mark(this.name);
  }
}
