// Denoising training: each epoch the training windows are corrupted afresh (new noise, seeded) while the
// target stays the clean window. Validation uses clean inputs, because clean reconstruction is what scoring
// measures. Early stopping keeps the weights of the best validation epoch and restores them at the end. The
// minibatch passes run on the training engine (native addon or tfjs, see engine.ts); shuffling and noise stay
// here, in JS with the seeded RNG, so both engines see the same rows.
import type * as tf from '@tensorflow/tfjs';
import { createRng, shuffledIndices } from '../core/random';
import { trainingEngine, type LossName } from './engine';
import { corrupt, type NoiseOptions } from './noise';

export type { LossName } from './engine';

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

export async function trainAutoencoder(
  model: tf.LayersModel,
  windows: WindowMatrix,
  opts: TrainOptions,
  onEpoch?: (r: EpochReport) => void,
): Promise<TrainingHistory> {
  const started = Date.now();
  const rng = createRng(opts.seed);
  const { train, validation } = splitRows(windows, opts.validationFraction, rng);
  const engine = trainingEngine(model, { loss: opts.loss, learningRate: opts.learningRate });

  const history = { loss: [] as number[], valLoss: [] as number[] };
  const clean = new Float32Array(train.data.length);
  const noisy = new Float32Array(train.data.length);
  let best = { value: Infinity, epoch: 0, weights: [] as Float32Array[] };
  let stoppedEarly = false;
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      permuteRows(train, shuffledIndices(train.n, rng), clean);
      corrupt(clean, opts.noise, rng, noisy);
      const loss = await engine.fitEpoch(noisy, clean, train.n, opts.batchSize);
      const valLoss = validation.n > 0 ? engine.validationLoss(validation.data, validation.n) : undefined;
      history.loss.push(loss);
      if (valLoss !== undefined) history.valLoss.push(valLoss);
      onEpoch?.({ epoch, epochs: opts.epochs, loss, valLoss, elapsedMs: Date.now() - started });

      const monitored = valLoss ?? loss;
      if (monitored < best.value) {
        best = { value: monitored, epoch, weights: engine.snapshot() };
      } else if (opts.patience > 0 && epoch - best.epoch >= opts.patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (best.weights.length > 0) engine.restore(best.weights);
  } finally {
    engine.dispose();
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
  // A plain copy loop: a subarray per row costs more than copying its values at this row length.
  const d = m.inputSize;
  const src = m.data;
  for (let i = 0; i < order.length; i++) {
    const from = order[i] * d;
    const to = i * d;
    for (let k = 0; k < d; k++) out[to + k] = src[from + k];
  }
}
