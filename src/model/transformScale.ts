// The transformed scale of a stream (calibration.likelihood.transform_scale): a second model of the main
// model's shape learns the same windows through another input transform (the differenced window), and its
// score of each window joins the anomaly likelihood as a scale of its own (core/anomalyLikelihood.ts). The
// raw window's error is dominated by level; the differenced window's by slope and noise, so a change in how a
// stream moves (a busier or calmer stretch at a normal level) surprises this scale when the main one shrugs.
// Trained by model/transformModel.ts; this is the per-stream part that scores it.
import { SCALE_SLOT, withScale, type ScoreObservation, type StreamScoreFilter } from '../core/scoreFilter';
import type { Window } from '../core/types';
import type { Detector } from './detector';
import { ScaleFilterBase } from './scaleFilterBase';

/**
 * Wraps a stream's likelihood filter: scores each window it sees with the transformed-scale detector and hands
 * that score to the inner filter at its own slot. Until the detector exists (`detector` returns undefined), or
 * for a window of another shape, windows pass with the other scales alone.
 */
export class TransformScaleFilter extends ScaleFilterBase {
  constructor(
    inner: StreamScoreFilter,
    private readonly detector: () => Detector | undefined,
    private readonly options: { readonly stream: string; readonly size: number },
  ) {
    super(inner);
  }

  filter(o: ScoreObservation): ScoreObservation {
    const w = o.window;
    const found = this.detector();
    // A model learned for another window shape (the stream was rebound with a new size) cannot score this one.
    if (!w || !found || w.values.length !== found.manifest.architecture.inputSize) return this.inner.filter(o);
    const values = w.values instanceof Float32Array ? w.values : Float32Array.from(w.values);
    const window: Window = { stream: this.options.stream, start: o.time, end: o.time, size: this.options.size, channels: w.channels, values, completeness: 1 };
    const raw = found.score([window])[0].score;
    return this.inner.filter({ ...o, otherScales: withScale(o.otherScales, SCALE_SLOT.transform, raw) });
  }
}
