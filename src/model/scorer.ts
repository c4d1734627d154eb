// Batched scoring: the reconstruction error of each (scaled) window and each channel's share of it, computed
// by the scoring engine (native addon or tfjs, see engine.ts) and returned as plain typed arrays. Also exposes
// the two other uses of a denoising autoencoder: the reconstruction (a denoised signal) and the latent code (a
// compact representation).
import type { WindowScore } from '../core/types';
import { modelInputSize, type AutoencoderModel } from './denseNetwork';
import { scoringEngine } from './engine';
import type { ScoreMetric, ScoringEngine } from './engineTypes';
import type { WindowMatrix } from './train';

export type { ScoreMetric } from './engineTypes';

/**
 * How element errors become the window score: `mean` over all values, or `max_channel`, the largest of the
 * per-channel means, so a fault confined to one sensor of many is not diluted by the healthy channels.
 */
export type ScoreAggregate = 'mean' | 'max_channel';

export interface ScorerOptions {
  readonly channels: number;
  readonly metric: ScoreMetric;
  /** Default 'mean'. */
  readonly aggregate?: ScoreAggregate;
  /**
   * Only the newest this many steps of each window count toward its score and channel shares (the network still
   * reads the whole window). Absent, 0 or the window's length: every step.
   */
  readonly steps?: number;
  /** Largest batch handed to the backend at once (bounds peak memory). */
  readonly maxBatch?: number;
}

/** Guards elementError's log against r = 0 or 1, as the engines do for bce. */
const BCE_EPS = 1e-7;

export class Scorer {
  private readonly maxBatch: number;
  readonly engine: ScoringEngine;
  /** Values per window the network takes. */
  readonly inputSize: number;

  constructor(
    model: AutoencoderModel,
    private readonly opts: ScorerOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 1024;
    this.engine = scoringEngine(model, { channels: opts.channels, metric: opts.metric });
    this.inputSize = modelInputSize(model);
  }

  /** `withReconstruction`: each score also carries the output it was taken against (from the same forward pass). */
  score(m: WindowMatrix, withReconstruction = false): WindowScore[] {
    this.checkShape(m);
    const out: WindowScore[] = [];
    for (let start = 0; start < m.n; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, m.n - start);
      const chunk = m.data.subarray(start * m.inputSize, (start + n) * m.inputSize);
      out.push(...this.scoreChunk(chunk, n, m.inputSize, withReconstruction));
    }
    return out;
  }

  /** The reconstruction of each window, scaled units, same layout as the input. */
  reconstruct(m: WindowMatrix): Float32Array {
    this.checkShape(m);
    return this.mapChunks(m, m.inputSize, (x, n) => this.engine.reconstruct(x, n));
  }

  /** The bottleneck code of each window: n rows of `latentSize` values. */
  latent(m: WindowMatrix): { data: Float32Array; latentSize: number } {
    this.checkShape(m);
    const latentSize = this.engine.latentSize;
    return { data: this.mapChunks(m, latentSize, (x, n) => this.engine.latent(x, n)), latentSize };
  }

  private scoreChunk(chunk: Float32Array, n: number, d: number, withReconstruction: boolean): WindowScore[] {
    const channels = this.opts.channels;
    const windowSteps = d / channels;
    const steps = this.scoredSteps(windowSteps);
    // The engine counts the newest `steps` steps only, in the pass that reconstructs the windows.
    const { perChannel, total, reconstruction } = this.engine.errors(chunk, n, withReconstruction, steps < windowSteps ? steps : 0);
    const maxChannel = this.opts.aggregate === 'max_channel';
    const scores: WindowScore[] = new Array<WindowScore>(n);
    for (let i = 0; i < n; i++) {
      // A view, normalised in place: the engine hands over fresh arrays on every call.
      const shares = perChannel.subarray(i * channels, (i + 1) * channels);
      let sum = 0;
      let max = 0;
      for (const v of shares) {
        sum += v;
        if (v > max) max = v;
      }
      for (let c = 0; c < channels; c++) shares[c] = sum > 0 ? shares[c] / sum : 1 / channels;
      const score = maxChannel ? max / steps : total[i];
      scores[i] = withReconstruction && reconstruction ? { score, channelShares: shares, reconstruction: reconstruction.subarray(i * d, (i + 1) * d) } : { score, channelShares: shares };
    }
    return scores;
  }

  /** Steps of a `windowSteps`-step window that count toward the score (options.steps, bounded by the window). */
  private scoredSteps(windowSteps: number): number {
    const steps = this.opts.steps ?? 0;
    return steps > 0 && steps < windowSteps ? steps : windowSteps;
  }

  private mapChunks(m: WindowMatrix, outWidth: number, fn: (x: Float32Array, n: number) => Float32Array): Float32Array {
    const out = new Float32Array(m.n * outWidth);
    for (let start = 0; start < m.n; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, m.n - start);
      const chunk = m.data.subarray(start * m.inputSize, (start + n) * m.inputSize);
      out.set(fn(chunk, n), start * outWidth);
    }
    return out;
  }

  private checkShape(m: WindowMatrix): void {
    if (m.inputSize !== this.inputSize || m.data.length !== m.n * m.inputSize) {
      throw new RangeError(
        `Scorer expects windows of ${this.inputSize} values; got ${m.n} window(s) of ${m.inputSize} (${m.data.length} values)`,
      );
    }
    if (m.inputSize % this.opts.channels !== 0) {
      throw new RangeError(`Window of ${m.inputSize} values is not a whole number of ${this.opts.channels} channels`);
    }
  }
}

/** One value's reconstruction error under `metric`, as the scoring engines compute it (the tests' reference). */
export function elementError(metric: ScoreMetric, x: number, r: number): number {
  switch (metric) {
    case 'mse':
      return (x - r) ** 2;
    case 'mae':
      return Math.abs(x - r);
    case 'bce': {
      const p = Math.min(1 - BCE_EPS, Math.max(BCE_EPS, r));
      return -(x * Math.log(p) + (1 - x) * Math.log(1 - p));
    }
  }
}
