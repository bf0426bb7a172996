/**
 * Bytes per second over a sliding window of one-second buckets: the current rate of a stream or of
 * the whole server, cheap enough to update on every chunk.
 */

/** A sliding-window byte rate. */
export class RateMeter {
  private readonly buckets: number[];
  private readonly stamps: number[];

  constructor(private readonly windowSeconds = 10) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
    this.stamps = new Array<number>(windowSeconds).fill(-1);
  }

  /** Counts `bytes` at time `nowMs`. */
  add(bytes: number, nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    const i = sec % this.windowSeconds;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += bytes;
  }

  /** Average bytes per second over the window ending at `nowMs`. */
  bytesPerSecond(nowMs: number): number {
    const sec = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const stamp = this.stamps[i]!;
      if (stamp > sec - this.windowSeconds && stamp <= sec) sum += this.buckets[i]!;
    }
    return sum / this.windowSeconds;
  }
}
