// Where the bulk of a stream's learning scores ends: a Tukey fence on the logarithm of the scores,
// exp(Q3 + k * IQR) of log(score). Reconstruction errors are positive and skewed to the right (a window twice as
// hard to reconstruct is as far from the typical one as one half as hard), so the fence is drawn on their
// logarithm, where the bulk is roughly symmetric. With k = 3 ("far out") clean learning data puts nothing or
// nearly nothing beyond it (measured: 0 of ~385 windows on each of the 23 SKAB files), while the windows of a
// fault or of ectopic beats in the learning data, several times the typical error, fall beyond it. It is what
// lets training and calibration learn from data that is not clean without a fixed share to drop: they leave out
// what lies beyond the fence, which on clean data is nothing.
import { quantileSorted } from './stats';

/** Fewer scores than this give no fence (quartiles of a handful of values say little). */
export const MIN_FENCE_SCORES = 20;

/**
 * The score above which a learning score is an outlier, or Infinity when there is no fence (k = 0, too few
 * positive finite scores, or no spread). Non-positive and non-finite scores are ignored.
 */
export function outlierFence(scores: ArrayLike<number>, k: number): number {
  if (!(k > 0)) return Number.POSITIVE_INFINITY;
  const logs: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s > 0 && Number.isFinite(s)) logs.push(Math.log(s));
  }
  if (logs.length < MIN_FENCE_SCORES) return Number.POSITIVE_INFINITY;
  const sorted = Float64Array.from(logs).sort();
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  if (!(iqr > 0)) return Number.POSITIVE_INFINITY;
  return Math.exp(q3 + k * iqr);
}

/** The scores at or below the fence, in their order, and how many were beyond it. */
export function withinFence(scores: ArrayLike<number>, fence: number): { kept: number[]; excluded: number } {
  const kept: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!(scores[i] > fence)) kept.push(scores[i]);
  return { kept, excluded: scores.length - kept.length };
}
