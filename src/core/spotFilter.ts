// calibration.method spot as a stream's score filter: the threshold starts where the model's calibration put it
// (SPOT's initialisation is POT on the calibration scores, whose tail the manifest keeps) and then moves with
// the stream's own normal scores (core/dspot.ts), so a slow change in the score distribution does not page.
// The score itself is not changed, only the threshold, p-value and decision beside it, so what InfluxDB and
// /metrics show is the raw score against a moving threshold.
//
// The tail is that of the model scoring the stream now, looked up per window: a model calibrated again (a
// retrain, a promotion) makes the filter start afresh from the new tail, since the scores it learned from were
// another model's. A window under maintenance (learn false) is judged and not learned.
import type { Calibration } from './calibration';
import { Dspot } from './dspot';
import type { DspotOptions } from './dspot';
import type { ScoreFilterState, ScoreObservation, StreamScoreFilter } from './scoreFilter';
import type { TailModel } from './tail';

export interface SpotFilterOptions extends DspotOptions {
  /** The calibration of the model that scores the stream now (null or undefined: none yet, windows pass as scored). */
  readonly calibrationOf: () => Calibration | null | undefined;
}

export class SpotFilter implements StreamScoreFilter {
  private dspot: Dspot | undefined;
  /** Fingerprint of the tail `dspot` started from. */
  private origin: Float64Array | undefined;
  private changes = 0;

  constructor(private readonly options: SpotFilterOptions) {
    // Fails here, at configuration, rather than at the first window.
    if (!(options.q > 0 && options.q < 1)) throw new RangeError(`SpotFilter: q must be in (0, 1) (got ${options.q})`);
    if (!(Number.isInteger(options.depth) && options.depth >= 0)) throw new RangeError(`SpotFilter: depth must be an integer >= 0 (got ${options.depth})`);
  }

  get revision(): number {
    return this.changes;
  }

  /** The threshold now (NaN before the first window of a calibrated model). */
  get threshold(): number {
    return this.dspot ? this.dspot.threshold : Number.NaN;
  }

  filter(o: ScoreObservation): ScoreObservation {
    const calibration = this.options.calibrationOf();
    if (!calibration || Number.isNaN(o.score)) return { time: o.time, score: o.score, threshold: o.threshold, pValue: o.pValue, anomalous: o.anomalous };
    const d = this.started(calibration.tail);
    const threshold = d.threshold;
    const pValue = d.pValue(o.score);
    let decision;
    if (o.learn === false) decision = d.judge(o.score);
    else {
      decision = d.push(o.score);
      this.changes++;
    }
    return { time: o.time, score: o.score, threshold, pValue, anomalous: decision === 'anomaly' };
  }

  snapshot(): ScoreFilterState | undefined {
    if (!this.dspot || !this.origin) return undefined;
    return { sinceDetection: null, scales: [], spot: { origin: this.origin.slice(), dspot: this.dspot.state() } };
  }

  /**
   * Continues from a snapshot taken under the same model calibration and settings; anything else throws a
   * RangeError saying why (the daemon logs it) and the filter starts from the model's calibration.
   */
  restore(state: ScoreFilterState): void {
    const saved = state.spot;
    if (!saved) throw new RangeError("the saved state is the anomaly likelihood's, this stream's filter is SPOT");
    const calibration = this.options.calibrationOf();
    if (!calibration) throw new RangeError("the stream's model is not calibrated (or not loaded): SPOT starts from its calibration once it is");
    const origin = fingerprint(calibration.tail);
    if (!sameFingerprint(origin, saved.origin)) throw new RangeError('the model was calibrated again since the checkpoint: SPOT starts from its new calibration');
    const d = Dspot.fromTail(calibration.tail, this.options);
    d.restoreState(saved.dspot);
    this.dspot = d;
    this.origin = origin;
    this.changes++;
  }

  private started(tail: TailModel): Dspot {
    const now = fingerprint(tail);
    if (this.dspot && this.origin && sameFingerprint(now, this.origin)) return this.dspot;
    this.dspot = Dspot.fromTail(tail, this.options);
    this.origin = now;
    this.changes++;
    return this.dspot;
  }
}

/** What tells one calibration's tail from another's: u, sigma, xi, n, nExceed. */
function fingerprint(tail: TailModel): Float64Array {
  const g = tail.gpd;
  return Float64Array.of(g.u, g.sigma, g.xi, g.n, g.nExceed);
}

function sameFingerprint(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}
