// A stream's dominant period, found from its learning data alone (the autocorrelation of the learning steps), so
// a setting that should span one cycle of the stream (a day of 5-minute samples is 288 steps, of hourly ones 24)
// can be chosen per stream by one fixed rule instead of per stream by hand. Only the data the detector learns
// from is looked at: nothing after it, no labels.

export interface PeriodOptions {
  /** Shortest period reported (shorter repeats are the noise's own correlation, not a cycle). */
  readonly minLag: number;
  /**
   * Least autocorrelation at the period. Below it the stream has no clear period (noise, spikes, a random walk)
   * and the caller falls back to its fixed setting.
   */
  readonly minStrength: number;
  /**
   * How far the autocorrelation must have dipped below the peak at some shorter lag: a peak on the slow decay of
   * a trending or wandering series (every lag looks alike) is not a cycle.
   */
  readonly minProminence: number;
}

export const DEFAULT_PERIOD_OPTIONS: PeriodOptions = { minLag: 4, minStrength: 0.3, minProminence: 0.1 };

export interface FoundPeriod {
  /** Steps per cycle. */
  readonly steps: number;
  /** The autocorrelation at that lag (channels averaged): about 1 for a clean cycle, at least minStrength. */
  readonly strength: number;
}

/**
 * The dominant period of `steps` (time-major, `channels` values per step; non-finite values count as the
 * channel's mean), or undefined when there is none. Each channel is detrended (least-squares line: a drift would
 * otherwise lift every lag) and its autocorrelation up to half the length (two cycles must be seen) is averaged
 * over the channels that vary. The period is the shortest lag at a local maximum of that average whose height is
 * within 10 % of the highest such maximum (a cycle also peaks at its multiples, often as high), among maxima that
 * are at least `minStrength` high and `minProminence` above the lowest value at a shorter lag.
 */
export function findPeriod(steps: ArrayLike<number>, channels = 1, options: PeriodOptions = DEFAULT_PERIOD_OPTIONS): FoundPeriod | undefined {
  const n = Math.floor(steps.length / channels);
  const maxLag = Math.floor(n / 2);
  if (maxLag <= options.minLag) return undefined;
  const acf = new Float64Array(maxLag + 1);
  let varying = 0;
  for (let ch = 0; ch < channels; ch++) {
    const x = detrended(steps, channels, ch, n);
    if (!x) continue;
    varying++;
    addAutocorrelation(x, acf);
  }
  if (varying === 0) return undefined;
  for (let k = 0; k <= maxLag; k++) acf[k] /= varying;

  const peaks: number[] = [];
  let lowest = acf[0];
  for (let k = 1; k < maxLag; k++) {
    const isPeak = acf[k] > acf[k - 1] && acf[k] >= acf[k + 1];
    if (isPeak && k >= options.minLag && acf[k] >= options.minStrength && acf[k] - lowest >= options.minProminence) peaks.push(k);
    lowest = Math.min(lowest, acf[k]);
  }
  if (peaks.length === 0) return undefined;
  const highest = Math.max(...peaks.map((k) => acf[k]));
  const lag = peaks.find((k) => acf[k] >= 0.9 * highest) as number;
  return { steps: lag, strength: acf[lag] };
}

/** Channel `ch` minus its least-squares line, or undefined when it does not vary (nothing to correlate). */
function detrended(steps: ArrayLike<number>, channels: number, ch: number, n: number): Float64Array | undefined {
  const x = new Float64Array(n);
  let sum = 0;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const v = steps[i * channels + ch];
    if (Number.isFinite(v)) {
      sum += v;
      finite++;
    }
  }
  if (finite < 2) return undefined;
  const mean = sum / finite;
  for (let i = 0; i < n; i++) {
    const v = steps[i * channels + ch];
    x[i] = Number.isFinite(v) ? v : mean;
  }
  // Least-squares line over t = 0..n-1.
  const tMean = (n - 1) / 2;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (i - tMean) * (x[i] - mean);
    sxx += (i - tMean) * (i - tMean);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    x[i] -= mean + slope * (i - tMean);
    energy += x[i] * x[i];
  }
  // Relative to the values' own size, so a constant channel stored in float32 does not count as varying.
  return energy > 1e-12 * Math.max(1, mean * mean) * n ? x : undefined;
}

/**
 * Adds the autocorrelation of `x` (lag 0 normalised to 1) at lags 0..acf.length-1 to `acf`. Each lag's sum is
 * divided by the pairs it has (n - k), not by n: the usual estimator shrinks long lags toward 0 and so puts the
 * peak of a cycle seen only twice before the cycle (280 steps for a daily sine of 288 in 604 steps).
 */
function addAutocorrelation(x: Float64Array, acf: Float64Array): void {
  const n = x.length;
  let energy = 0;
  for (let i = 0; i < n; i++) energy += x[i] * x[i];
  for (let k = 0; k < acf.length; k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += x[i] * x[i + k];
    acf[k] += s / (n - k) / (energy / n);
  }
}

/**
 * The coarse scale's pool for a stream of period `period` (steps) and windows of `size` steps: the pool whose
 * coarse window (`size` pooled steps) spans one period, rounded, at least 2. Only a period longer than the window
 * calls for it (a shorter one is already whole in the main window): otherwise, and without a period, `fallback`.
 * One period and not more: a coarse window of two days hides the daily windows on NAB that one day shows
 * (docs/benchmarks.md).
 */
export function poolSpanningPeriod(period: number | undefined, size: number, fallback: number): number {
  if (period === undefined || period <= size) return fallback;
  return Math.max(2, Math.round(period / size));
}
