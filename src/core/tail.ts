// The distribution of clean scores as stored in a model manifest: an empirical body (quantile points) and a
// GPD tail above u. It answers "how unusual is this score" (pValue) for every calibration method, and gives
// SPOT's threshold z_q.
import { fitGpd, gpdInverseSurvival, gpdSurvival } from './gpd';
import { quantilePoints } from './stats';

/** Fitted tail over u: P(S > u + y | S > u) is GPD(sigma, xi). JSON-serialisable. */
export interface GpdTail {
  /** Tail threshold (the initialQuantile quantile of the calibration scores). */
  u: number;
  sigma: number;
  xi: number;
  /** Calibration scores strictly above u, and all scores; nExceed / n estimates P(S > u). */
  nExceed: number;
  n: number;
  /**
   * False when there were too few (or only equal) excesses for maximum likelihood: the tail is then an
   * exponential with the mean excess as scale, and POT thresholds fall back to the empirical quantile.
   */
  fitted: boolean;
}

export interface TailModel {
  /**
   * Empirical quantile function of the calibration scores at probabilities i / (m - 1), ascending, capped at
   * MAX_BODY_POINTS so manifests stay small (a few tens of kB) whatever the calibration set size.
   */
  quantiles: number[];
  gpd: GpdTail;
}

export const MAX_BODY_POINTS = 2000;
/** Below this many excesses an MLE shape is noise; use the exponential fallback. */
export const MIN_EXCESSES = 10;
/** pValue never returns 0: callers take logs and compare, and "impossible" is not a calibrated statement. */
export const MIN_P_VALUE = 1e-300;

/** P(S > u) as used by pValue and the POT threshold. With no excess at all, 1/(n+1) rather than 0. */
export function tailFraction(gpd: GpdTail): number {
  return gpd.nExceed > 0 ? gpd.nExceed / gpd.n : 1 / (gpd.n + 1);
}

/**
 * Tail parameters for excesses over u out of n scores. The fallback scale for the degenerate cases keeps
 * pValue finite and decreasing: the mean excess if there is any, else a small fraction of the score scale.
 */
export function fitTail(
  excesses: ArrayLike<number>,
  u: number,
  n: number,
  warmTheta?: number,
  censored?: ArrayLike<number>,
): { gpd: GpdTail; theta: number | undefined } {
  const nExceed = excesses.length;
  const fit = nExceed >= MIN_EXCESSES ? fitGpd(excesses, warmTheta, censored) : null;
  if (fit !== null) return { gpd: { u, sigma: fit.sigma, xi: fit.xi, nExceed, n, fitted: true }, theta: fit.theta };
  let sum = 0;
  for (let i = 0; i < nExceed; i++) sum += excesses[i];
  const sigma = nExceed > 0 && sum > 0 ? sum / nExceed : Math.max(Math.abs(u) * 1e-6, 1e-12);
  return { gpd: { u, sigma, xi: 0, nExceed, n, fitted: false }, theta: undefined };
}

/** Builds the tail model from ascending scores and the tail threshold u. */
export function buildTail(sorted: Float64Array, u: number): TailModel {
  // Binary search for the first score strictly above u.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  const first = lo;
  const excesses = new Float64Array(sorted.length - first);
  for (let i = first; i < sorted.length; i++) excesses[i - first] = sorted[i] - u;
  const { gpd } = fitTail(excesses, u, sorted.length);
  const quantiles = sorted.length === 1 ? [sorted[0], sorted[0]] : quantilePoints(sorted, MAX_BODY_POINTS);
  return { quantiles, gpd };
}

/**
 * SPOT threshold z_q = u + sigma/xi * ((q n / Nt)^(-xi) - 1), i.e. the score with tail probability q.
 * Undefined when the tail is not fitted or q is not inside the tail (q >= P(S > u)): the GPD says nothing
 * there, and the caller uses the empirical quantile instead.
 */
export function potThreshold(gpd: GpdTail, q: number): number | undefined {
  if (!gpd.fitted) return undefined;
  const zeta = tailFraction(gpd);
  if (!(q < zeta)) return undefined;
  const z = gpd.u + gpdInverseSurvival(q / zeta, gpd);
  return Number.isFinite(z) ? z : undefined;
}

/** Empirical CDF from the quantile points (inverse of the piecewise-linear quantile function). */
function bodyCdf(points: readonly number[], s: number): number {
  const m = points.length;
  if (s <= points[0]) return 0;
  if (s > points[m - 1]) return 1;
  let lo = 0;
  let hi = m - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid] >= s) hi = mid;
    else lo = mid + 1;
  }
  // points[lo] is the first point >= s; ties resolve to the lowest index, giving the largest P(S >= s).
  if (points[lo] === s) return lo / (m - 1);
  const a = points[lo - 1];
  const b = points[lo];
  return (lo - 1 + (s - a) / (b - a)) / (m - 1);
}

/**
 * P(S >= score) under the calibration distribution: empirical in the body, GPD above u. The body CDF is
 * rescaled by (1 - zeta) / F(u) so the two pieces meet exactly at u (the empirical F(u) differs from
 * 1 - nExceed/n by interpolation and ties); the result is monotone non-increasing, in (0, 1], continuous at u.
 */
export function pValue(tail: TailModel, score: number): number {
  if (Number.isNaN(score)) throw new RangeError('pValue: score is NaN');
  const { gpd } = tail;
  const zeta = tailFraction(gpd);
  if (score > gpd.u) return Math.max(MIN_P_VALUE, zeta * gpdSurvival(score - gpd.u, gpd));
  const fu = bodyCdf(tail.quantiles, gpd.u);
  // u at the minimum: at least initialQuantile of the scores are tied there, nothing below is unusual.
  if (fu <= 0) return 1;
  const f = bodyCdf(tail.quantiles, score);
  return Math.max(MIN_P_VALUE, 1 - ((1 - zeta) * f) / fu);
}

/** Checks a tail model read from a manifest, so a corrupt one is reported instead of producing NaN. */
export function validateTail(tail: TailModel): void {
  const q = tail.quantiles;
  if (!Array.isArray(q) || q.length < 2) throw new RangeError('tail: quantiles must be an array of at least 2 numbers');
  for (let i = 0; i < q.length; i++) {
    if (!Number.isFinite(q[i]) || (i > 0 && q[i] < q[i - 1])) {
      throw new RangeError(`tail: quantiles must be finite and ascending (index ${i}: ${q[i]})`);
    }
  }
  const g = tail.gpd;
  if (typeof g !== 'object' || g === null) throw new RangeError('tail: gpd is missing');
  if (!Number.isFinite(g.u)) throw new RangeError(`tail: u must be finite (got ${g.u})`);
  if (!(g.sigma > 0 && Number.isFinite(g.sigma))) throw new RangeError(`tail: sigma must be > 0 (got ${g.sigma})`);
  if (!Number.isFinite(g.xi)) throw new RangeError(`tail: xi must be finite (got ${g.xi})`);
  if (!(Number.isInteger(g.n) && g.n >= 1)) throw new RangeError(`tail: n must be an integer >= 1 (got ${g.n})`);
  if (!(Number.isInteger(g.nExceed) && g.nExceed >= 0 && g.nExceed <= g.n)) {
    throw new RangeError(`tail: nExceed must be an integer in [0, n] (got ${g.nExceed})`);
  }
  if (typeof g.fitted !== 'boolean') throw new RangeError('tail: fitted must be a boolean');
}
