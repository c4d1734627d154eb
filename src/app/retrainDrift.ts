// The drift trigger and the schedule of retraining, as pure bookkeeping (the retrainer feeds them and acts).
//
// Drift: the share of a stream's windows whose raw detector p-value (before the score filter) is below 0.01,
// over the last `over`. On the data the model was calibrated on that share is 1 % (p < 0.01 is beyond the
// calibration's 99th percentile); drift fires when it exceeds factor x 1 % on at least min_windows windows. Why
// a ratio with a floor and not a formal test (Kolmogorov-Smirnov on the p-values, a binomial test on the count):
// windows overlap (hop < size), so neighbouring p-values are strongly dependent and a test that assumes
// independent draws is overconfident by about size / hop; on a day of windows it would call every small wobble
// significant. The ratio says what an operator can check ("7 % of yesterday's windows were beyond the
// calibration's 99th percentile, 3 % allowed") and the floor keeps a quiet stream from deciding on a handful.
// The counts sit in BUCKETS time buckets per stream (sample time of the window's end), so `over` slides in
// steps of over / BUCKETS at a fixed cost per stream.

export const DRIFT_P_VALUE = 0.01;
export const BUCKETS = 24;

export interface DriftVerdict {
  readonly windows: number;
  /** Windows with p-value below DRIFT_P_VALUE. */
  readonly low: number;
  /** low / windows (0 without windows). */
  readonly share: number;
  /** True when share > factor x DRIFT_P_VALUE on at least minWindows windows. */
  readonly drift: boolean;
}

export interface DriftRule {
  readonly overMs: number;
  readonly factor: number;
  readonly minWindows: number;
}

interface Buckets {
  /** Start time of the bucket at each slot; NaN when empty. */
  readonly starts: Float64Array;
  readonly counts: Uint32Array;
  readonly lows: Uint32Array;
  widthMs: number;
}

export class DriftMonitor {
  private readonly streams = new Map<string, Buckets>();

  /** A scored window of the stream, at sample time `time` with the detector's raw p-value. */
  add(stream: string, time: number, pValue: number, overMs: number): void {
    if (!Number.isFinite(pValue)) return;
    const widthMs = Math.max(1, overMs / BUCKETS);
    let b = this.streams.get(stream);
    if (!b || b.widthMs !== widthMs) {
      b = { starts: new Float64Array(BUCKETS).fill(Number.NaN), counts: new Uint32Array(BUCKETS), lows: new Uint32Array(BUCKETS), widthMs };
      this.streams.set(stream, b);
    }
    const index = Math.floor(time / widthMs);
    const slot = ((index % BUCKETS) + BUCKETS) % BUCKETS;
    const start = index * widthMs;
    if (b.starts[slot] !== start) {
      // An older window of a slot already reused for a newer period is not counted.
      if (b.starts[slot] > start) return;
      b.starts[slot] = start;
      b.counts[slot] = 0;
      b.lows[slot] = 0;
    }
    b.counts[slot]++;
    if (pValue < DRIFT_P_VALUE) b.lows[slot]++;
  }

  /** The verdict over the `overMs` before `now` (sample time of the stream's newest windows). */
  judge(stream: string, now: number, rule: DriftRule): DriftVerdict {
    const b = this.streams.get(stream);
    let windows = 0;
    let low = 0;
    if (b) {
      const from = now - rule.overMs;
      for (let i = 0; i < BUCKETS; i++) {
        if (!(b.starts[i] + b.widthMs > from) || b.starts[i] > now) continue;
        windows += b.counts[i];
        low += b.lows[i];
      }
    }
    const share = windows > 0 ? low / windows : 0;
    return { windows, low, share, drift: windows >= rule.minWindows && share > rule.factor * DRIFT_P_VALUE };
  }

  /** Starts the stream's counts afresh (after a retrain it triggered: the next verdict is on later windows). */
  reset(stream: string): void {
    this.streams.delete(stream);
  }

  forget(stream: string): void {
    this.streams.delete(stream);
  }

  streamsTracked(): IterableIterator<string> {
    return this.streams.keys();
  }
}

/** When a scheduled retrain of a stream is due: `every` after its last retrain, or after it was first seen. */
export function scheduledDue(everyMs: number | null, lastRetrainAt: number | null, firstSeenAt: number, now: number): boolean {
  if (everyMs === null) return false;
  return now >= (lastRetrainAt ?? firstSeenAt) + everyMs;
}

/** Whether a drift retrain may start: at most one per stream per `over`. */
export function driftAllowed(lastDriftRetrainAt: number | null, overMs: number, now: number): boolean {
  return lastDriftRetrainAt === null || now - lastDriftRetrainAt >= overMs;
}
