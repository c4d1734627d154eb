// The one interface the model code computes through: a scoring engine (forward pass, reconstruction errors,
// latent codes) and a training engine (one epoch of minibatch Adam, validation loss, weight snapshots). Two
// implementations: tfjs (whatever tfjs backend is active: tfjs-node, wasm or cpu) and the native addon, used
// when selectBackend chose 'native'. Training runs on a tfjs LayersModel either way (the source of truth for the
// weights, what artifacts are saved from), so a model trained on one path scores on the other. A model read
// without tfjs (a DenseAutoencoder, see denseNetwork.ts) scores on the native engine only.
import type * as tf from '@tensorflow/tfjs';
import { currentBackend } from './backend';
import { DenseAutoencoder, type AutoencoderModel } from './denseNetwork';
import { loadNativeAddon } from './nativeAddon';
import { NativeScoring, NativeTraining, nativeUnsupported } from './nativeEngine';
import { TfjsScoring, TfjsTraining } from './tfjsEngine';

/** Per-element reconstruction error: squared, absolute, or binary cross-entropy against the input. */
export type ScoreMetric = 'mse' | 'mae' | 'bce';
export type LossName = 'bce' | 'mse';

export interface WindowErrors {
  /** Sum of the element errors of each channel, n rows of `channels` values. */
  readonly perChannel: Float32Array;
  /** Mean element error of each window. */
  readonly total: Float32Array;
}

export interface ScoringEngine {
  readonly kind: 'native' | 'tfjs';
  readonly latentSize: number;
  /** Errors of n windows (row-major, the model's input width) against their reconstructions, in new arrays the caller owns. */
  errors(x: Float32Array, n: number): WindowErrors;
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

/**
 * The native engine when the native backend is selected and the model is a plain dense chain, else tfjs. A
 * DenseAutoencoder always goes native: it is only read where the native backend was selected.
 */
export function scoringEngine(model: AutoencoderModel, setup: ScoringSetup): ScoringEngine {
  if (model instanceof DenseAutoencoder) return new NativeScoring(model, setup);
  return useNative(model) ? new NativeScoring(model, setup) : new TfjsScoring(model, setup);
}

export function trainingEngine(model: tf.LayersModel, setup: TrainingSetup): TrainingEngine {
  return useNative(model) ? new NativeTraining(model, setup) : new TfjsTraining(model, setup);
}

/** Whether models score on the native addon in this process (so artifacts may be read without tfjs). */
export function nativeScoringSelected(): boolean {
  return currentBackend()?.name === 'native' && loadNativeAddon().addon !== undefined;
}

function useNative(model: tf.LayersModel): boolean {
  return nativeScoringSelected() && nativeUnsupported(model) === undefined;
}
