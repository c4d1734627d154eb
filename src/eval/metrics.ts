// Detection-quality metrics. Anomalies are the positive class throughout.

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  precision: number;
  /** Also called sensitivity / true positive rate. */
  recall: number;
  f1: number;
  /** tn / (tn + fp), true negative rate. */
  specificity: number;
  /** False alarm rate fp / (fp + tn), a fraction (SKAB reports it in percent). */
  far: number;
  /** Missed alarm rate fn / (fn + tp), a fraction (SKAB reports it in percent). */
  mar: number;
}

/** One point of an ROC curve: predicting positive when score >= threshold gives these rates. */
export interface RocPoint {
  threshold: number;
  fpr: number;
  tpr: number;
}

/**
 * Area under the ROC curve by the Mann-Whitney U statistic: the probability that a random positive scores
 * above a random negative, ties counting one half (average ranks). NaN when either class is empty.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const order = sortedIndex(scores, positive);
  const n = order.length;
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    // Group equal scores and give each the average of their ranks (1-based).
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]]) {
        nPos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * ROC curve from (fpr, tpr) = (0, 0) at threshold +Infinity to (1, 1), one point per distinct score in
 * decreasing order (so tied scores make one diagonal step). Its trapezoidal area equals rocAuc. Empty when
 * either class is empty.
 */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean>): RocPoint[] {
  const order = sortedIndex(scores, positive).reverse();
  let nPos = 0;
  for (const i of order) if (positive[i]) nPos++;
  const nNeg = order.length - nPos;
  if (nPos === 0 || nNeg === 0) return [];
  const points: RocPoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]];
    while (i < order.length && scores[order[i]] === s) {
      if (positive[order[i]]) tp++;
      else fp++;
      i++;
    }
    points.push({ threshold: s, fpr: fp / nNeg, tpr: tp / nPos });
  }
  return points;
}

/** Counts of predicted vs actual labels (true = anomalous). */
export function confusion(pred: ArrayLike<boolean>, actual: ArrayLike<boolean>): Confusion {
  if (pred.length !== actual.length) {
    throw new RangeError(`confusion: ${pred.length} predictions for ${actual.length} labels`);
  }
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < pred.length; i++) {
    if (pred[i]) {
      if (actual[i]) c.tp++;
      else c.fp++;
    } else if (actual[i]) c.fn++;
    else c.tn++;
  }
  return c;
}

/**
 * Accuracy, precision, recall, F1 and the rates derived from a confusion matrix. A ratio whose denominator
 * is 0 is reported as 0, not NaN (e.g. precision when nothing was flagged, as scikit-learn's
 * zero_division=0), so the numbers can always be serialised and compared.
 */
export function classificationMetrics(c: Confusion): ClassificationMetrics {
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return {
    accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    precision,
    recall,
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    specificity: ratio(c.tn, c.tn + c.fp),
    far: ratio(c.fp, c.fp + c.tn),
    mar: ratio(c.fn, c.fn + c.tp),
  };
}

/** Indices sorted by ascending score; rejects length mismatches and NaN scores. */
function sortedIndex(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number[] {
  if (scores.length !== positive.length) {
    throw new RangeError(`${scores.length} scores for ${positive.length} labels`);
  }
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`score ${i} is NaN`);
    order.push(i);
  }
  // Compare rather than subtract: Infinity - Infinity is NaN.
  return order.sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0));
}
