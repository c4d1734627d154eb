// Range novelty: does a window hold a value beyond everything the stream has shown so far? HTM's NAB detector
// pairs its anomaly likelihood with this "spatial anomaly" check (a value more than 5% of the seen range
// outside the seen minimum or maximum scores 1), because a reconstruction or prediction error saturates once
// the input leaves the training range: the model cannot say *how far* out a value is, the range can.
// Tracked per channel over every value seen (the stream's whole history, as HTM does), so a new level that
// recurs is novel only the first time.

export class RangeNovelty {
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;

  /**
   * @param tolerance fraction of the seen range (per channel) a value may lie outside it before it is novel
   * @param channels values per time step in the windows observed
   */
  constructor(
    private readonly tolerance: number,
    readonly channels: number,
  ) {
    if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw new RangeError(`range novelty: tolerance must be a finite number >= 0 (got ${tolerance})`);
    if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`range novelty: channels must be an integer >= 1 (got ${channels})`);
    this.lo = new Float64Array(channels).fill(Infinity);
    this.hi = new Float64Array(channels).fill(-Infinity);
  }

  /** Values known to have been seen (per channel; non-finite entries ignored) join the range, judging nothing. */
  include(lo: readonly number[], hi: readonly number[]): void {
    for (let ch = 0; ch < this.channels; ch++) {
      const l = lo[ch];
      const h = hi[ch];
      if (l !== undefined && Number.isFinite(l) && l < this.lo[ch]) this.lo[ch] = l;
      if (h !== undefined && Number.isFinite(h) && h > this.hi[ch]) this.hi[ch] = h;
    }
  }

  /** The seen range per channel (copies; Infinity/-Infinity where nothing was seen). */
  snapshot(): { lo: Float64Array; hi: Float64Array } {
    return { lo: this.lo.slice(), hi: this.hi.slice() };
  }

  /**
   * True when a value of the window (time-major, `channels` per step; NaN = missing) lies outside the range
   * seen before this window, widened by the tolerance. A channel with no spread yet (fewer than two distinct
   * values) judges nothing. The window's values then join the range, unless `learn` is false.
   */
  observe(values: ArrayLike<number>, learn = true): boolean {
    const c = this.channels;
    if (values.length % c !== 0) throw new RangeError(`range novelty: ${values.length} values are not ${c}-channel steps`);
    let novel = false;
    for (let ch = 0; ch < c; ch++) {
      const lo = this.lo[ch];
      const hi = this.hi[ch];
      const margin = (hi - lo) * this.tolerance;
      let wLo = Infinity;
      let wHi = -Infinity;
      for (let i = ch; i < values.length; i += c) {
        const v = values[i];
        if (v < wLo) wLo = v;
        if (v > wHi) wHi = v;
      }
      if (hi > lo && (wHi > hi + margin || wLo < lo - margin)) novel = true;
      if (!learn) continue;
      if (wLo < lo) this.lo[ch] = wLo;
      if (wHi > hi) this.hi[ch] = wHi;
    }
    return novel;
  }
}
