// Events per second over the last N seconds in N one-second buckets: constant memory whatever the rate, and
// no timer (stale buckets are recognised by their second stamp).

export class RateWindow {
  private readonly counts: Float64Array;
  private readonly stamps: Float64Array;

  constructor(private readonly seconds: number) {
    this.counts = new Float64Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  add(nowMs: number, n: number): void {
    const sec = Math.floor(nowMs / 1000);
    const i = sec % this.seconds;
    if (this.stamps[i] !== sec) {
      this.stamps[i] = sec;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** Average rate over the window, or over the time since `startMs` when that is shorter (at least 1 s). */
  perSecond(nowMs: number, startMs: number): number {
    const sec = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < this.seconds; i++) {
      if (this.stamps[i] > sec - this.seconds && this.stamps[i] <= sec) sum += this.counts[i];
    }
    const span = Math.min(this.seconds, Math.max(1, (nowMs - startMs) / 1000));
    return sum / span;
  }
}
