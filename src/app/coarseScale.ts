// The coarse time scale of a stream (calibration.likelihood.coarse_pool): a second autoencoder of the same
// shape learns the stream mean-pooled by `pool` samples, so its window sees `pool` times the context of the
// main model's (a day of 5-minute samples where the main window sees 2.7 h). A daily pattern that turns up at
// the wrong hour, or a slow level change, is invisible in a short window and plain in a long one. Each scored
// window's coarse score joins the anomaly likelihood as a second scale (see core/anomalyLikelihood.ts).
import type { StreamScoreFilter, ScoreObservation } from '../core/scoreFilter';
import { PooledSteps, pooledWindows } from '../core/pooledSteps';
import type { Window } from '../core/types';
import type { Detector } from '../model/detector';
import type { DetectorSpec, TrainedDetector } from '../model/fitDetector';
import { trainEnsemble } from '../model/ensemble';

/** Fewer pooled windows than this teach a coarse model nothing reliable: the stream then has the main scale only. */
export const MIN_COARSE_WINDOWS = 64;

/**
 * Trains the coarse-scale detector from consecutive learning steps (time-major, the stream's channels per
 * step), an ensemble of `ensemble` networks as the main model is, or returns undefined when they hold fewer than MIN_COARSE_WINDOWS pooled windows.
 */
export async function trainCoarseDetector(
  spec: DetectorSpec,
  pool: number,
  times: ArrayLike<number>,
  steps: ArrayLike<number>,
  ensemble = 1,
): Promise<TrainedDetector | undefined> {
  const channels = spec.stream.channels.length;
  const windows = pooledWindows(spec.stream.id, times, steps, channels, pool, spec.window.size);
  if (windows.length < MIN_COARSE_WINDOWS) return undefined;
  return trainEnsemble(windows, { ...spec, name: `${spec.name}/coarse` }, ensemble);
}

/**
 * The raw steps of consecutive windows of a stream with the given hop (hop <= size): the first window whole,
 * then the last `hop` steps of each later one. What auto-learning collects is windows; the coarse model
 * learns from the steps under them.
 */
export function stepsOfWindows(windows: readonly Window[], hop: number): { times: Float64Array; steps: Float32Array } {
  if (windows.length === 0) return { times: new Float64Array(0), steps: new Float32Array(0) };
  const { size, channels } = windows[0];
  const fresh = Math.min(hop, size);
  const n = size + (windows.length - 1) * fresh;
  const times = new Float64Array(n);
  const steps = new Float32Array(n * channels);
  let t = 0;
  windows.forEach((w, i) => {
    const from = i === 0 ? 0 : size - fresh;
    // Step times are spread evenly over the window: windows carry only their start and end.
    const dt = size > 1 ? (w.end - w.start) / (size - 1) : 0;
    for (let k = from; k < size; k++, t++) {
      times[t] = w.start + k * dt;
      steps.set(w.values.subarray(k * channels, (k + 1) * channels), t * channels);
    }
  });
  return { times, steps };
}

/**
 * Wraps a stream's likelihood filter: keeps the stream's pooled view from the windows it sees (the new
 * `hop` steps of each), scores its pooled window with the coarse detector and hands that score to the inner
 * filter as a second scale. Until the coarse detector exists (`coarse` returns undefined) or enough steps are
 * in, windows pass with the main scale alone.
 */
export class CoarseScaleFilter implements StreamScoreFilter {
  private readonly pooled: PooledSteps;
  private started = false;
  private sinceScored = 0;
  private last = Number.NaN;

  constructor(
    private readonly inner: StreamScoreFilter,
    private readonly coarse: () => Detector | undefined,
    private readonly options: { readonly stream: string; readonly pool: number; readonly size: number; readonly hop: number; readonly channels: number },
  ) {
    this.pooled = new PooledSteps(options.pool, options.size, options.channels);
  }

  filter(o: ScoreObservation): ScoreObservation {
    const w = o.window;
    if (!w) return this.inner.filter(o);
    const { size, hop, channels } = this.options;
    // The first window brings all its steps; a later one only the `hop` steps after its predecessor (with a hop
    // longer than the window, the skipped steps are unknown and the view treats the windows as adjacent).
    const fresh = this.started ? Math.min(hop, size) : size;
    this.started = true;
    this.pooled.push(w.values, (size - fresh) * channels, size * channels);
    this.sinceScored += fresh;
    const detector = this.coarse();
    if (!detector || this.pooled.steps < this.options.pool * size) return this.inner.filter(o);
    // The pooled view moves by one pooled step every `pool` samples: the coarse window is scored then, and its
    // score stands for the windows in between (scoring it per sample costs `pool` times as much; on NAB it
    // also scored lower, 65.2 against 67.7 standard over seeds 1-5, as one change counted `pool` times).
    if (this.sinceScored >= this.options.pool || Number.isNaN(this.last)) {
      const values = this.pooled.window() as Float32Array;
      const window: Window = { stream: this.options.stream, start: o.time, end: o.time, size, channels, values, completeness: 1 };
      this.last = detector.score([window])[0].score;
      this.sinceScored = 0;
    }
    return this.inner.filter({ ...o, otherScales: [this.last] });
  }
}
