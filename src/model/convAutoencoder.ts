// The convolutional denoising autoencoder (training.architecture conv1d). The window's values arrive as the
// dense model takes them, one flat row of steps x channels, time-major interleaved (values[t * channels + c]),
// and leave the same way, so scaling, training, scoring (per-channel error shares) and artifacts treat both
// forms alike. Inside, the row is reshaped to [steps, channels]: the channels are the input channels of 1-D
// convolutions over the time axis.
//
//   encoder: per entry of `filters`, Conv1D(filters, kernel, stride 2, 'same', relu): steps -> ceil(steps / 2)
//   bottleneck: flatten -> dense `latent` (relu) -> dense back to the deepest [length x filters] (relu)
//   decoder: per encoder layer, deepest first, nearest-neighbour upsampling x2 along time, then a convolution
//            (kernel, stride 1, 'same', relu) back to the filters that encoder layer took in, the last one to
//            `channels` with a sigmoid (inputs are scaled to [0, 1])
//   crop: the decoder ends at deepest x 2^layers steps, at least the window's; the surplus steps at the end
//         are cropped, so any window size works (30 -> 15 -> 8 -> 16 -> 32 -> 30), not only powers of two
//
// tfjs-layers has no 1-D upsampling or crop, so the decoder works on [steps, 1, filters] (a width-1 image):
// upSampling2d [2, 1], conv2d with a [kernel, 1] kernel and cropping2D act on the time axis alone. Upsampling
// and a plain convolution rather than a transposed convolution: on tfjs's wasm backend the transposed one
// (Conv2DBackpropInput) took 65 ms of a 70 ms forward pass of 256 windows, a forward convolution 2 ms. All
// layers are stock tfjs layers, so model.json is the standard layers format, saved and loaded like the dense
// model's.
import type * as tf from '@tensorflow/tfjs';
import { CONV_STRIDE, convLengths, convWindowProblem, type ConvLayers } from '../core/convShape';
import { LATENT_LAYER } from './autoencoder';
import { tfjs } from './tfjs';

export interface ConvArchitectureOptions {
  /** Values per window: steps x channels. */
  readonly inputSize: number;
  readonly channels: number;
  readonly conv: ConvLayers;
  readonly latentUnits: number;
  readonly seed: number;
}

export function buildConvAutoencoder(opts: ConvArchitectureOptions): tf.LayersModel {
  const steps = validateConvArchitecture(opts);
  const tf = tfjs();
  const { filters, kernelSize } = opts.conv;
  let layerSeed = opts.seed;
  const init = (): { kernelInitializer: ReturnType<typeof tf.initializers.glorotUniform>; biasInitializer: 'zeros' } => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed++ }),
    biasInitializer: 'zeros',
  });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor): tf.SymbolicTensor => layer.apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [opts.inputSize], name: 'window' });
  let x = apply(tf.layers.reshape({ targetShape: [steps, opts.channels], name: 'steps_by_channels' }), input);
  filters.forEach((f, i) => {
    x = apply(tf.layers.conv1d({ filters: f, kernelSize, strides: CONV_STRIDE, padding: 'same', activation: 'relu', name: `encoder_conv_${i + 1}`, ...init() }), x);
  });
  const lengths = convLengths(steps, filters.length);
  const deepest = lengths[lengths.length - 1];
  const deepestFilters = filters[filters.length - 1];
  x = apply(tf.layers.flatten({ name: 'encoder_flat' }), x);
  x = apply(tf.layers.dense({ units: opts.latentUnits, activation: 'relu', name: LATENT_LAYER, ...init() }), x);
  x = apply(tf.layers.dense({ units: deepest * deepestFilters, activation: 'relu', name: 'decoder_dense', ...init() }), x);
  x = apply(tf.layers.reshape({ targetShape: [deepest, 1, deepestFilters], name: 'decoder_steps' }), x);
  // Mirrored: the transposed convolution undoing encoder layer i outputs the filters that layer took in.
  const outFilters = [opts.channels, ...filters.slice(0, -1)];
  for (let i = filters.length - 1; i >= 0; i--) {
    const last = i === 0;
    const stage = filters.length - i;
    x = apply(tf.layers.upSampling2d({ size: [CONV_STRIDE, 1], name: `decoder_upsample_${stage}` }), x);
    x = apply(
      tf.layers.conv2d({
        filters: outFilters[i],
        kernelSize: [kernelSize, 1],
        padding: 'same',
        activation: last ? 'sigmoid' : 'relu',
        name: last ? 'reconstruction' : `decoder_conv_${stage}`,
        ...init(),
      }),
      x,
    );
  }
  const decoded = deepest * CONV_STRIDE ** filters.length;
  if (decoded > steps) x = apply(tf.layers.cropping2D({ cropping: [[0, decoded - steps], [0, 0]], name: 'crop_to_window' }), x);
  const output = apply(tf.layers.reshape({ targetShape: [opts.inputSize], name: 'window_out' }), x);
  return tf.model({ inputs: input, outputs: output, name: 'conv1d_denoising_autoencoder' });
}

/** The window's steps, after checking the options make a network that can train (RangeError otherwise). */
function validateConvArchitecture(opts: ConvArchitectureOptions): number {
  const sizes = [opts.inputSize, opts.channels, opts.latentUnits, opts.conv.kernelSize, ...opts.conv.filters];
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) {
    throw new RangeError(`Input size, channels, latent units, kernel size and filters must be positive integers (got ${sizes.join(', ')})`);
  }
  if (opts.inputSize % opts.channels !== 0) throw new RangeError(`Input size ${opts.inputSize} is not a whole number of steps of ${opts.channels} channels`);
  const steps = opts.inputSize / opts.channels;
  const problem = convWindowProblem(steps, opts.conv);
  if (problem) throw new RangeError(`Convolutional autoencoder: ${problem}`);
  if (opts.latentUnits >= opts.inputSize) {
    throw new RangeError(
      `The bottleneck (${opts.latentUnits}) must be smaller than the input (${opts.inputSize}), or the autoencoder can learn the identity`,
    );
  }
  return steps;
}
