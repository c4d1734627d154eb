// A loaded model ready to score raw windows: scaling with the manifest's parameters, batched reconstruction
// error, and the calibrated threshold with its tail probability. Every command (run, replay, evaluate) scores
// through this class, so offline numbers are the daemon's numbers.
import { pValue } from '../core/calibration';
import { rhythmFactor } from '../core/rhythm';
import { channelTolerances, expectedWindow } from '../core/expectation';
import { scaleInto, unscaleInto } from '../core/scaling';
import type { ScoredWindow, ScoringModel } from '../core/scoringModel';
import type { Window } from '../core/types';
import { isIdentity, transformWindow } from '../core/windowTransform';
import { loadArtifact, type LoadedArtifact } from './artifact';
import { WindowReadings } from './channelReadings';
import { disposeModel, type AutoencoderModel } from './denseNetwork';
import { assertCompatible, type Manifest, type ModelUse } from './manifest';
import { Scorer } from './scorer';
import type { WindowMatrix } from './train';

export class Detector implements ScoringModel {
  readonly scorer: Scorer;
  /** Values outside the scaler's range since load (clipped, or kept: scaler.outOfRange), and values scaled: their ratio is the clipped fraction. */
  clippedValues = 0;
  scaledValues = 0;
  private tolerances: Float32Array | undefined;

  constructor(
    readonly model: AutoencoderModel,
    readonly manifest: Manifest,
    readonly dir: string,
  ) {
    this.scorer = new Scorer(model, {
      channels: manifest.channels.length,
      metric: manifest.scoring.metric,
      aggregate: manifest.scoring.aggregate ?? 'mean',
      ...(manifest.scoring.steps !== undefined ? { steps: manifest.scoring.steps } : {}),
    });
  }

  static async load(dir: string, use?: ModelUse): Promise<Detector> {
    const artifact: LoadedArtifact = await loadArtifact(dir);
    if (use) assertCompatible(artifact.manifest, use, dir);
    return new Detector(artifact.model, artifact.manifest, dir);
  }

  get threshold(): number {
    return this.manifest.calibration?.threshold ?? NaN;
  }

  /** Scale raw windows into one matrix, counting clipped values (unless `count` is false: an alert's second look). */
  toMatrix(windows: readonly Window[], count = true): WindowMatrix {
    const d = this.manifest.architecture.inputSize;
    const channels = this.manifest.channels.length;
    const data = new Float32Array(windows.length * d);
    windows.forEach((w, i) => {
      if (w.values.length !== d) {
        throw new RangeError(`Window of stream '${w.stream}' has ${w.values.length} values, model '${this.dir}' expects ${d}`);
      }
      const row = data.subarray(i * d, (i + 1) * d);
      const transform = this.manifest.transform ?? 'none';
      const outOfRange = this.manifest.scaler.outOfRange ?? 'clip';
      let clipped: number;
      if (isIdentity(transform)) {
        clipped = scaleInto(this.manifest.scaler, w.values, channels, row, outOfRange);
      } else {
        transformWindow(transform, w.values, channels, row, this.manifest.levelBounds);
        clipped = scaleInto(this.manifest.scaler, row, channels, row, outOfRange);
      }
      if (count) this.clippedValues += clipped;
    });
    if (count) this.scaledValues += data.length;
    return { data, n: windows.length, inputSize: d };
  }

  score(windows: readonly Window[], withExpected = false): ScoredWindow[] {
    if (windows.length === 0) return [];
    const scores = this.scorer.score(this.toMatrix(windows), withExpected);
    return windows.map((w, i) => {
      const r = scores[i].reconstruction;
      return this.judged(w, scores[i].score, scores[i].channelShares, r && this.expectedOf(w, r));
    });
  }

  /**
   * A window's score judged against this detector's calibration (threshold, tail probability, decision). The
   * rhythm (manifest.rhythm) joins the score first, unless `joined` says it already has (an ensemble's mean of
   * its members' scores).
   */
  protected judged(w: Window, raw: number, channelShares: Float32Array, expected?: Float32Array, joined = false): ScoredWindow {
    const cal = this.manifest.calibration;
    const rhythm = this.manifest.rhythm;
    const score = rhythm && !joined && w.prematurity !== undefined ? raw * rhythmFactor(w.prematurity, rhythm) : raw;
    const threshold = cal ? cal.threshold : NaN;
    const pv = cal ? pValue(cal.tail, score) : NaN;
    const anomalous = cal ? score > cal.threshold : false;
    const { stream, start, end, completeness } = w;
    // Two literals rather than a spread of the first: the spread copied every field again for every window.
    return expected
      ? { stream, start, end, score, threshold, pValue: pv, anomalous, completeness, channelShares, expected, tolerance: this.tolerance() }
      : { stream, start, end, score, threshold, pValue: pv, anomalous, completeness, channelShares };
  }

  /**
   * Every value of `w` as the model expected it, in the channels' own units: `reconstruction` (the model's output
   * for `w`, scaled units) un-scaled and the window transform undone with the observed window (core/expectation.ts),
   * written over `reconstruction` itself: it is a view of the engine's output, a fresh array the scorer owns
   * (scorer.ts), so no window allocates (the allocation per window was most of the cost of the expected values).
   */
  private expectedOf(w: Window, reconstruction: Float32Array): Float32Array {
    const channels = this.manifest.channels.length;
    unscaleInto(this.manifest.scaler, reconstruction, channels, reconstruction);
    expectedWindow(this.manifest.transform ?? 'none', w.values, reconstruction, channels, reconstruction, this.manifest.levelBounds);
    return reconstruction;
  }

  /** Each channel's tolerance around its expected value (core/expectation.ts), fixed with the model's calibration. */
  tolerance(): Float32Array {
    const m = this.manifest;
    this.tolerances ??= channelTolerances({
      metric: m.scoring.metric,
      aggregate: m.scoring.aggregate ?? 'mean',
      threshold: m.calibration?.threshold ?? NaN,
      ranges: m.scaler.max.map((max, c) => max - m.scaler.min[c]),
    });
    return this.tolerances;
  }

  /** Reconstructed (denoised) windows in the original units (after the manifest's transform), time-major interleaved like the input. */
  denoise(windows: readonly Window[]): Float32Array {
    const scaled = this.scorer.reconstruct(this.toMatrix(windows));
    const out = new Float32Array(scaled.length);
    unscaleInto(this.manifest.scaler, scaled, this.manifest.channels.length, out);
    return out;
  }

  /**
   * One window's reconstruction mapped back through the scaler (the transformed window's units), for the readings
   * of an alert (channelReadings.ts): a forward pass of its own, so only for windows that make a notice. Not
   * counted as scaled input: the window was counted when it was scored.
   */
  reconstructionOf(window: Window): Float32Array {
    const out = this.scorer.reconstruct(this.toMatrix([window], false));
    unscaleInto(this.manifest.scaler, out, this.manifest.channels.length, out);
    return out;
  }

  readings(window: Window): WindowReadings {
    return new WindowReadings(this, window);
  }

  latent(windows: readonly Window[]): { data: Float32Array; latentSize: number } {
    return this.scorer.latent(this.toMatrix(windows));
  }

  dispose(): void {
    disposeModel(this.model);
  }
}
