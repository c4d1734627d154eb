// Picks the engine the model code computes through (the interfaces are in engineTypes.ts). Two implementations:
// tfjs (whatever tfjs backend is active: tfjs-node, wasm or cpu) and the native addon, used when selectBackend
// chose 'native'. Training runs on a tfjs LayersModel either way (the source of truth for the weights, what
// artifacts are saved from), so a model trained on one path scores on the other. A model read without tfjs (a
// DenseAutoencoder, see denseNetwork.ts) scores on the native engine only.
import type * as tf from '@tensorflow/tfjs';
import { currentBackend } from './backend';
import { DenseAutoencoder, type AutoencoderModel } from './denseNetwork';
import type { ScoringEngine, ScoringSetup, TrainingEngine, TrainingSetup } from './engineTypes';
import { loadNativeAddon } from './nativeAddon';
import { NativeScoring, NativeTraining, nativeUnsupported } from './nativeEngine';
import { TfjsScoring, TfjsTraining } from './tfjsEngine';

/**
 * The native engine when the native backend is selected and the model is one it runs (a plain dense chain or
 * the conv1d autoencoder), else tfjs. A
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
