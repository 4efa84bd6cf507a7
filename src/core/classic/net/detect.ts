/**
 * Telling a PeerChat node from a classic program on the same port. Classic clients speak at once
 * and classic servers never speak first, so silence is the only safe place for our banner: the
 * server sends it to a client silent for BANNER_DELAY_MS, a PeerChat client echoes it.
 */
import { BANNER } from '../../native/frames';

/** How long a silent client waits before a PeerChat server sends its banner. */
export const BANNER_DELAY_MS = 100;

const WANT = Buffer.from(BANNER);

/** The banner itself, to write. */
export function bannerBytes(): Buffer {
  return WANT;
}

/** Whether bytes received so far are the banner, could still become it, or are something else. */
export function matchBanner(got: Buffer): 'partial' | 'match' | 'mismatch' {
  if (got.length < WANT.length) return WANT.subarray(0, got.length).equals(got) ? 'partial' : 'mismatch';
  return got.subarray(0, WANT.length).equals(WANT) ? 'match' : 'mismatch';
}

export type Detection = { kind: 'wait' } | { kind: 'classic'; bytes: Buffer } | { kind: 'native'; leftover: Buffer };

/** The accepting side's decision for one connection, fed with what the client sends. */
export class ServerDetection {
  private bannerSent = false;
  private decided: boolean;
  private readonly head: Buffer[] = [];

  /** `native` false: never send a banner, everything is classic. */
  constructor(native: boolean) {
    this.decided = !native;
  }

  /** The client has been silent: true when the banner should be written now. */
  silent(): boolean {
    if (this.decided || this.bannerSent) return false;
    this.bannerSent = true;
    return true;
  }

  push(chunk: Buffer): Detection {
    if (this.decided) return { kind: 'classic', bytes: chunk };
    if (!this.bannerSent) {
      this.decided = true; // spoke first: classic
      return { kind: 'classic', bytes: chunk };
    }
    this.head.push(chunk);
    const got = Buffer.concat(this.head);
    const m = matchBanner(got);
    if (m === 'partial') return { kind: 'wait' };
    this.decided = true;
    if (m === 'match') return { kind: 'native', leftover: got.subarray(WANT.length) };
    return { kind: 'classic', bytes: got }; // a slow classic sender: everything so far is classic
  }
}
