/**
 * What native peers may send: frames and bytes a second per session and per remote IP (a burst
 * of twice the rate). Over it a session is read more slowly rather than cut, so a peer that
 * floods is held to the rate and loses nothing.
 */
import type { NodeContext } from '../context';
import { TokenBuckets } from '../tokenBuckets';

export class SessionRates {
  private readonly frames: TokenBuckets;
  private readonly bytes: TokenBuckets;
  private readonly ipFrames: TokenBuckets;
  private readonly ipBytes: TokenBuckets;

  constructor(private readonly ctx: Pick<NodeContext, 'limits' | 'now' | 'logDrop'>) {
    const l = ctx.limits;
    const rate = (perSecond: number) => new TokenBuckets({ perSecond, burst: 2 * perSecond }, ctx.now);
    this.frames = rate(l.nativeFramesPerSecond);
    this.bytes = rate(l.nativeBytesPerSecond);
    this.ipFrames = rate(l.nativeFramesPerSecondPerAddress);
    this.ipBytes = rate(l.nativeBytesPerSecondPerAddress);
  }

  /** Charges one read to its session and IP: how long to stop reading (0: go on). */
  charge(session: string, ip: string, bytes: number, frames: number): number {
    const own = Math.max(this.frames.spend(session, frames), this.bytes.spend(session, bytes));
    const shared = Math.max(this.ipFrames.spend(ip, frames), this.ipBytes.spend(ip, bytes));
    const waitMs = Math.max(own, shared);
    if (waitMs > 0) {
      const l = this.ctx.limits;
      const what = own >= shared ? `one session may send ${l.nativeFramesPerSecond} frames or ${l.nativeBytesPerSecond} bytes a second` : `its sessions together may send ${l.nativeFramesPerSecondPerAddress} frames or ${l.nativeBytesPerSecondPerAddress} bytes a second`;
      this.ctx.logDrop(`${ip}:0`, 'native rate', `native peer at ${ip} sends faster than ${what}: reading from it is slowed (nothing is dropped)`);
    }
    return waitMs;
  }

  forget(session: string): void {
    this.frames.forget(session);
    this.bytes.forget(session);
  }
}
