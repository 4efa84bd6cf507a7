/** The peer directory written to the store a moment after it changes, not on every change. */
import type { Store } from '../store';
import type { PeerTable } from './table';

export class PeerSaver {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly peers: PeerTable,
    private readonly store: Store,
    private readonly delayMs = 250,
  ) {}

  schedule(): void {
    // After close the directory is already on disk; late state changes (sessions closing) stay in memory.
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.store.savePeers(this.peers.toStored());
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes now and stops saving until reopened. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.store.savePeers(this.peers.toStored());
  }

  reopen(): void {
    this.closed = false;
  }

  get pending(): number {
    return this.timer ? 1 : 0;
  }
}
