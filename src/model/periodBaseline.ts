// The period baseline of a stream's likelihood (calibration.likelihood.period_baseline): each scale's raw score is
// judged by how far it rises above that scale's score one period earlier, at the same phase of the stream's cycle.
// A model's error that recurs every day at the same hour (a rush hour the window cannot place, a weekly dip) is
// then no news, while an error the same hour did not have yesterday is. The period is the stream's own, found on
// its learning data (core/period.ts) and recorded in the learned model's manifest (`period`); only a period longer
// than the window counts (a shorter cycle is whole in every window, so the model already places it).
import type { ScoreObservation, StreamScoreFilter } from '../core/scoreFilter';
import { ScaleFilterBase } from './scaleFilterBase';

/**
 * Wraps a stream's likelihood filter (inside the scale wrappers, so it sees every scale's score): hands it
 * max(0, score - the score `lag` observations earlier) per scale, or the score itself until a score that far back
 * exists (the first period, or a scale not yet heard then). Negative rises are 0: only rises are judged, and a
 * past anomaly must not make today's normal look low. The past scores are not checkpointed: after a restart the
 * raw scores are judged until a period has passed again.
 */
export class PeriodBaselineFilter extends ScaleFilterBase {
  /** Past raw scores per slot (0 = the model's own, 1 + SCALE_SLOT for the others), a ring of `lag`. */
  private past: Float64Array[] = [];
  private next = 0;
  private lag: number | undefined;

  /**
   * @param lagOf observations per period (periodLag), asked per window: undefined (no learned model yet, or no
   *   period) passes the scores as they are; a new lag (the model learned again) starts the past afresh.
   */
  constructor(
    inner: StreamScoreFilter,
    private readonly lagOf: () => number | undefined,
  ) {
    super(inner);
  }

  filter(o: ScoreObservation): ScoreObservation {
    const lag = this.lagOf();
    if (lag !== this.lag) {
      this.lag = lag;
      this.past = [];
      this.next = 0;
    }
    if (lag === undefined) return this.inner.filter(o);
    const score = this.rise(0, o.score);
    const otherScales = o.otherScales?.map((s, i) => this.rise(i + 1, s));
    this.next = (this.next + 1) % lag;
    return this.inner.filter({ ...o, score, ...(otherScales ? { otherScales } : {}) });
  }

  private rise(slot: number, score: number): number {
    const ring = (this.past[slot] ??= new Float64Array(this.lag ?? 1).fill(Number.NaN));
    // The ring's slot `next` holds the score `lag` observations ago; it is overwritten by today's.
    const before = ring[this.next];
    ring[this.next] = score;
    if (!Number.isFinite(score) || !Number.isFinite(before)) return score;
    return Math.max(0, score - before);
  }
}

/** Observations per period at `hop` samples each, or undefined when the period does not call for a baseline. */
export function periodLag(period: number | undefined, size: number, hop: number): number | undefined {
  if (period === undefined || period <= size) return undefined;
  return Math.max(1, Math.round(period / hop));
}
