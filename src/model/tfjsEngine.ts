// The tfjs implementation of the engine interface: runs on whichever tfjs backend is active. Scoring runs in
// tf.tidy and returns plain typed arrays, so no tensor outlives a call. Every engine here works on a tfjs model,
// so tfjs is loaded already when one is made; tfjs() only fetches it (importing this file loads nothing).
import type * as tf from '@tensorflow/tfjs';
import { encoderOf } from './autoencoder';
import type { LossName, ScoreMetric, ScoringEngine, ScoringSetup, TrainingEngine, TrainingSetup, WindowErrors } from './engineTypes';
import { tfjs } from './tfjs';

const EPS = 1e-7;
const LOSS_FN: Record<LossName, string> = { bce: 'binaryCrossentropy', mse: 'meanSquaredError' };

export class TfjsScoring implements ScoringEngine {
  readonly kind = 'tfjs';
  private encoder: tf.LayersModel | undefined;
  private readonly d: number;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly setup: ScoringSetup,
  ) {
    this.d = model.inputs[0].shape[1] as number;
  }

  get latentSize(): number {
    return this.encoderModel().outputs[0].shape[1] as number;
  }

  errors(x: Float32Array, n: number, withReconstruction = false, steps = 0): WindowErrors {
    const { channels, metric } = this.setup;
    const d = this.d;
    const windowSteps = d / channels;
    const counted = steps > 0 && steps < windowSteps ? steps : windowSteps;
    const tf = tfjs();
    return tf.tidy(() => {
      const input = tf.tensor2d(x, [n, d]);
      const r = this.model.predict(input) as tf.Tensor2D;
      const all = elementError(input, r, metric).reshape([n, windowSteps, channels]);
      const err = counted < windowSteps ? all.slice([0, windowSteps - counted, 0], [n, counted, channels]) : all;
      const perChannel = err.sum(1).dataSync() as Float32Array;
      const total = err.mean([1, 2]).dataSync() as Float32Array;
      return withReconstruction ? { perChannel, total, reconstruction: r.dataSync() as Float32Array } : { perChannel, total };
    });
  }

  reconstruct(x: Float32Array, n: number): Float32Array {
    const tf = tfjs();
    return tf.tidy(() => (this.model.predict(tf.tensor2d(x, [n, this.d])) as tf.Tensor).dataSync() as Float32Array);
  }

  latent(x: Float32Array, n: number): Float32Array {
    const encoder = this.encoderModel();
    const tf = tfjs();
    return tf.tidy(() => (encoder.predict(tf.tensor2d(x, [n, this.d])) as tf.Tensor).dataSync() as Float32Array);
  }

  private encoderModel(): tf.LayersModel {
    this.encoder ??= encoderOf(this.model);
    return this.encoder;
  }
}

function elementError(x: tf.Tensor, r: tf.Tensor, metric: ScoreMetric): tf.Tensor {
  switch (metric) {
    case 'mse':
      return x.sub(r).square();
    case 'mae':
      return x.sub(r).abs();
    case 'bce': {
      const tf = tfjs();
      const p = r.clipByValue(EPS, 1 - EPS);
      return x.mul(p.log()).add(tf.scalar(1).sub(x).mul(tf.scalar(1).sub(p).log())).neg();
    }
  }
}

export class TfjsTraining implements TrainingEngine {
  readonly kind = 'tfjs';
  private readonly optimizer: tf.Optimizer;

  constructor(
    private readonly model: tf.LayersModel,
    setup: TrainingSetup,
  ) {
    this.optimizer = tfjs().train.adam(setup.learningRate);
    model.compile({ optimizer: this.optimizer, loss: LOSS_FN[setup.loss] });
  }

  async fitEpoch(noisy: Float32Array, clean: Float32Array, n: number, batchSize: number): Promise<number> {
    const d = this.model.inputs[0].shape[1] as number;
    const tf = tfjs();
    const x = tf.tensor2d(noisy, [n, d]);
    const y = tf.tensor2d(clean, [n, d]);
    try {
      // Rows are already in a seeded random order; tfjs's own shuffle would use the unseeded Math.random.
      const h = await this.model.fit(x, y, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
      return Number(h.history.loss[0]);
    } finally {
      x.dispose();
      y.dispose();
    }
  }

  validationLoss(x: Float32Array, n: number): number {
    const d = this.model.inputs[0].shape[1] as number;
    const tf = tfjs();
    return tf.tidy(() => {
      const t = tf.tensor2d(x, [n, d]);
      const result = this.model.evaluate(t, t, { batchSize: 1024 });
      return (Array.isArray(result) ? result[0] : result).dataSync()[0];
    });
  }

  snapshot(): Float32Array[] {
    return this.model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  }

  restore(weights: readonly Float32Array[]): void {
    restoreInto(this.model, weights);
  }

  dispose(): void {
    // Adam's moment tensors; a later training run (trimmed training's refit) compiles a new optimizer, and
    // without this each run would leave two tensors per weight behind.
    this.optimizer.dispose();
  }
}

/** Sets a model's weights from plain arrays in getWeights() order. */
export function restoreInto(model: tf.LayersModel, weights: readonly Float32Array[]): void {
  const shapes = model.getWeights().map((w) => w.shape);
  if (shapes.length !== weights.length) throw new RangeError(`Model has ${shapes.length} weight arrays, got ${weights.length}`);
  const tf = tfjs();
  const tensors = weights.map((w, i) => tf.tensor(w, shapes[i]));
  try {
    model.setWeights(tensors);
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}
