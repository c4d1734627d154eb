// The coarse time scale of a stream (calibration.likelihood.coarse_pool): a second autoencoder of the same
// shape learns the stream mean-pooled by `pool` samples, so its window sees `pool` times the context of the
// main model's (a day of 5-minute samples where the main window sees 2.7 h). A daily pattern that turns up at
// the wrong hour, or a slow level change, is invisible in a short window and plain in a long one. Each scored
// window's coarse score joins the anomaly likelihood as a second scale (see core/anomalyLikelihood.ts). The
// coarse model is trained by model/coarseModel.ts; this is the per-stream part that scores it.
import { SCALE_SLOT, withScale, type ScoreObservation, type StreamScoreFilter } from '../core/scoreFilter';
import { PooledSteps } from '../core/pooledSteps';
import type { Window } from '../core/types';
import type { Detector } from './detector';
import { ScaleFilterBase } from './scaleFilterBase';

/**
 * Wraps a stream's likelihood filter: keeps the stream's pooled view from the windows it sees (the new
 * `hop` steps of each), scores its pooled window with the coarse detector and hands that score to the inner
 * filter as a second scale. Until the coarse detector exists (`coarse` returns undefined) or enough steps are
 * in, windows pass with the main scale alone. The pooled view is not checkpointed: after a restart the coarse
 * scale is heard again once its view has refilled (`pool * size` steps), its history continuing where it stopped.
 */
export class CoarseScaleFilter extends ScaleFilterBase {
  private pooled: PooledSteps;
  private started = false;
  private sinceScored = 0;
  private last = Number.NaN;

  constructor(
    inner: StreamScoreFilter,
    private readonly coarse: () => Detector | undefined,
    private readonly options: { readonly stream: string; readonly pool: number; readonly size: number; readonly hop: number; readonly channels: number },
  ) {
    super(inner);
    this.pooled = new PooledSteps(options.pool, options.size, options.channels);
  }

  filter(o: ScoreObservation): ScoreObservation {
    const w = o.window;
    const { size, hop, channels } = this.options;
    // A window of another shape (the stream was rebound with a new window size) has no place in this view.
    if (!w || w.values.length !== size * channels) return this.inner.filter(o);
    // The first window brings all its steps; a later one only the `hop` steps after its predecessor (with a hop
    // longer than the window, the skipped steps are unknown and the view treats the windows as adjacent).
    const fresh = this.started ? Math.min(hop, size) : size;
    this.started = true;
    this.pooled.push(w.values, (size - fresh) * channels, size * channels);
    this.sinceScored += fresh;
    const found = this.coarse();
    // A coarse model learned for another window shape cannot score this view.
    const detector = found && found.manifest.architecture.inputSize === size * channels ? found : undefined;
    if (!detector) return this.inner.filter(o);
    // The model pools as its manifest says (chosen from the stream's period: calibration.likelihood.coarse_period),
    // else as configured; a view pooled otherwise is re-cut from the raw steps it holds.
    const pool = detector.manifest.pool ?? this.options.pool;
    if (pool !== this.pooled.pool) this.pooled = this.pooled.repooled(pool);
    if (this.pooled.steps < pool * size) return this.inner.filter(o);
    // The pooled view moves by one pooled step every `pool` samples: the coarse window is scored then, and its
    // score stands for the windows in between (scoring it per sample costs `pool` times as much and was no
    // better on NAB: 67.6 against 67.7 standard over seeds 1-5).
    if (this.sinceScored >= pool || Number.isNaN(this.last)) {
      const values = this.pooled.window() as Float32Array;
      const window: Window = { stream: this.options.stream, start: o.time, end: o.time, size, channels, values, completeness: 1 };
      this.last = detector.score([window])[0].score;
      this.sinceScored = 0;
    }
    return this.inner.filter({ ...o, otherScales: withScale(o.otherScales, SCALE_SLOT.coarse, this.last) });
  }
}
