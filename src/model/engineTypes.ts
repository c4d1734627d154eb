// The one interface the model code computes through: a scoring engine (forward pass, reconstruction errors,
// latent codes) and a training engine (one epoch of minibatch Adam, validation loss, weight snapshots). Kept
// apart from engine.ts, which picks an implementation, so the implementations need not import their chooser.

/** Per-element reconstruction error: squared, absolute, or binary cross-entropy against the input. */
export type ScoreMetric = 'mse' | 'mae' | 'bce';
export type LossName = 'bce' | 'mse';

export interface WindowErrors {
  /** Sum of the element errors of each channel over the steps counted, n rows of `channels` values. */
  readonly perChannel: Float32Array;
  /** Mean element error of each window over the steps counted. */
  readonly total: Float32Array;
  /** The output the errors were taken against (n rows, scaled units), when asked for: the same pass, no second one. */
  readonly reconstruction?: Float32Array;
}

export interface ScoringEngine {
  readonly kind: 'native' | 'tfjs';
  readonly latentSize: number;
  /**
   * Errors of n windows (row-major, the model's input width) against their reconstructions, in new arrays the
   * caller owns. `steps` > 0 (less than the window's): counted over each window's newest `steps` time steps only
   * (score_steps; the network still reads the whole window); absent or 0: the whole window.
   */
  errors(x: Float32Array, n: number, withReconstruction?: boolean, steps?: number): WindowErrors;
  reconstruct(x: Float32Array, n: number): Float32Array;
  latent(x: Float32Array, n: number): Float32Array;
}

export interface TrainingEngine {
  readonly kind: 'native' | 'tfjs';
  /** One pass over n (already shuffled) rows in minibatches; returns the mean training loss. */
  fitEpoch(noisy: Float32Array, clean: Float32Array, n: number, batchSize: number): Promise<number>;
  /** Mean loss of the clean reconstruction of n rows. */
  validationLoss(x: Float32Array, n: number): number;
  /** A copy of the current weights (tfjs order: kernel, bias of each layer). */
  snapshot(): Float32Array[];
  /** Puts weights back into the engine and into the tfjs model. */
  restore(weights: readonly Float32Array[]): void;
  dispose(): void;
}

export interface ScoringSetup {
  readonly channels: number;
  readonly metric: ScoreMetric;
}

export interface TrainingSetup {
  readonly loss: LossName;
  readonly learningRate: number;
}
