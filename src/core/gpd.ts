// Generalised Pareto distribution (GPD) of excesses y = x - u over a high threshold u:
//   P(Y > y) = (1 + xi * y / sigma)^(-1/xi)   (exp(-y / sigma) when xi = 0).
// Fitted by maximum likelihood with Grimshaw's reduction (Grimshaw 1993, used by Siffer et al. 2017): with
// theta = xi / sigma, the likelihood maximised over xi for fixed theta has the closed form
//   xi(theta) = mean(log(1 + theta * y)),   sigma = xi / theta,
// leaving a one-dimensional profile likelihood in theta. Siffer et al. find its stationary points by root
// finding from several starts; here the profile itself is maximised (grid, then golden section), which cannot
// converge to a minimum or miss a root, and handles xi = 0 (the exponential limit, theta = 0) on the same axis.
//
// Right-censored observations (excesses known only to exceed a level c: streaming SPOT's anomalies, whose value
// is not learned) keep the closed form: with C = sum(log(1 + theta * c)) over them and n uncensored excesses,
//   xi(theta) = (sum(log(1 + theta * y)) + C) / n.
// Without them, a tail learned only from scores below the threshold is truncated, its fitted shape drifts
// negative, the threshold falls, more scores are cut off, and the false-alarm rate runs away.

export interface GpdParams {
  sigma: number;
  xi: number;
}

export interface GpdFit extends GpdParams {
  /** xi / sigma at the optimum; a warm start for the next fit of a slowly changing sample. */
  theta: number;
  /** Mean log-likelihood per excess. */
  logLik: number;
}

/**
 * Shape bounds. Below -1 the likelihood is unbounded (a spike at the largest excess), so the MLE does not
 * exist; -1 itself is the uniform tail, which clipped reconstruction errors (bounded scores) can approach.
 * Above 3 the tail is heavier than any score distribution we expect; clamping there keeps one wild sample
 * from producing an astronomically high threshold.
 */
export const XI_MIN = -1;
export const XI_MAX = 3;

/** |xi| below this is treated as the exponential limit in the closed forms (avoids 0/0). */
const XI_ZERO = 1e-9;

/** P(Y > y) for an excess y >= 0. 0 beyond the upper end point of a bounded (xi < 0) tail. */
export function gpdSurvival(y: number, p: GpdParams): number {
  if (y <= 0) return 1;
  if (Math.abs(p.xi) < XI_ZERO) return Math.exp(-y / p.sigma);
  const z = (p.xi * y) / p.sigma;
  if (z <= -1) return 0;
  return Math.exp(-Math.log1p(z) / p.xi);
}

/** The excess y with P(Y > y) = s, for s in (0, 1]. */
export function gpdInverseSurvival(s: number, p: GpdParams): number {
  const logS = Math.log(s);
  if (Math.abs(p.xi) < XI_ZERO) return -p.sigma * logS;
  // expm1 keeps (s^-xi - 1) / xi accurate for small xi.
  return (p.sigma / p.xi) * Math.expm1(-p.xi * logS);
}

/** Summary of a sample of excesses, computed once per fit. */
interface Sample {
  y: ArrayLike<number>;
  n: number;
  /** Censoring levels (excess scale). */
  c: ArrayLike<number>;
  /** (sum(y) + sum(c)) / n: the exponential MLE scale, and the scale of the theta axis. */
  mean: number;
  /** Largest of y and c: a bounded tail must reach beyond every observation. */
  max: number;
}

/** sum(log(1 + theta * y)) / n over the uncensored excesses (the A of the profile). */
function logSumY(s: Sample, theta: number): number {
  let sum = 0;
  for (let i = 0; i < s.n; i++) sum += Math.log1p(theta * s.y[i]);
  return sum / s.n;
}

/** The censored part, sum(log(1 + theta * c)) / n. */
function logSumC(s: Sample, theta: number): number {
  let sum = 0;
  for (let i = 0; i < s.c.length; i++) sum += Math.log1p(theta * s.c[i]);
  return sum / s.n;
}

/** xi(theta); increasing in theta, -Infinity at or beyond theta = -1/max. */
function xiAt(s: Sample, theta: number): number {
  if (theta * s.max <= -1) return Number.NEGATIVE_INFINITY;
  return logSumY(s, theta) + logSumC(s, theta);
}

/**
 * Profile log-likelihood per uncensored excess, -log(sigma) - A/n - 1 with sigma = xi / theta;
 * -Infinity outside the admissible shape range.
 */
function profile(s: Sample, theta: number): number {
  if (theta === 0) return -Math.log(s.mean) - 1;
  if (theta * s.max <= -1) return Number.NEGATIVE_INFINITY;
  const a = logSumY(s, theta);
  const xi = a + logSumC(s, theta);
  if (!(xi >= XI_MIN && xi <= XI_MAX)) return Number.NEGATIVE_INFINITY;
  const sigma = xi / theta;
  // xi and theta share their sign, so sigma > 0 except where xi rounds to 0: fall back to the limit there.
  if (!(sigma > 0) || !Number.isFinite(sigma)) return -Math.log(s.mean) - 1;
  return -Math.log(sigma) - a - 1;
}

const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** Golden-section maximisation of the profile on [a, b]; returns the best point seen. */
function goldenMax(s: Sample, a: number, b: number, iterations: number): number {
  let x1 = b - GOLDEN * (b - a);
  let x2 = a + GOLDEN * (b - a);
  let f1 = profile(s, x1);
  let f2 = profile(s, x2);
  for (let i = 0; i < iterations; i++) {
    if (f1 >= f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - GOLDEN * (b - a);
      f1 = profile(s, x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + GOLDEN * (b - a);
      f2 = profile(s, x2);
    }
  }
  return f1 >= f2 ? x1 : x2;
}

function summarise(y: ArrayLike<number>, c: ArrayLike<number>): Sample | null {
  const n = y.length;
  if (n < 2) return null;
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (!(v >= 0) || !Number.isFinite(v)) return null;
    sum += v;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  // All excesses (nearly) equal: no shape information at all, the likelihood degenerates.
  if (!(max > 0) || max - min <= 1e-12 * max) return null;
  for (let i = 0; i < c.length; i++) {
    const v = c[i];
    if (!(v >= 0) || !Number.isFinite(v)) return null;
    sum += v;
    if (v > max) max = v;
  }
  return { y, n, c, mean: sum / n, max };
}

/** Grid over the whole admissible theta axis: dense near 0 (xi near 0) and near the bounded-tail limit. */
function gridThetas(s: Sample): number[] {
  const thetas: number[] = [0];
  const lower = -1 / s.max;
  const fractions = [1e-4, 1e-3, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
  fractions.push(0.99, 0.999, 0.99999);
  for (const f of fractions) thetas.push(f * lower);
  // Upper end: double until xi(theta) exceeds XI_MAX (xi grows like log(theta)), so the grid covers it.
  let hi = 1 / s.mean;
  for (let i = 0; i < 200 && xiAt(s, hi) <= XI_MAX && Number.isFinite(hi * 2); i++) hi *= 2;
  for (let k = 0; k <= 40; k++) thetas.push(hi * Math.pow(10, -8 * (k / 40)));
  return thetas.sort((a, b) => a - b);
}

function result(s: Sample, theta: number): GpdFit {
  const logLik = profile(s, theta);
  if (theta === 0) return { sigma: s.mean, xi: 0, theta, logLik };
  const xi = xiAt(s, theta);
  const sigma = xi / theta;
  if (!(sigma > 0) || !Number.isFinite(sigma)) return { sigma: s.mean, xi: 0, theta: 0, logLik };
  return { sigma, xi, theta, logLik };
}

function globalFit(s: Sample): GpdFit | null {
  const thetas = gridThetas(s);
  let best = -1;
  let bestF = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < thetas.length; i++) {
    const f = profile(s, thetas[i]);
    if (f > bestF) {
      bestF = f;
      best = i;
    }
  }
  if (best < 0) return null;
  // At the most negative grid point the optimum may lie closer still to the bounded-tail limit -1/max.
  const a = best === 0 ? -(1 - 1e-12) / s.max : thetas[best - 1];
  const b = thetas[Math.min(best + 1, thetas.length - 1)];
  const theta = goldenMax(s, a, b, 60);
  return result(s, profile(s, theta) >= bestF ? theta : thetas[best]);
}

/**
 * Local refit around a previous optimum: bracket the maximum by expanding a window around `theta0`, then
 * golden section. Costs ~40 likelihood evaluations instead of ~120, which matters because streaming SPOT
 * refits on every excess. Returns null when no bracket is found, and the caller does a global fit.
 */
function warmFit(s: Sample, theta0: number): GpdFit | null {
  const f0 = profile(s, theta0);
  if (!Number.isFinite(f0)) return null;
  let w = Math.max(Math.abs(theta0) * 0.25, 0.05 / s.mean);
  for (let i = 0; i < 8; i++, w *= 2) {
    const a = Math.max(theta0 - w, -(1 - 1e-9) / s.max);
    const b = theta0 + w;
    if (profile(s, a) < f0 && profile(s, b) < f0) return result(s, goldenMax(s, a, b, 40));
  }
  return null;
}

const NONE: ArrayLike<number> = new Float64Array(0);

/**
 * Maximum-likelihood GPD fit of positive excesses. Returns null when the sample carries no shape information
 * (fewer than 2 excesses, all equal, or non-finite/negative values); callers then fall back to an empirical or
 * exponential tail. `warmTheta` (a previous fit's theta) enables the cheaper local search. `censored` holds
 * levels that further (unseen) excesses are known to exceed.
 */
export function fitGpd(
  excesses: ArrayLike<number>,
  warmTheta?: number,
  censored: ArrayLike<number> = NONE,
): GpdFit | null {
  const s = summarise(excesses, censored);
  if (s === null) return null;
  if (warmTheta !== undefined && Number.isFinite(warmTheta)) {
    const warm = warmFit(s, warmTheta);
    if (warm !== null) return warm;
  }
  return globalFit(s);
}
