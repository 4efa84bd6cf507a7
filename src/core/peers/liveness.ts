/**
 * Is everyone still there: every peer that has not left is probed through its channel; the
 * silent are marked inactive (the automatic probe, every inactiveAfterSeconds) or removed (the
 * user's command).
 */
import type { Channel } from '../channel';
import type { NodeContext } from '../context';
import type { PeerRecord } from './table';

export class Liveness {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: NodeContext,
    private readonly channelOf: (p: PeerRecord) => Channel,
    private readonly remove: (address: string) => void,
  ) {}

  async prune(remove: boolean): Promise<{ probed: number; inactive: string[] }> {
    const { ctx } = this;
    const targets = ctx.peers.list().filter((p) => p.state !== 'gone' || remove);
    const inactive: string[] = [];
    await Promise.all(
      targets.map(async (p) => {
        if (p.state === 'gone') {
          inactive.push(p.address);
          if (remove) ctx.peers.remove(p.address);
          return;
        }
        const { alive, error } = await this.channelOf(p).probe(p);
        if (alive) {
          if (ctx.peers.get(p.address)?.state === 'inactive') ctx.peers.setState(p.address, 'known', '');
          return;
        }
        inactive.push(p.address);
        if (remove) this.remove(p.address);
        else ctx.peers.setState(p.address, 'inactive', error);
      }),
    );
    ctx.log('info', `probed ${targets.length} peers: ${inactive.length ? `${remove ? 'removed' : 'inactive'} ${inactive.join(', ')}` : 'all answered'}`);
    return { probed: targets.length, inactive };
  }

  /** (Re)starts the automatic probe; 0 seconds or a stopped node means none. */
  schedule(seconds: number): void {
    this.stop();
    if (seconds > 0 && this.ctx.running()) {
      this.timer = setInterval(() => void this.prune(false), seconds * 1000);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get pending(): number {
    return this.timer ? 1 : 0;
  }
}
