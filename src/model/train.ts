// Denoising training: each epoch the training windows are corrupted afresh (new noise, seeded) while the
// target stays the clean window. Validation uses clean inputs, because clean reconstruction is what scoring
// measures. Early stopping keeps the weights of the best validation epoch and restores them at the end. The
// minibatch passes run on the training engine (native addon or tfjs, see engine.ts); shuffling and noise stay
// here, in JS with the seeded RNG, so both engines see the same rows.
// Trimmed training (trimFraction > 0): learning data that already holds anomalies (ectopic beats in the first
// minutes of an ECG, a fault during the learning hour) teaches the model those too. After a first fit the
// windows it reconstructs worst are dropped and the model is fitted again from its initial weights on the
// rest, so its capacity goes to the dominant pattern and the rare one stays expensive to reconstruct.
// Without a fixed fraction, `trimFence` draws the line where the losses' bulk ends (core/outlierFence.ts): the
// refit happens only when some windows lie beyond it, so clean learning data costs one fit, as before.
import type * as tf from '@tensorflow/tfjs';
import { outlierFence } from '../core/outlierFence';
import { createRng, shuffledIndices } from '../core/random';
import { scoringEngine, trainingEngine } from './engine';
import type { LossName } from './engineTypes';
import { corrupt, type NoiseOptions } from './noise';
import { restoreInto } from './tfjsEngine';

export type { LossName } from './engineTypes';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  /**
   * Fraction of windows (0 <= f < 1, default 0) dropped after a first fit, those with the largest clean
   * reconstruction loss, before the model is refitted from its initial weights on the rest. Doubles the
   * training time.
   */
  readonly trimFraction?: number;
  /**
   * Used when trimFraction is 0: k of the Tukey fence on the log of the first fit's clean losses; windows beyond
   * it are dropped and the model refitted, and when none is, the first fit stands. 0 or absent: no trimming.
   */
  readonly trimFence?: number;
  /**
   * Share of the wall time (0 <= s < 1, default 0) the training thread sleeps between epochs, each pause
   * in proportion to the epoch before it: a retrain in the daemon takes at most 1 - s of a core, leaving the
   * rest to the scoring thread, the broker and whatever else shares the host (a nice value alone does not
   * reach processes of other sessions). Stretches the training time by 1 / (1 - s).
   */
  readonly pauseShare?: number;
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
  /** Windows dropped by trimming before the refit (training and validation together); 0 without trimming. */
  readonly trimmedWindows: number;
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
  const trim = opts.trimFraction ?? 0;
  if (!(trim >= 0 && trim < 1)) throw new RangeError(`trimFraction must be in [0, 1) (got ${trim})`);
  const rng = createRng(opts.seed);
  const { train, validation } = splitRows(windows, opts.validationFraction, rng);
  const fence = trim === 0 ? (opts.trimFence ?? 0) : 0;
  if (!(fence >= 0 && Number.isFinite(fence))) throw new RangeError(`trimFence must be a finite number >= 0 (got ${fence})`);
  const passes = trim > 0 ? 2 : 1;
  const report = (offset: number, total = passes) => (onEpoch ? (r: EpochReport) => onEpoch({ ...r, epoch: r.epoch + offset, epochs: opts.epochs * total, elapsedMs: Date.now() - started }) : undefined);
  if (trim === 0 && fence === 0) return { ...(await fitPass(model, train, validation, opts, rng, report(0))), durationMs: Date.now() - started, trimmedWindows: 0 };

  const initial = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  const first = await fitPass(model, train, validation, opts, rng, report(0));
  // One cut for training and validation rows, from the training rows' losses, so both keep the same kind of window.
  const scorer = scoringEngine(model, { channels: 1, metric: opts.loss });
  const trainLoss = scorer.errors(train.data, train.n).total;
  const cut = trim > 0 ? upperQuantile(trainLoss, 1 - trim) : outlierFence(trainLoss, fence);
  const keptTrain = keepRows(train, trainLoss, cut);
  const keptValidation = validation.n > 0 ? keepRows(validation, scorer.errors(validation.data, validation.n).total, cut) : validation;
  const trimmedWindows = train.n + validation.n - keptTrain.n - keptValidation.n;
  // Nothing beyond the fence: the first fit is the model, as without trimming (clean data costs one fit).
  if (trim === 0 && trimmedWindows === 0) return { ...first, durationMs: Date.now() - started, trimmedWindows: 0 };
  restoreInto(model, initial);
  const second = await fitPass(model, keptTrain, keptValidation, opts, rng, report(opts.epochs, 2));
  return { ...second, durationMs: Date.now() - started, trimmedWindows };
}

/** One training run from the model's current weights: a fresh optimizer, the best epoch's weights kept. */
async function fitPass(
  model: tf.LayersModel,
  train: WindowMatrix,
  validation: WindowMatrix,
  opts: TrainOptions,
  rng: () => number,
  onEpoch?: (r: EpochReport) => void,
): Promise<Omit<TrainingHistory, 'durationMs' | 'trimmedWindows'>> {
  const started = Date.now();
  const engine = trainingEngine(model, { loss: opts.loss, learningRate: opts.learningRate });
  const history = { loss: [] as number[], valLoss: [] as number[] };
  const clean = new Float32Array(train.data.length);
  const noisy = new Float32Array(train.data.length);
  let best = { value: Infinity, epoch: 0, weights: [] as Float32Array[] };
  let stoppedEarly = false;
  let lastEpochStarted = started;
  try {
    const pause = Math.min(0.95, Math.max(0, opts.pauseShare ?? 0));
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const epochStarted = Date.now();
      if (epoch > 1 && pause > 0) await sleep(((epochStarted - lastEpochStarted) * pause) / (1 - pause));
      lastEpochStarted = Date.now();
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
    trainWindows: train.n,
    validationWindows: validation.n,
  };
}

/** The value below which a fraction q of the values lie (nearest rank), so rows above it are the worst 1 - q. */
function upperQuantile(values: Float32Array, q: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Rows whose loss is at most `cut`, in their original order. */
function keepRows(m: WindowMatrix, loss: Float32Array, cut: number): WindowMatrix {
  const rows: number[] = [];
  for (let r = 0; r < m.n; r++) if (loss[r] <= cut) rows.push(r);
  return takeRows(m, rows);
}

function splitRows(
  m: WindowMatrix,
  fraction: number,
  rng: () => number,
): { train: WindowMatrix; validation: WindowMatrix } {
  // With very few windows a validation set is noise; keep at least 8 for training and 2 for validation.
  const nVal = fraction > 0 && m.n >= 10 ? Math.max(2, Math.round(m.n * fraction)) : 0;
  const order = shuffledIndices(m.n, rng);
  return { validation: takeRows(m, order.slice(0, nVal)), train: takeRows(m, order.slice(nVal)) };
}

function takeRows(m: WindowMatrix, rows: readonly number[]): WindowMatrix {
  const data = new Float32Array(rows.length * m.inputSize);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.inputSize, (r + 1) * m.inputSize), i * m.inputSize));
  return { data, n: rows.length, inputSize: m.inputSize };
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
