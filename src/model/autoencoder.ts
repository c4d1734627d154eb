// The deep dense denoising autoencoder: encoder layer sizes down to a bottleneck (the latent code), a mirrored
// decoder, relu hidden layers and a sigmoid output, because inputs are scaled to [0, 1] and the default loss is
// binary cross-entropy. A shallow autoencoder is the same builder with no encoder layers (one hidden layer: the
// bottleneck). Built with the functional API so the encoder alone (input -> latent) can be cut out of it.
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from './tfjs';

export interface ArchitectureOptions {
  /** Values per window: window size x channels. */
  readonly inputSize: number;
  /** Hidden layer sizes from the input towards the bottleneck, e.g. [128, 64]; [] gives the shallow form. */
  readonly encoderUnits: readonly number[];
  readonly latentUnits: number;
  readonly seed: number;
}

export const LATENT_LAYER = 'latent';

export function buildAutoencoder(opts: ArchitectureOptions): tf.LayersModel {
  validateArchitecture(opts);
  const tf = tfjs();
  let layerSeed = opts.seed;
  const dense = (units: number, activation: 'relu' | 'sigmoid', name: string): tf.layers.Layer =>
    tf.layers.dense({
      units,
      activation,
      name,
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed++ }),
      biasInitializer: 'zeros',
    });
  const input = tf.input({ shape: [opts.inputSize], name: 'window' });
  let x = input;
  opts.encoderUnits.forEach((units, i) => {
    x = dense(units, 'relu', `encoder_${i + 1}`).apply(x) as tf.SymbolicTensor;
  });
  x = dense(opts.latentUnits, 'relu', LATENT_LAYER).apply(x) as tf.SymbolicTensor;
  [...opts.encoderUnits].reverse().forEach((units, i) => {
    x = dense(units, 'relu', `decoder_${i + 1}`).apply(x) as tf.SymbolicTensor;
  });
  const output = dense(opts.inputSize, 'sigmoid', 'reconstruction').apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'denoising_autoencoder' });
}

/** The encoder half (input -> latent code), sharing weights with the autoencoder. */
export function encoderOf(model: tf.LayersModel): tf.LayersModel {
  return tfjs().model({ inputs: model.inputs, outputs: model.getLayer(LATENT_LAYER).output });
}

function validateArchitecture(opts: ArchitectureOptions): void {
  const sizes = [opts.inputSize, ...opts.encoderUnits, opts.latentUnits];
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`Layer sizes must be positive integers (got ${sizes.join('-')})`);
  }
  if (opts.latentUnits >= opts.inputSize) {
    throw new RangeError(
      `The bottleneck (${opts.latentUnits}) must be smaller than the input (${opts.inputSize}), or the autoencoder can learn the identity`,
    );
  }
}
