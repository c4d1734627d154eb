// Threshold calibration from clean scores (scores of normal data the model did not train on). Every method
// also fits the tail model, so every model can report a p-value, whichever threshold rule the operator chose.
import { buildTail, potThreshold } from './tail';
import type { TailModel } from './tail';
import { outlierFence, withinFence } from './outlierFence';
import { firstNonFinite, mean, quantileSorted, sortedCopy, std } from './stats';

export { pValue, validateTail } from './tail';
export type { GpdTail, TailModel } from './tail';
export { Spot } from './spot';
export type { SpotDecision, SpotOptions } from './spot';

/**
 * A threshold rule, and optionally `outlierFence`: k of the Tukey fence on log scores (core/outlierFence.ts)
 * beyond which learning scores are left out before the rule reads them, so a fault or ectopic beats in the
 * learning data do not lift the threshold over themselves. 0 or absent: every score is used.
 */
export type CalibrationMethod = CalibrationRule & { readonly outlierFence?: number };

export type CalibrationRule =
  /** The empirical percentile of the clean scores, percentile in (0, 100). */
  | { kind: 'percentile'; percentile: number }
  /** mean + k * std of the clean scores. */
  | { kind: 'sigma'; k: number }
  /**
   * Peaks over threshold (Siffer et al. 2017): the score with tail probability q, extrapolated by a GPD fitted
   * to the excesses over the initialQuantile quantile. Reaches rates (q = 1e-4) that the data cannot show.
   */
  | { kind: 'pot'; q: number; initialQuantile: number }
  /**
   * factor x the `quantile` quantile of the clean scores: a multiple of the error floor of the windows the
   * model reconstructs best. The other methods read the top of the distribution, which anomalies in the
   * learning data (a stream that is already faulty when it auto-learns, an ECG with frequent ectopic beats)
   * push up, so the threshold lands above the anomalies themselves; a low quantile does not move until more
   * than 1 - quantile of the data is anomalous. It is also a scale that compares across streams: score /
   * threshold is "how many times the clean error floor", whatever the stream's noise level.
   */
  | { kind: 'robust'; quantile: number; factor: number };

export interface Calibration {
  method: CalibrationMethod;
  threshold: number;
  tail: TailModel;
  /** Scores the rule read (those within the outlier fence). */
  nScores: number;
  /** Learning scores beyond the outlier fence, left out; absent when none was. */
  excluded?: number;
  /** The fence's score (absent when none was drawn or none was beyond it). */
  fence?: number;
}

/** Where the tail is fitted for methods that do not choose it (percentile, sigma). */
export const DEFAULT_TAIL_QUANTILE = 0.98;

/** Throws a RangeError naming the bad field; also guards methods read from JSON (config, manifests). */
export function validateMethod(method: CalibrationMethod): void {
  const bad = (what: string, got: unknown): never => {
    throw new RangeError(`calibration method '${String(method.kind)}': ${what} (got ${String(got)})`);
  };
  if (method.outlierFence !== undefined && !(method.outlierFence >= 0 && Number.isFinite(method.outlierFence))) {
    bad('outlierFence must be a finite number >= 0', method.outlierFence);
  }
  switch (method.kind) {
    case 'percentile':
      if (!(method.percentile > 0 && method.percentile < 100)) bad('percentile must be in (0, 100)', method.percentile);
      return;
    case 'sigma':
      if (!(method.k >= 0 && Number.isFinite(method.k))) bad('k must be a finite number >= 0', method.k);
      return;
    case 'pot':
      if (!(method.q > 0 && method.q < 1)) bad('q must be in (0, 1)', method.q);
      if (!(method.initialQuantile > 0 && method.initialQuantile < 1)) {
        bad('initialQuantile must be in (0, 1)', method.initialQuantile);
      }
      // The GPD describes only scores above u; a target rate at or above P(S > u) is not a tail question.
      if (!(method.q < 1 - method.initialQuantile)) {
        bad(`q must be below 1 - initialQuantile = ${1 - method.initialQuantile}`, method.q);
      }
      return;
    case 'robust':
      if (!(method.quantile > 0 && method.quantile <= 0.5)) bad('quantile must be in (0, 0.5]', method.quantile);
      if (!(method.factor >= 1 && Number.isFinite(method.factor))) bad('factor must be a finite number >= 1', method.factor);
      return;
    default:
      bad("kind must be 'percentile', 'sigma', 'pot' or 'robust'", (method as { kind: unknown }).kind);
  }
}

/** Calibrates a threshold on clean scores. Empty input, NaN or infinite scores and bad parameters throw. */
export function calibrate(scores: ArrayLike<number>, method: CalibrationMethod): Calibration {
  validateMethod(method);
  const n = scores.length;
  if (n === 0) throw new RangeError('calibrate: no scores (empty array)');
  const bad = firstNonFinite(scores);
  if (bad >= 0) throw new RangeError(`calibrate: score at index ${bad} is ${scores[bad]}; scores must be finite`);
  const fence = outlierFence(scores, method.outlierFence ?? 0);
  const { kept, excluded } = withinFence(scores, fence);
  const sorted = sortedCopy(kept);
  const initialQuantile = method.kind === 'pot' ? method.initialQuantile : DEFAULT_TAIL_QUANTILE;
  const tail = buildTail(sorted, quantileSorted(sorted, initialQuantile));
  let threshold: number;
  switch (method.kind) {
    case 'percentile':
      threshold = quantileSorted(sorted, method.percentile / 100);
      break;
    case 'sigma':
      if (sorted.length < 2) throw new RangeError(`calibrate: the sigma method needs at least 2 scores (got ${sorted.length})`);
      threshold = mean(sorted) + method.k * std(sorted);
      break;
    case 'pot':
      // Degenerate tails (too few or all-equal excesses) fall back to the empirical quantile: never NaN.
      threshold = potThreshold(tail.gpd, method.q) ?? quantileSorted(sorted, 1 - method.q);
      break;
    case 'robust':
      threshold = method.factor * quantileSorted(sorted, method.quantile);
      break;
  }
  return { method: { ...method }, threshold, tail, nScores: sorted.length, ...(excluded > 0 ? { excluded, fence } : {}) };
}

/** Above this share of the clean windows a threshold was derived from, `train` and `calibrate` warn. */
export const MAX_CLEAN_EXCEED_FRACTION = 0.01;

/** The share of `scores` strictly above `threshold` (0 for no scores). */
export function exceedFraction(scores: ArrayLike<number>, threshold: number): number {
  let over = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > threshold) over++;
  return scores.length === 0 ? 0 : over / scores.length;
}

/**
 * What a person should hear about a threshold fitted on clean scores: it flags more than
 * MAX_CLEAN_EXCEED_FRACTION of the windows it came from, so the stream would alert on normal operation. The
 * usual cause is the target (a fraction typed for a percentile, a small sigma k or robust factor), else data
 * that was not clean. A single window above the threshold never warns: with fewer than 100 windows one is
 * already more than 1 %, and an empirical percentile leaves one above it by construction.
 */
export function calibrationWarnings(all: ArrayLike<number>, c: Calibration): string[] {
  const pct = (x: number): string => `${Number((x * 100).toPrecision(3))} %`;
  const warnings: string[] = [];
  const scores = c.fence === undefined ? all : withinFence(all, c.fence).kept;
  if (c.excluded !== undefined && c.excluded / all.length > MAX_CLEAN_EXCEED_FRACTION) {
    warnings.push(
      `${c.excluded} of the ${all.length} learning windows (${pct(c.excluded / all.length)}) score far above the rest (beyond ${Number(c.fence?.toPrecision(6))}) ` +
        'and were left out of the threshold: check that the learning period was normal operation.',
    );
  }
  const fraction = exceedFraction(scores, c.threshold);
  if (!(fraction > MAX_CLEAN_EXCEED_FRACTION && Math.round(fraction * scores.length) > 1)) return warnings;
  return [
    ...warnings,
    `the threshold ${Number(c.threshold.toPrecision(6))} flags ${pct(fraction)} of the ${scores.length} clean windows it was derived from ` +
      `(more than ${pct(MAX_CLEAN_EXCEED_FRACTION)}): the stream would alert on normal operation. ${methodHint(c.method)}`,
  ];
}

function methodHint(m: CalibrationMethod): string {
  switch (m.kind) {
    case 'percentile':
      return m.percentile < 99
        ? `The percentile ${m.percentile} leaves ${Number((100 - m.percentile).toPrecision(3))} % of the windows above it by definition; ` +
            'use 99 or more (a percentile, not a fraction), or pot.'
        : 'Check that the data is clean, or use more of it.';
    case 'sigma':
      return `mean + ${m.k} * std is low for these scores; raise k (e.g. 4) or use pot.`;
    case 'pot':
      return `An exceedance probability of ${m.q} per window is high; use 1e-4 or less, or check that the data is clean.`;
    case 'robust':
      return `${m.factor} x the ${m.quantile} quantile is low for these scores; raise the factor or check that the data is clean.`;
  }
}
