// DSPOT (Siffer et al. 2017, algorithm 2): SPOT on the excess of each score over the moving average of the last
// `depth` normal scores, so the threshold rides on a level that drifts (a model's error creeping up as a machine
// wears) instead of only on the spread of the scores. Depth 0 is plain SPOT (level 0), so one class serves both.
//
// As in the paper, only normal scores (and excesses over u, which are normal too) join the moving window: an
// anomaly must not pull the level, and with it the threshold, up after itself.
import { Spot } from './spot';
import type { SpotDecision, SpotOptions, SpotState } from './spot';
import type { TailModel } from './tail';

export interface DspotOptions extends SpotOptions {
  /** Normal scores averaged into the moving level; 0 = SPOT (no level). */
  depth: number;
}

/** What a Dspot learned since it started (see SpotState); `window` holds the last `depth` normal scores, oldest first. */
export interface DspotState {
  readonly spot: SpotState;
  readonly window: Float64Array;
}

export class Dspot {
  /** Ring of the last `depth` normal scores; `next` is the slot written next (the oldest). */
  private readonly window: Float64Array;
  private next = 0;
  private level: number;

  private constructor(
    private readonly spot: Spot,
    window: ArrayLike<number>,
  ) {
    this.window = Float64Array.from(window);
    this.level = this.mean();
  }

  /**
   * Starts from a calibration's tail of raw scores (what a manifest keeps, whatever its method). For depth > 0
   * the level starts at the mean of the calibration scores (read from the tail's quantile points) and the tail
   * of the excesses over it is the raw tail shifted by that mean: the threshold starts exactly where the
   * calibration put it, and the moving level then takes over as normal scores arrive.
   */
  static fromTail(tail: TailModel, opts: DspotOptions): Dspot {
    checkDepth(opts.depth);
    const level = opts.depth > 0 ? bodyMean(tail.quantiles) : 0;
    const shifted: TailModel = level === 0 ? tail : { quantiles: tail.quantiles.map((x) => x - level), gpd: { ...tail.gpd, u: tail.gpd.u - level } };
    return new Dspot(new Spot(shifted, opts), new Float64Array(opts.depth).fill(level));
  }

  /**
   * DSPOT's initialisation on a batch of clean scores in time order: the excess of each score after the first
   * `depth` over the mean of the `depth` before it, SPOT's initialisation on those, the last `depth` as the window.
   */
  static fromScores(scores: ArrayLike<number>, opts: DspotOptions & { initialQuantile: number }): Dspot {
    checkDepth(opts.depth);
    const d = opts.depth;
    if (scores.length <= d) throw new RangeError(`Dspot.fromScores: ${scores.length} scores, depth ${d} needs more`);
    const detrended = new Float64Array(scores.length - d);
    let sum = 0;
    for (let i = 0; i < d; i++) sum += scores[i];
    for (let i = d; i < scores.length; i++) {
      detrended[i - d] = scores[i] - (d > 0 ? sum / d : 0);
      if (d > 0) sum += scores[i] - scores[i - d];
    }
    const window = Array.from({ length: d }, (_, k) => scores[scores.length - d + k]);
    return new Dspot(Spot.fromScores(detrended, opts), window);
  }

  /** Current threshold on raw scores: the moving level plus SPOT's threshold on the excesses over it. */
  get threshold(): number {
    return this.level + this.spot.threshold;
  }

  pValue(score: number): number {
    return this.spot.pValue(score - this.level);
  }

  /** Classifies one score without learning from it. */
  judge(score: number): SpotDecision {
    return this.spot.judge(score - this.level);
  }

  /** Classifies one score and learns from it (an anomaly joins neither the tail's values nor the level). */
  push(score: number): SpotDecision {
    const decision = this.spot.push(score - this.level);
    if (decision !== 'anomaly' && this.window.length > 0) {
      this.window[this.next] = score;
      this.next = this.next + 1 === this.window.length ? 0 : this.next + 1;
      this.level = this.mean();
    }
    return decision;
  }

  state(): DspotState {
    const d = this.window.length;
    return { spot: this.spot.state(), window: Float64Array.from({ length: d }, (_, k) => this.window[(this.next + k) % d]) };
  }

  /** Continues from a state() of a Dspot made with the same tail and options (else a RangeError, nothing changed). */
  restoreState(s: DspotState): void {
    if (s.window.length !== this.window.length) throw new RangeError(`Dspot state: a window of ${s.window.length} scores, depth is ${this.window.length}`);
    for (const x of s.window) if (!Number.isFinite(x)) throw new RangeError(`Dspot state: window score ${x}`);
    this.spot.restoreState(s.spot);
    this.window.set(s.window);
    this.next = 0;
    this.level = this.mean();
  }

  /** Mean of the window, summed oldest first (the same bits however the ring is rotated, so a restore is exact). */
  private mean(): number {
    const d = this.window.length;
    if (d === 0) return 0;
    let sum = 0;
    for (let k = 0; k < d; k++) sum += this.window[(this.next + k) % d];
    return sum / d;
  }
}

function checkDepth(depth: number): void {
  if (!(Number.isInteger(depth) && depth >= 0)) throw new RangeError(`Dspot: depth must be an integer >= 0 (got ${depth})`);
}

/** Mean of the distribution whose quantile function the points (at probabilities i / (m - 1)) trace, piecewise linear. */
function bodyMean(points: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < points.length; i++) sum += (points[i - 1] + points[i]) / 2;
  return sum / (points.length - 1);
}
