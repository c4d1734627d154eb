// The anomaly likelihood of a stream's window scores, after HTM's (Ahmad et al., "Unsupervised real-time
// anomaly detection for streaming data", Neurocomputing 2017): the mean of the last few raw scores is compared
// with a Gaussian fitted to the stream's recent history of raw scores, and the upper tail probability of that
// mean says how surprising the present is *for this stream now*. A frozen autoencoder's error that stays high
// through a drift stops being surprising once the history has absorbed it, while a sudden change stands out.
// The output score is HTM's log-likelihood, log(tail) / log(1e-10) in [0, 1] (0.5 = tail 1e-5), so one
// threshold means the same rarity on every stream. After a detection the next `suppressWindows` windows score
// 0: the change has been reported once, and repeating it is noise to whoever gets paged.
// With a range tolerance, a window holding a value beyond the stream's seen range (see rangeNovelty) scores 1
// whatever its likelihood, as HTM's NAB detector does: the model's error saturates out of range, the range
// does not. Such a window is reported even during suppression (it is a new extreme, not a repeat), and
// restarts it.
// A window may carry raw scores of other time scales (a model of the stream's coarse, pooled view; see
// model/coarseScale.ts): each scale is judged against its own history and the smallest tail probability counts.
import { RangeNovelty } from './rangeNovelty';
import type { ScoreFilterDelta, ScoreFilterMark, ScoreFilterState, ScoreObservation, ScoreScaleDelta, StreamScoreFilter } from './scoreFilter';

export interface LikelihoodOptions {
  /** Raw scores averaged into the present (HTM: 10). */
  readonly averageWindows: number;
  /** Raw scores the Gaussian is fitted to (the most recent ones). */
  readonly historyWindows: number;
  /** No judgement (score 0) until this many raw scores are in the history. */
  readonly learningWindows: number;
  /** Log-likelihood at or above which a window is anomalous, in (0, 1]. */
  readonly threshold: number;
  /** Windows after a detection that score 0 and are not anomalous. */
  readonly suppressWindows: number;
  /**
   * A window with a value more than this fraction of the seen range outside it scores 1 (HTM: 0.05).
   * Undefined or 0: no range check (the windows' values are not looked at).
   */
  readonly rangeTolerance?: number;
}

const LOG_FLOOR = 1e-10;

export class AnomalyLikelihood implements StreamScoreFilter {
  private readonly scales: ScoreGaussian[] = [];
  private sinceDetection = Infinity;
  private range: RangeNovelty | undefined;
  private changes = 0;
  private restores = 0;

  constructor(private readonly options: LikelihoodOptions) {
    const int = (name: 'averageWindows' | 'historyWindows' | 'learningWindows' | 'suppressWindows', min: number): void => {
      const v = options[name];
      if (!Number.isInteger(v) || v < min) throw new RangeError(`anomaly likelihood: ${name} must be an integer >= ${min} (got ${v})`);
    };
    int('averageWindows', 1);
    int('historyWindows', 2);
    int('learningWindows', 2);
    int('suppressWindows', 0);
    if (options.learningWindows > options.historyWindows) {
      throw new RangeError(`anomaly likelihood: learningWindows (${options.learningWindows}) must not exceed historyWindows (${options.historyWindows})`);
    }
    if (!(options.threshold > 0 && options.threshold <= 1)) throw new RangeError(`anomaly likelihood: threshold must be in (0, 1] (got ${options.threshold})`);
    const tolerance = options.rangeTolerance ?? 0;
    if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw new RangeError(`anomaly likelihood: rangeTolerance must be a finite number >= 0 (got ${tolerance})`);
  }

  /** Changes with every window and every seed or restore. */
  get revision(): number {
    return this.changes;
  }

  filter(o: ScoreObservation): ScoreObservation {
    this.changes++;
    // Each time scale's raw scores have their own history (their errors are on different scales); the most
    // surprising scale speaks for the window. A scale judges nothing until it has its own learning windows.
    // A window that must not be learned (maintenance) is judged against the history as it is, and joins neither
    // the history, the recent scores nor the seen range.
    const learn = o.learn !== false;
    let tail = this.scale(0).judge(o.score, learn);
    o.otherScales?.forEach((raw, i) => {
      if (Number.isFinite(raw)) tail = Math.min(tail, this.scale(i + 1).judge(raw, learn));
    });
    let score = Math.min(1, Math.max(0, Math.log(tail + LOG_FLOOR) / Math.log(LOG_FLOOR)));
    const novel = this.outOfRange(o);
    if (novel) {
      score = 1;
      tail = Math.min(tail, LOG_FLOOR);
    }
    let anomalous = false;
    this.sinceDetection++;
    // A value beyond anything seen is news even right after a detection; a merely unlikely score is not.
    if (this.sinceDetection <= this.options.suppressWindows && !novel) score = 0;
    else if (score >= this.options.threshold) {
      anomalous = true;
      this.sinceDetection = 0;
    }
    return { time: o.time, score, threshold: this.options.threshold, pValue: tail, anomalous };
  }

  /** A known range (the learned model's training range) joins the range check's seen range; no-op without a tolerance. */
  seedRange(lo: readonly number[], hi: readonly number[]): void {
    const tolerance = this.options.rangeTolerance ?? 0;
    if (tolerance <= 0 || lo.length === 0 || lo.length !== hi.length) return;
    this.changes++;
    this.range ??= new RangeNovelty(tolerance, lo.length);
    this.range.include(lo, hi);
  }

  snapshot(): ScoreFilterState {
    return {
      sinceDetection: Number.isFinite(this.sinceDetection) ? this.sinceDetection : null,
      ...(this.range ? { range: this.range.snapshot() } : {}),
      scales: this.scales.map((s) => s.snapshot()),
    };
  }

  /**
   * Continues from a snapshot. Settings may have changed since: the newest scores that fit the history and the
   * recent average are kept; a range of another channel count is left out (the range check starts anew). The
   * range joins whatever was seeded already (the learned model's range), so restoring never narrows it.
   */
  restore(state: ScoreFilterState): void {
    // A SPOT filter's state (calibration.method changed since the checkpoint): its scores are not a history.
    if (state.spot) throw new RangeError("the saved state is a SPOT filter's, this stream's filter is the anomaly likelihood");
    this.changes++;
    this.restores++;
    this.sinceDetection = state.sinceDetection === null || !(state.sinceDetection >= 0) ? Infinity : state.sinceDetection;
    const tolerance = this.options.rangeTolerance ?? 0;
    const range = state.range;
    if (tolerance > 0 && range && range.lo.length === range.hi.length && range.lo.length > 0) {
      if (this.range && this.range.channels !== range.lo.length) this.range = undefined;
      this.range ??= new RangeNovelty(tolerance, range.lo.length);
      this.range.include(Array.from(range.lo), Array.from(range.hi));
    }
    this.scales.length = 0;
    state.scales.forEach((s, i) => this.scale(i).restore(s.history, s.recent, s.sums));
  }

  mark(): ScoreFilterMark {
    return { restores: this.restores, pushed: this.scales.map((s) => s.pushed), ...(this.range ? { range: this.range.snapshot() } : {}) };
  }

  changesSince(mark: ScoreFilterMark): ScoreFilterDelta | undefined {
    // A restore replaced the histories; scales and a range come and never go otherwise.
    if (mark.restores !== this.restores || mark.pushed.length > this.scales.length || (mark.range && !this.range)) return undefined;
    let range: { lo: Float64Array; hi: Float64Array } | undefined;
    if (this.range) {
      const now = this.range.snapshot();
      if (!mark.range || !sameValues(now.lo, mark.range.lo) || !sameValues(now.hi, mark.range.hi)) range = now;
    }
    return {
      sinceDetection: Number.isFinite(this.sinceDetection) ? this.sinceDetection : null,
      ...(range ? { range } : {}),
      scales: this.scales.map((s, i) => s.since(mark.pushed[i] ?? 0)),
    };
  }

  private scale(i: number): ScoreGaussian {
    while (this.scales.length <= i) this.scales.push(new ScoreGaussian(this.options));
    return this.scales[i];
  }

  /** Range novelty of the observation's window (false without a tolerance or without window values). */
  private outOfRange(o: ScoreObservation): boolean {
    const tolerance = this.options.rangeTolerance ?? 0;
    if (tolerance <= 0 || o.window === undefined) return false;
    this.range ??= new RangeNovelty(tolerance, o.window.channels);
    return this.range.observe(o.window.values, o.learn !== false);
  }
}

/** The recent mean of one scale's raw scores against a Gaussian of that scale's history. */
class ScoreGaussian {
  /**
   * Grows by doubling up to historyWindows as scores arrive (a ring once full): 4 KB a stream at the default
   * 500 from its first window was the largest part of a new stream's memory (10,000 streams: 40 MB).
   */
  private history: Float64Array;
  private readonly recent: Float64Array;
  private historyCount = 0;
  private historyNext = 0;
  private sum = 0;
  private sumSq = 0;
  private recentCount = 0;
  private recentNext = 0;
  private recentSum = 0;
  private pushes = 0;
  /** Scores pushed to the history by this instance (`pushes` is restored with the sums; this is not). */
  private pushedHere = 0;

  constructor(private readonly options: LikelihoodOptions) {
    this.history = new Float64Array(Math.min(options.historyWindows, 16));
    this.recent = new Float64Array(options.averageWindows);
  }

  /** History and recent scores, oldest first. */
  snapshot(): { history: Float64Array; recent: Float64Array; sums: Float64Array } {
    return {
      history: ringInOrder(this.history, this.historyCount, this.historyNext),
      recent: ringInOrder(this.recent, this.recentCount, this.recentNext),
      sums: Float64Array.of(this.sum, this.sumSq, this.recentSum, this.pushes),
    };
  }

  /** Scores pushed to the history since this scale was made (what a filter mark keeps). */
  get pushed(): number {
    return this.pushedHere;
  }

  /** The change since the scale had pushed `pushed` scores (see ScoreScaleDelta). */
  since(pushed: number): ScoreScaleDelta {
    const k = this.pushedHere - pushed;
    const m = Math.min(k, this.historyCount);
    // Every score pushed went to the recent scores too: their count says which they are, unless some of those
    // pushed are no longer in the history to be written.
    const derivable = k === m || this.recentCount <= m;
    return {
      appended: ringNewest(this.history, this.historyCount, this.historyNext, m),
      historyLength: this.historyCount,
      recent: derivable ? this.recentCount : ringInOrder(this.recent, this.recentCount, this.recentNext),
      sums: Float64Array.of(this.sum, this.sumSq, this.recentSum, this.pushes),
    };
  }

  /**
   * Continues from saved scores (oldest first; non-finite ones skipped, the newest that fit kept). The saved
   * running sums are taken when every saved score was, so the p-values go on bit for bit. Call on a new instance.
   */
  restore(history: ArrayLike<number>, recent: ArrayLike<number>, sums?: ArrayLike<number>): void {
    for (let i = Math.max(0, history.length - this.options.historyWindows); i < history.length; i++) if (Number.isFinite(history[i])) this.pushHistory(history[i]);
    for (let i = Math.max(0, recent.length - this.options.averageWindows); i < recent.length; i++) if (Number.isFinite(recent[i])) this.pushRecent(recent[i]);
    const whole = this.historyCount === history.length && this.recentCount === recent.length;
    if (whole && sums && sums.length === 4 && Array.from(sums).every(Number.isFinite)) {
      this.sum = sums[0];
      this.sumSq = sums[1];
      this.recentSum = sums[2];
      this.pushes = sums[3];
    }
  }

  /**
   * Upper tail probability of the recent mean including `raw` (1 while learning); `raw` then joins the recent
   * scores and the history, unless `learn` is false (the mean is then the one `raw` would make, and nothing is kept).
   */
  judge(raw: number, learn = true): number {
    let recentMean: number;
    if (learn) {
      this.pushRecent(raw);
      recentMean = this.recentSum / this.recentCount;
    } else {
      const full = this.recentCount === this.recent.length;
      recentMean = (this.recentSum - (full ? this.recent[this.recentNext] : 0) + raw) / (full ? this.recentCount : this.recentCount + 1);
    }
    let tail = 1;
    if (this.historyCount >= this.options.learningWindows) {
      const n = this.historyCount;
      const mean = this.sum / n;
      // A floor relative to the mean: a stream whose scores never varied must not turn rounding into 10 sigma.
      const sd = Math.max(Math.sqrt(Math.max(0, this.sumSq / n - mean * mean)), 1e-6 * Math.abs(mean) + 1e-12);
      tail = upperTail((recentMean - mean) / sd);
    }
    if (learn) this.pushHistory(raw);
    return tail;
  }

  private pushRecent(v: number): void {
    if (this.recentCount === this.recent.length) this.recentSum -= this.recent[this.recentNext];
    else this.recentCount++;
    this.recent[this.recentNext] = v;
    this.recentSum += v;
    this.recentNext = (this.recentNext + 1) % this.recent.length;
  }

  private pushHistory(v: number): void {
    const capacity = this.options.historyWindows;
    if (this.historyCount === capacity) {
      const old = this.history[this.historyNext];
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      // Not yet full: the scores sit at 0..count-1, so growing is a copy.
      if (this.historyCount === this.history.length) {
        const grown = new Float64Array(Math.min(capacity, this.history.length * 2));
        grown.set(this.history);
        this.history = grown;
      }
      this.historyCount++;
    }
    const h = this.history;
    this.pushedHere++;
    h[this.historyNext] = v;
    this.sum += v;
    this.sumSq += v * v;
    this.historyNext = (this.historyNext + 1) % capacity;
    // Running sums drift by rounding when values come and go for days; recompute them now and then. Oldest
    // first, as a filter restored from a snapshot holds them (from index 0): it computes the same sums.
    if (++this.pushes % (4 * capacity) === 0) {
      this.sum = 0;
      this.sumSq = 0;
      const n = this.historyCount;
      const oldest = n < h.length ? 0 : this.historyNext;
      for (let k = 0; k < n; k++) {
        const v = h[(oldest + k) % h.length];
        this.sum += v;
        this.sumSq += v * v;
      }
    }
  }
}

/** The `count` entries of a ring whose next write goes to `next`, oldest first (a copy). */
function ringInOrder(ring: Float64Array, count: number, next: number): Float64Array {
  if (count < ring.length) return ring.slice(0, count);
  const out = new Float64Array(count);
  out.set(ring.subarray(next));
  out.set(ring.subarray(0, next), ring.length - next);
  return out;
}

/** The newest `n` (at most `count`) entries of a ring as ringInOrder has them, oldest first (a copy). */
function ringNewest(ring: Float64Array, count: number, next: number, n: number): Float64Array {
  if (count < ring.length) return ring.slice(count - n, count);
  const out = new Float64Array(n);
  // The newest entry is at next - 1; the n newest start at next - n (wrapping).
  const start = next - n;
  if (start >= 0) out.set(ring.subarray(start, next));
  else {
    out.set(ring.subarray(ring.length + start));
    out.set(ring.subarray(0, next), -start);
  }
  return out;
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** P(Z > z) for a standard normal Z, via erfc (Numerical Recipes' erfcc, relative error < 1.2e-7). */
export function upperTail(z: number): number {
  if (Number.isNaN(z)) return 1;
  return 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
