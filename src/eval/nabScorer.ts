// The NAB score (Lavin & Ahmad 2015, "Evaluating real-time anomaly detection algorithms - the Numenta Anomaly
// Benchmark"), reimplemented from the published algorithm and the NAB v1.1 scorer ("sweeper") behaviour:
// - each labelled window earns the weight of its EARLIEST detection on a scaled sigmoid of the position in
//   the window (A_TP at the left edge, ~0 at the right edge); later detections in the same window add nothing;
// - a window without a detection costs -A_FN;
// - every detection outside a window costs A_FP times a sigmoid of its distance past the preceding window's
//   right edge (relative to that window's width), so an alarm just after a window costs little and one far
//   away (>= 3 widths, or before any window) costs the full -A_FP;
// - rows in the probationary period (the first min(floor(15% of rows), 750)) count for nothing;
// - a row is a detection when its anomaly score >= the threshold.
// Scores are summed over the files of a corpus and normalised to 100 * (raw - null) / (perfect - null).
export type NabProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

/** NAB application profile weights (NAB v1.x's profiles.json); the TN weight plays no part. */
export interface NabCostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

export const NAB_PROFILE_NAMES: readonly NabProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

export const NAB_PROFILES: Readonly<Record<NabProfileName, NabCostMatrix>> = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
};

/** An anomaly window as row indices, both ends inclusive. */
export interface NabWindow {
  readonly start: number;
  readonly end: number;
}

/** One file to score: an anomaly score per row and its labelled windows (sorted, disjoint). */
export interface NabFileInput {
  readonly name: string;
  readonly scores: ArrayLike<number>;
  readonly windows: readonly NabWindow[];
}

export interface NabScore {
  /** Sum of the weighted TP, FP and FN contributions (the "Score" column of NAB's results). */
  readonly raw: number;
  /** Windows with at least one row after the probationary period: the ones that can be detected or missed. */
  readonly windows: number;
  /** Windows with a detection. */
  readonly detected: number;
  /** Detections outside every window (rows), after the probationary period. */
  readonly falsePositiveRows: number;
}

export interface NabCorpusScore extends NabScore {
  /** Raw score of the null detector (no detections) on the same files: -A_FN per window. */
  readonly nullRaw: number;
  /** Raw score of a perfect detector (one detection at each window's left edge): A_TP per window. */
  readonly perfectRaw: number;
  /** 100 * (raw - null) / (perfect - null); NaN when the files have no scorable window. */
  readonly normalised: number;
}

export const NAB_PROBATION_FRACTION = 0.15;
/** NAB caps the probationary period at probationPercent * 5000 rows. */
export const NAB_PROBATION_MAX_ROWS = 750;

/** Rows at the start of a file whose detections are ignored (and that a detector may learn from). */
export function probationaryRows(rows: number): number {
  return Math.min(Math.floor(NAB_PROBATION_FRACTION * rows), NAB_PROBATION_MAX_ROWS);
}

/**
 * The scaled sigmoid of a relative position: -1 is a window's left edge (0.9866), 0 its right edge (0),
 * positive values lie past the window (FPs), reaching -1 at 3 window widths and beyond.
 */
export function scaledSigmoid(position: number): number {
  if (position >= 3) return -1;
  return 2 / (1 + Math.exp(5 * position)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** Row roles in a {@link NabRowTable}. */
export const NAB_OUTSIDE = -1;
export const NAB_PROBATION = -2;

/** What each row would contribute if it were a detection. */
export interface NabRowTable {
  /** Weighted contribution of a detection at each row (TP weight inside a window, FP weight outside). */
  readonly weight: Float64Array;
  /** Index of the row's window in `windows`, NAB_OUTSIDE, or NAB_PROBATION (ignored). */
  readonly role: Int32Array;
  /** Windows with at least one row after the probationary period, in row order. */
  readonly windows: readonly NabWindow[];
}

export function nabRowTable(rows: number, windows: readonly NabWindow[], cost: NabCostMatrix, name = 'file'): NabRowTable {
  checkWindows(rows, windows, name);
  const probation = probationaryRows(rows);
  const weight = new Float64Array(rows);
  const role = new Int32Array(rows);
  const scorable = windows.filter((w) => w.end >= probation);
  // Windows ending inside the probationary period are a prefix of the sorted list; they are never scored.
  const skipped = windows.length - scorable.length;
  // Walk the rows once, tracking the window we are in and the last one we left.
  let next = 0;
  let prevEnd = -1;
  let prevWidth = 0;
  for (let i = 0; i < rows; i++) {
    const w = next < windows.length && windows[next].start <= i ? windows[next] : undefined;
    if (w !== undefined) {
      const width = w.end - w.start + 1;
      // -(end - i + 1) / width: -1 at the left edge, -1/width at the right edge (never exactly 0).
      weight[i] = (scaledSigmoid(-(w.end - i + 1) / width) * cost.tpWeight) / MAX_TP;
      role[i] = next - skipped;
      if (i === w.end) {
        prevEnd = i;
        prevWidth = width;
        next++;
      }
    } else {
      // NAB divides by (width - 1); a one-row window would divide by zero there, so it counts as far away.
      const position = prevEnd < 0 || prevWidth < 2 ? 3 : (i - prevEnd) / (prevWidth - 1);
      weight[i] = scaledSigmoid(position) * cost.fpWeight;
      role[i] = NAB_OUTSIDE;
    }
    if (i < probation) role[i] = NAB_PROBATION;
  }
  return { weight, role, windows: scorable };
}

/** Scores one file at a fixed threshold (detection = score >= threshold). */
export function scoreNabFile(file: NabFileInput, threshold: number, cost: NabCostMatrix): NabScore {
  checkScores(file);
  const table = nabRowTable(file.scores.length, file.windows, cost, file.name);
  const best = new Float64Array(table.windows.length).fill(-cost.fnWeight);
  const hit = new Uint8Array(table.windows.length);
  let fp = 0;
  let fpRows = 0;
  for (let i = 0; i < file.scores.length; i++) {
    const r = table.role[i];
    if (r === NAB_PROBATION || !(file.scores[i] >= threshold)) continue;
    if (r === NAB_OUTSIDE) {
      fp += table.weight[i];
      fpRows++;
    } else if (hit[r] === 0) {
      // Rows come in order and the weight falls across a window: the first detection is the best one.
      hit[r] = 1;
      best[r] = table.weight[i];
    }
  }
  let raw = fp;
  for (const b of best) raw += b;
  return { raw, windows: table.windows.length, detected: hit.reduce((a, b) => a + b, 0), falsePositiveRows: fpRows };
}

/** Scores a corpus at one threshold and normalises against the null and perfect detectors on the same files. */
export function scoreNabCorpus(files: readonly NabFileInput[], threshold: number, cost: NabCostMatrix): NabCorpusScore {
  let raw = 0;
  let windows = 0;
  let detected = 0;
  let falsePositiveRows = 0;
  for (const f of files) {
    const s = scoreNabFile(f, threshold, cost);
    raw += s.raw;
    windows += s.windows;
    detected += s.detected;
    falsePositiveRows += s.falsePositiveRows;
  }
  const nullRaw = -cost.fnWeight * windows;
  const perfectRaw = cost.tpWeight * windows;
  return { raw, windows, detected, falsePositiveRows, nullRaw, perfectRaw, normalised: normalisedNabScore(raw, nullRaw, perfectRaw) };
}

/** 100 * (raw - null) / (perfect - null): the null detector scores 0, the perfect one 100. */
export function normalisedNabScore(raw: number, nullRaw: number, perfectRaw: number): number {
  return perfectRaw === nullRaw ? NaN : (100 * (raw - nullRaw)) / (perfectRaw - nullRaw);
}

export function checkScores(file: NabFileInput): void {
  for (let i = 0; i < file.scores.length; i++) {
    if (!Number.isFinite(file.scores[i])) throw new RangeError(`${file.name}: row ${i}: anomaly score ${file.scores[i]} is not finite`);
  }
}

function checkWindows(rows: number, windows: readonly NabWindow[], name: string): void {
  let prevEnd = -1;
  for (const w of windows) {
    if (!Number.isInteger(w.start) || !Number.isInteger(w.end) || w.start < 0 || w.end >= rows || w.start > w.end) {
      throw new RangeError(`${name}: window [${w.start}, ${w.end}] is not a row range within 0..${rows - 1}`);
    }
    if (w.start <= prevEnd) throw new RangeError(`${name}: windows must be sorted and disjoint (window at row ${w.start})`);
    prevEnd = w.end;
  }
}
