// Streaming SPOT (Siffer et al. 2017, algorithm 1): keeps learning the tail from normal scores while the
// daemon runs, so the threshold follows slow changes in the score distribution without recalibration.
//
// One deliberate difference: an anomaly's value is not learned (as in the paper), but the fact that a score
// exceeded the threshold is, as a right-censored excess. The paper drops it entirely, which fits the GPD to a
// tail truncated at the threshold; the fitted shape then drifts negative and the threshold falls with every
// refit (measured: 2x to 3x the target false-alarm rate after 10^5 Exp(1) scores). Censored excesses are
// admitted only while the fitted sample holds no more observations beyond the threshold than rate q explains
// (plus one standard deviation), so a sustained fault cannot drag the threshold up after it.
import { gpdInverseSurvival } from './gpd';
import { MIN_EXCESSES, buildTail, fitTail, potThreshold, pValue, tailFraction, validateTail } from './tail';
import type { GpdTail, TailModel } from './tail';
import { quantileSorted, sortedCopy } from './stats';

export interface SpotOptions {
  /** Target tail probability of the threshold, in (0, 1), e.g. 1e-3. */
  q: number;
  /**
   * Excesses kept for refitting (oldest dropped first). Bounds memory and refit cost per stream (a refit is
   * O(maxExcesses)); dropping the oldest also lets the tail follow drift. The counts n and nExceed keep growing.
   */
  maxExcesses?: number;
}

/** anomaly: above the threshold, value not learned. excess: above u, learned and refitted. normal: below u. */
export type SpotDecision = 'anomaly' | 'excess' | 'normal';

export const DEFAULT_MAX_EXCESSES = 1000;

/**
 * What a Spot learned since it started, to continue it exactly after a restart (state/filterCheckpoint.ts). The
 * body quantiles are not in it: they never change, and come again from the tail the Spot is made with.
 */
export interface SpotState {
  /** The excess store's capacity it was taken with (a state fits only a Spot of the same). */
  readonly maxExcesses: number;
  readonly gpd: GpdTail;
  /** The GPD fit's warm start (NaN: none). */
  readonly theta: number;
  /** Excesses ever stored; `excesses` is the ring's filled part (its slot i holds stamp ≡ i mod maxExcesses). */
  readonly added: number;
  readonly excesses: Float64Array;
  /** The censored ring's filled part (it fills from slot 0), and the slot written next. */
  readonly censoredLevels: Float64Array;
  readonly censoredStamps: Float64Array;
  readonly censoredNext: number;
}

export class Spot {
  private readonly q: number;
  private readonly quantiles: number[];
  private gpd: GpdTail;
  private theta: number | undefined;
  /** Ring of the most recent excesses; `added` counts every excess ever stored (its stamp). */
  private readonly excesses: Float64Array;
  private stored = 0;
  private added = 0;
  /** Ring of censoring levels (threshold - u when an anomaly was seen) and the `added` value at that time. */
  private readonly censoredLevels: Float64Array;
  private readonly censoredStamps: Float64Array;
  private censoredNext = 0;
  private readonly scratch: Float64Array;
  private z = Number.NaN;

  /**
   * Starts from a calibration's tail. Without the calibration excesses themselves (a manifest keeps only the
   * fitted parameters), stand-in excesses are the fitted GPD's quantiles at (i + 0.5) / m: refitting them
   * reproduces the calibration fit, so learning continues from it rather than from scratch.
   */
  constructor(tail: TailModel, opts: SpotOptions, excesses?: ArrayLike<number>) {
    validateTail(tail);
    if (!(opts.q > 0 && opts.q < 1)) throw new RangeError(`Spot: q must be in (0, 1) (got ${opts.q})`);
    const cap = opts.maxExcesses ?? DEFAULT_MAX_EXCESSES;
    if (!Number.isInteger(cap) || cap < MIN_EXCESSES) {
      throw new RangeError(`Spot: maxExcesses must be an integer >= ${MIN_EXCESSES} (got ${cap})`);
    }
    this.q = opts.q;
    this.quantiles = tail.quantiles;
    this.gpd = { ...tail.gpd };
    this.theta = tail.gpd.fitted ? tail.gpd.xi / tail.gpd.sigma : undefined;
    this.excesses = new Float64Array(cap);
    this.censoredLevels = new Float64Array(cap);
    this.censoredStamps = new Float64Array(cap).fill(Number.NEGATIVE_INFINITY);
    this.scratch = new Float64Array(cap);
    if (excesses !== undefined) {
      // Keep the most recent ones if there are more than the cap.
      for (let i = Math.max(0, excesses.length - cap); i < excesses.length; i++) this.store(excesses[i]);
    } else {
      const m = Math.min(tail.gpd.nExceed, cap);
      for (let i = 0; i < m; i++) this.store(gpdInverseSurvival(1 - (i + 0.5) / m, tail.gpd));
    }
    this.updateThreshold();
  }

  /** SPOT's initialisation step on a batch of clean scores (u at initialQuantile, fit on its excesses). */
  static fromScores(scores: ArrayLike<number>, opts: SpotOptions & { initialQuantile: number }): Spot {
    if (scores.length === 0) throw new RangeError('Spot.fromScores: no scores (empty array)');
    if (!(opts.initialQuantile > 0 && opts.initialQuantile < 1)) {
      throw new RangeError(`Spot.fromScores: initialQuantile must be in (0, 1) (got ${opts.initialQuantile})`);
    }
    for (let i = 0; i < scores.length; i++) {
      if (!Number.isFinite(scores[i])) throw new RangeError(`Spot.fromScores: score at index ${i} is ${scores[i]}`);
    }
    const sorted = sortedCopy(scores);
    const u = quantileSorted(sorted, opts.initialQuantile);
    const tail = buildTail(sorted, u);
    const excesses: number[] = [];
    for (let i = 0; i < sorted.length; i++) if (sorted[i] > u) excesses.push(sorted[i] - u);
    return new Spot(tail, opts, excesses);
  }

  /** Current threshold z_q: a score above it is anomalous. */
  get threshold(): number {
    return this.z;
  }

  /** Snapshot of the current tail model (body unchanged, tail refitted). */
  get tail(): TailModel {
    return { quantiles: this.quantiles, gpd: { ...this.gpd } };
  }

  pValue(score: number): number {
    return pValue(this.tail, score);
  }

  /** Classifies one score without learning from it (a window under maintenance: judged, not learned). */
  judge(score: number): SpotDecision {
    if (Number.isNaN(score)) throw new RangeError('Spot.judge: score is NaN');
    return score > this.z ? 'anomaly' : score > this.gpd.u ? 'excess' : 'normal';
  }

  /** A copy of what it learned (see SpotState). */
  state(): SpotState {
    let filled = 0;
    while (filled < this.censoredStamps.length && this.censoredStamps[filled] !== Number.NEGATIVE_INFINITY) filled++;
    return {
      maxExcesses: this.excesses.length,
      gpd: { ...this.gpd },
      theta: this.theta ?? Number.NaN,
      added: this.added,
      excesses: this.excesses.slice(0, this.stored),
      censoredLevels: this.censoredLevels.slice(0, filled),
      censoredStamps: this.censoredStamps.slice(0, filled),
      censoredNext: this.censoredNext,
    };
  }

  /**
   * Continues from a state() of a Spot made with the same tail and options; then it decides and learns exactly
   * as that one would have. A state that does not fit throws a RangeError and leaves this Spot as it was.
   */
  restoreState(s: SpotState): void {
    const cap = this.excesses.length;
    const bad = (what: string): never => {
      throw new RangeError(`Spot state: ${what}`);
    };
    if (s.maxExcesses !== cap) bad(`taken with max_excesses ${s.maxExcesses}, this one keeps ${cap}`);
    validateTail({ quantiles: this.quantiles, gpd: s.gpd });
    const stored = s.excesses.length;
    if (!(Number.isInteger(s.added) && s.added >= stored && stored <= cap && (stored === cap || stored === s.added))) bad(`${stored} excesses of ${s.added} added`);
    const filled = s.censoredLevels.length;
    if (filled > cap || s.censoredStamps.length !== filled) bad(`${filled} censored levels, ${s.censoredStamps.length} stamps`);
    if (!(Number.isInteger(s.censoredNext) && s.censoredNext >= 0 && s.censoredNext < cap && (filled === cap || s.censoredNext === filled))) {
      bad(`next censored slot ${s.censoredNext} of ${filled}`);
    }
    for (const x of s.excesses) if (!(x >= 0 && Number.isFinite(x))) bad(`excess ${x}`);
    this.gpd = { ...s.gpd };
    this.theta = Number.isNaN(s.theta) ? undefined : s.theta;
    this.excesses.fill(0).set(s.excesses);
    this.added = s.added;
    this.stored = stored;
    this.censoredLevels.fill(0).set(s.censoredLevels);
    this.censoredStamps.fill(Number.NEGATIVE_INFINITY).set(s.censoredStamps);
    this.censoredNext = s.censoredNext;
    this.updateThreshold();
  }

  /** Classifies one score and learns from it. A NaN score throws (it is a scorer bug, not data). */
  push(score: number): SpotDecision {
    if (Number.isNaN(score)) throw new RangeError('Spot.push: score is NaN');
    if (score > this.z) {
      if (this.admitsCensored()) {
        this.censoredLevels[this.censoredNext] = this.z - this.gpd.u;
        this.censoredStamps[this.censoredNext] = this.added;
        this.censoredNext = this.censoredNext + 1 === this.censoredLevels.length ? 0 : this.censoredNext + 1;
        this.gpd.n++;
        this.gpd.nExceed++;
        this.refit();
      }
      this.updateThreshold();
      return 'anomaly';
    }
    this.gpd.n++;
    let decision: SpotDecision = 'normal';
    if (score > this.gpd.u) {
      decision = 'excess';
      this.gpd.nExceed++;
      this.store(score - this.gpd.u);
      this.refit();
    }
    // n grew, so P(S > u) and with it z_q moved even without a refit; this costs O(1).
    this.updateThreshold();
    return decision;
  }

  private store(excess: number): void {
    this.excesses[this.added % this.excesses.length] = excess;
    this.added++;
    if (this.stored < this.excesses.length) this.stored++;
  }

  /** Censored entries recorded since the oldest stored excess, i.e. over the same stretch of time. */
  private collectCensored(): Float64Array {
    const oldest = this.added - this.stored;
    let k = 0;
    for (let i = 0; i < this.censoredLevels.length; i++) {
      if (this.censoredStamps[i] >= oldest) this.scratch[k++] = this.censoredLevels[i];
    }
    return this.scratch.subarray(0, k);
  }

  /**
   * Under normal operation the fitted sample (stored excesses plus censored ones) holds about r = q / P(S > u)
   * of its observations beyond the current threshold, a Poisson count. An anomaly is admitted as censored
   * evidence only while that count is within expected + 1 sd; beyond that it is a fault, not the tail. (Measured:
   * a sustained fault raises the threshold by ~5% and then stops; clean streams keep the rate near q.)
   * The stored excesses count too: those from the calibration batch include the top of the tail already.
   */
  private admitsCensored(): boolean {
    const oldest = this.added - this.stored;
    let censored = 0;
    for (let i = 0; i < this.censoredStamps.length; i++) if (this.censoredStamps[i] >= oldest) censored++;
    if (censored >= this.censoredLevels.length) return false;
    const level = this.z - this.gpd.u;
    let beyond = censored;
    for (let i = 0; i < this.stored; i++) if (this.excesses[i] > level) beyond++;
    const expected = (this.stored + censored) * Math.min(this.q / tailFraction(this.gpd), 1);
    return beyond < expected + Math.sqrt(expected) + 1;
  }

  private refit(): void {
    const refit = fitTail(
      this.excesses.subarray(0, this.stored),
      this.gpd.u,
      this.gpd.n,
      this.theta,
      this.collectCensored(),
    );
    // Keep the last good fit when the stored excesses are degenerate; counts are the running totals.
    if (refit.gpd.fitted || !this.gpd.fitted) {
      this.gpd = { ...refit.gpd, nExceed: this.gpd.nExceed, n: this.gpd.n };
      this.theta = refit.theta;
    }
  }

  private updateThreshold(): void {
    this.z = potThreshold(this.gpd, this.q) ?? quantileSorted(this.quantiles, 1 - this.q);
  }
}
