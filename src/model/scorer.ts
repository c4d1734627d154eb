// Batched scoring: the reconstruction error of each (scaled) window and each channel's share of it. Runs in
// tf.tidy and returns plain typed arrays so no tensor outlives a call (a test holds numTensors constant over
// 1,000 calls). Also exposes the two other uses of a denoising autoencoder: the reconstruction (a denoised
// signal) and the latent code (a compact representation).
import * as tf from '@tensorflow/tfjs';
import type { WindowScore } from '../core/types';
import { encoderOf } from './autoencoder';
import type { WindowMatrix } from './train';

/** Per-element reconstruction error: squared, absolute, or binary cross-entropy against the input. */
export type ScoreMetric = 'mse' | 'mae' | 'bce';

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
  /** Largest batch handed to the backend at once (bounds peak memory). */
  readonly maxBatch?: number;
}

const EPS = 1e-7;

export class Scorer {
  private encoder: tf.LayersModel | undefined;
  private readonly maxBatch: number;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly opts: ScorerOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 1024;
  }

  get inputSize(): number {
    return this.model.inputs[0].shape[1] as number;
  }

  score(m: WindowMatrix): WindowScore[] {
    this.checkShape(m);
    const out: WindowScore[] = [];
    for (let start = 0; start < m.n; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, m.n - start);
      const chunk = m.data.subarray(start * m.inputSize, (start + n) * m.inputSize);
      out.push(...this.scoreChunk(chunk, n, m.inputSize));
    }
    return out;
  }

  /** The reconstruction of each window, scaled units, same layout as the input. */
  reconstruct(m: WindowMatrix): Float32Array {
    this.checkShape(m);
    return this.mapChunks(m, m.inputSize, (x) => this.model.predict(x) as tf.Tensor);
  }

  /** The bottleneck code of each window: n rows of `latentSize` values. */
  latent(m: WindowMatrix): { data: Float32Array; latentSize: number } {
    this.checkShape(m);
    this.encoder ??= encoderOf(this.model);
    const latentSize = this.encoder.outputs[0].shape[1] as number;
    const encoder = this.encoder;
    return { data: this.mapChunks(m, latentSize, (x) => encoder.predict(x) as tf.Tensor), latentSize };
  }

  private scoreChunk(chunk: Float32Array, n: number, d: number): WindowScore[] {
    const channels = this.opts.channels;
    const [perChannel, total] = tf.tidy(() => {
      const x = tf.tensor2d(chunk, [n, d]);
      const r = this.model.predict(x) as tf.Tensor2D;
      const err = elementError(x, r, this.opts.metric).reshape([n, d / channels, channels]);
      const byChannel = err.sum(1); // [n, channels]
      return [byChannel.dataSync() as Float32Array, err.mean([1, 2]).dataSync() as Float32Array];
    });
    const steps = d / channels;
    const maxChannel = this.opts.aggregate === 'max_channel';
    const scores: WindowScore[] = new Array<WindowScore>(n);
    for (let i = 0; i < n; i++) {
      const shares = perChannel.slice(i * channels, (i + 1) * channels);
      let sum = 0;
      let max = 0;
      for (const v of shares) {
        sum += v;
        if (v > max) max = v;
      }
      for (let c = 0; c < channels; c++) shares[c] = sum > 0 ? shares[c] / sum : 1 / channels;
      scores[i] = { score: maxChannel ? max / steps : total[i], channelShares: shares };
    }
    return scores;
  }

  private mapChunks(m: WindowMatrix, outWidth: number, fn: (x: tf.Tensor2D) => tf.Tensor): Float32Array {
    const out = new Float32Array(m.n * outWidth);
    for (let start = 0; start < m.n; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, m.n - start);
      const chunk = m.data.subarray(start * m.inputSize, (start + n) * m.inputSize);
      const values = tf.tidy(() => fn(tf.tensor2d(chunk, [n, m.inputSize])).dataSync() as Float32Array);
      out.set(values, start * outWidth);
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

function elementError(x: tf.Tensor, r: tf.Tensor, metric: ScoreMetric): tf.Tensor {
  switch (metric) {
    case 'mse':
      return x.sub(r).square();
    case 'mae':
      return x.sub(r).abs();
    case 'bce': {
      const p = r.clipByValue(EPS, 1 - EPS);
      return x.mul(p.log()).add(tf.scalar(1).sub(x).mul(tf.scalar(1).sub(p).log())).neg();
    }
  }
}
