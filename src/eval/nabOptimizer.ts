// The corpus-wide threshold optimiser: the one threshold per profile that maximises the summed raw NAB score
// over all files, as NAB's optimize step picks it for the scoreboard. The search is exact: the score only
// changes where the threshold crosses a row's anomaly score, so every distinct score is tried in one sweep
// from the highest down (NAB v1.1 sweeps the same way; v1.0 hill-climbed and could stop at a local optimum).
import { NAB_OUTSIDE, NAB_PROBATION, nabRowTable, scoreNabCorpus, checkScores, type NabCorpusScore, type NabCostMatrix, type NabFileInput } from './nabScorer';

export interface NabOptimum {
  /** Detection = score >= threshold. When no detection at all scores best: 1.1 (NAB's start), or above every score. */
  readonly threshold: number;
  readonly score: NabCorpusScore;
}

// Raw-score gains smaller than this are treated as ties (summation order noise): a tie keeps the higher
// threshold, as NAB's stable sort of the sweep does.
const TIE_EPSILON = 1e-9;

export function optimizeNabThreshold(files: readonly NabFileInput[], cost: NabCostMatrix): NabOptimum {
  // Pool every scorable row of the corpus: its score, its weight as a detection and its global window id.
  const scores: number[] = [];
  const weights: number[] = [];
  const windowOf: number[] = [];
  let windowCount = 0;
  let maxScore = -Infinity;
  for (const f of files) {
    checkScores(f);
    const table = nabRowTable(f.scores.length, f.windows, cost, f.name);
    for (let i = 0; i < f.scores.length; i++) {
      const role = table.role[i];
      if (role === NAB_PROBATION) continue;
      scores.push(f.scores[i]);
      weights.push(table.weight[i]);
      windowOf.push(role === NAB_OUTSIDE ? -1 : windowCount + role);
      if (f.scores[i] > maxScore) maxScore = f.scores[i];
    }
    windowCount += table.windows.length;
  }
  const order = Uint32Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);

  // Running state of the sweep: the best detection weight of each window so far (-A_FN while missed).
  const best = new Float64Array(windowCount).fill(-cost.fnWeight);
  let total = -cost.fnWeight * windowCount;
  let bestThreshold = maxScore < 1.1 ? 1.1 : nextUp(maxScore);
  let bestTotal = total;
  for (let k = 0; k < order.length; ) {
    const threshold = scores[order[k]];
    // Lowering the threshold to `threshold` turns every row with exactly this score into a detection.
    for (; k < order.length && scores[order[k]] === threshold; k++) {
      const i = order[k];
      const w = windowOf[i];
      if (w < 0) total += weights[i];
      else if (weights[i] > best[w]) {
        total += weights[i] - best[w];
        best[w] = weights[i];
      }
    }
    if (total > bestTotal + TIE_EPSILON) {
      bestTotal = total;
      bestThreshold = threshold;
    }
  }
  // Rescore at the chosen threshold so the reported numbers are exactly the fixed-threshold ones.
  return { threshold: bestThreshold, score: scoreNabCorpus(files, bestThreshold, cost) };
}

/** The smallest double above x (x finite). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}
