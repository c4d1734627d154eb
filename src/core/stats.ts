// Small descriptive statistics shared by scaling, calibration and evaluation. Plain loops over ArrayLike so
// callers can pass number[], Float32Array or Float64Array without copying.

function requireNonEmpty(values: ArrayLike<number>, what: string): void {
  if (values.length === 0) throw new RangeError(`${what}: needs at least one value (got an empty array)`);
}

/** Index of the first NaN or infinite value, or -1. Used to name the offending position in error messages. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return i;
  }
  return -1;
}

/** Arithmetic mean. NaN in the input gives NaN (visible), an empty input throws. */
export function mean(values: ArrayLike<number>): number {
  requireNonEmpty(values, 'mean');
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/**
 * Sample standard deviation (divisor n - 1). Two passes rather than a running sum of squares: scores can sit
 * far from zero with a tiny spread, where the one-pass formula cancels catastrophically.
 */
export function std(values: ArrayLike<number>): number {
  if (values.length < 2) {
    throw new RangeError(`std: the sample standard deviation needs at least 2 values (got ${values.length})`);
  }
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - m;
    ss += d * d;
  }
  return Math.sqrt(ss / (values.length - 1));
}

/** Numeric ascending copy. Float64Array's sort is numeric (Array's is lexicographic) and keeps full precision. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  out.sort();
  return out;
}

function requireProbability(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile: probability must be in [0, 1] (got ${p})`);
}

/**
 * Quantile of an already sorted array by linear interpolation between order statistics (Hyndman & Fan type 7,
 * the default of R and numpy): position p * (n - 1). Callers that need many quantiles sort once and use this.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  requireNonEmpty(sorted, 'quantile');
  requireProbability(p);
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const frac = pos - lo;
  // frac === 0 avoids 0 * Infinity when the data holds infinities at the top.
  return frac === 0 ? sorted[lo] : sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

/** Quantile (type 7) of unsorted values; sorts a copy so the caller's array is untouched. NaN input throws. */
export function quantile(values: ArrayLike<number>, p: number): number {
  requireNonEmpty(values, 'quantile');
  requireProbability(p);
  for (let i = 0; i < values.length; i++) {
    // A NaN would sort to the end and silently shift every order statistic.
    if (Number.isNaN(values[i])) throw new RangeError(`quantile: value at index ${i} is NaN`);
  }
  return quantileSorted(sortedCopy(values), p);
}

/**
 * `m` points of the empirical quantile function at probabilities i / (m - 1), i = 0..m-1 (so the minimum and
 * maximum are kept). With m >= n it returns the sorted data itself, which is the same thing exactly under type 7.
 * This is how a large sample is summarised for a manifest without losing its shape.
 */
export function quantilePoints(sorted: ArrayLike<number>, m: number): number[] {
  requireNonEmpty(sorted, 'quantilePoints');
  if (!Number.isInteger(m) || m < 2) throw new RangeError(`quantilePoints: need an integer m >= 2 (got ${m})`);
  if (sorted.length <= m) return Array.from(sorted);
  const out = new Array<number>(m);
  for (let i = 0; i < m; i++) out[i] = quantileSorted(sorted, i / (m - 1));
  return out;
}
