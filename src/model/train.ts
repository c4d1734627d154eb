// Denoising training: each epoch the training windows are corrupted afresh (new noise, seeded) while the
// target stays the clean window. Validation uses clean inputs, because clean reconstruction is what scoring
// measures. Early stopping keeps the weights of the best validation epoch and restores them at the end.
import * as tf from '@tensorflow/tfjs';
import { createRng, shuffledIndices } from '../core/random';
import { corrupt, type NoiseOptions } from './noise';

export type LossName = 'bce' | 'mse';

export interface TrainOptions {
  readonly loss: LossName;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Fraction of windows held out for validation (early stopping); 0 uses the training loss instead. */
  readonly validationFraction: number;
  /** Epochs without a validation improvement before stopping; 0 disables early stopping (best weights are still kept). */
  readonly patience: number;
  readonly seed: number;
  readonly noise: NoiseOptions;
}

export interface EpochReport {
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  readonly valLoss: number | undefined;
  readonly elapsedMs: number;
}

export interface TrainingHistory {
  readonly loss: number[];
  readonly valLoss: number[];
  /** 1-based epoch whose weights were kept. */
  readonly bestEpoch: number;
  readonly epochsRun: number;
  readonly stoppedEarly: boolean;
  readonly durationMs: number;
  readonly trainWindows: number;
  readonly validationWindows: number;
}

/** Windows as one flat row-major array: `n` rows of `inputSize` scaled values. */
export interface WindowMatrix {
  readonly data: Float32Array;
  readonly n: number;
  readonly inputSize: number;
}

const LOSS_FN: Record<LossName, string> = { bce: 'binaryCrossentropy', mse: 'meanSquaredError' };

export async function trainAutoencoder(
  model: tf.LayersModel,
  windows: WindowMatrix,
  opts: TrainOptions,
  onEpoch?: (r: EpochReport) => void,
): Promise<TrainingHistory> {
  const started = Date.now();
  const rng = createRng(opts.seed);
  const { train, validation } = splitRows(windows, opts.validationFraction, rng);
  model.compile({ optimizer: tf.train.adam(opts.learningRate), loss: LOSS_FN[opts.loss] });

  const history = { loss: [] as number[], valLoss: [] as number[] };
  const clean = new Float32Array(train.data.length);
  const noisy = new Float32Array(train.data.length);
  const valX = validation.n > 0 ? tf.tensor2d(validation.data, [validation.n, validation.inputSize]) : undefined;
  let best = { value: Infinity, epoch: 0, weights: [] as tf.Tensor[] };
  let stoppedEarly = false;
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      permuteRows(train, shuffledIndices(train.n, rng), clean);
      corrupt(clean, opts.noise, rng, noisy);
      const loss = await fitOneEpoch(model, noisy, clean, train.n, train.inputSize, opts.batchSize);
      const valLoss = valX ? evaluate(model, valX) : undefined;
      history.loss.push(loss);
      if (valLoss !== undefined) history.valLoss.push(valLoss);
      onEpoch?.({ epoch, epochs: opts.epochs, loss, valLoss, elapsedMs: Date.now() - started });

      const monitored = valLoss ?? loss;
      if (monitored < best.value) {
        best.weights.forEach((w) => w.dispose());
        best = { value: monitored, epoch, weights: model.getWeights().map((w) => w.clone()) };
      } else if (opts.patience > 0 && epoch - best.epoch >= opts.patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (best.weights.length > 0) model.setWeights(best.weights);
  } finally {
    best.weights.forEach((w) => w.dispose());
    valX?.dispose();
  }
  return {
    ...history,
    bestEpoch: best.epoch,
    epochsRun: history.loss.length,
    stoppedEarly,
    durationMs: Date.now() - started,
    trainWindows: train.n,
    validationWindows: validation.n,
  };
}

async function fitOneEpoch(
  model: tf.LayersModel,
  noisy: Float32Array,
  clean: Float32Array,
  n: number,
  d: number,
  batchSize: number,
): Promise<number> {
  const x = tf.tensor2d(noisy, [n, d]);
  const y = tf.tensor2d(clean, [n, d]);
  try {
    // Rows are already in a seeded random order; tfjs's own shuffle would use the unseeded Math.random.
    const h = await model.fit(x, y, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
    return Number(h.history.loss[0]);
  } finally {
    x.dispose();
    y.dispose();
  }
}

function evaluate(model: tf.LayersModel, x: tf.Tensor2D): number {
  return tf.tidy(() => {
    const result = model.evaluate(x, x, { batchSize: 1024 });
    return (Array.isArray(result) ? result[0] : result).dataSync()[0];
  });
}

function splitRows(
  m: WindowMatrix,
  fraction: number,
  rng: () => number,
): { train: WindowMatrix; validation: WindowMatrix } {
  // With very few windows a validation set is noise; keep at least 8 for training and 2 for validation.
  const nVal = fraction > 0 && m.n >= 10 ? Math.max(2, Math.round(m.n * fraction)) : 0;
  const order = shuffledIndices(m.n, rng);
  const take = (rows: number[]): WindowMatrix => {
    const data = new Float32Array(rows.length * m.inputSize);
    rows.forEach((r, i) => data.set(m.data.subarray(r * m.inputSize, (r + 1) * m.inputSize), i * m.inputSize));
    return { data, n: rows.length, inputSize: m.inputSize };
  };
  return { validation: take(order.slice(0, nVal)), train: take(order.slice(nVal)) };
}

function permuteRows(m: WindowMatrix, order: readonly number[], out: Float32Array): void {
  const d = m.inputSize;
  order.forEach((r, i) => out.set(m.data.subarray(r * d, (r + 1) * d), i * d));
}
