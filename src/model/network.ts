// Which network a detector learns: the dense autoencoder (autoencoder.ts, also the shallow form with no encoder
// layers) or the convolutional one (convAutoencoder.ts). Both take and return flat windows of the same width,
// so everything around the network (scaling, training, scoring, artifacts) is the same for both.
import type * as tf from '@tensorflow/tfjs';
import type { ConvLayers } from '../core/convShape';
import { buildAutoencoder } from './autoencoder';
import { buildConvAutoencoder } from './convAutoencoder';

export type ArchitectureKind = 'dense' | 'conv1d';
export const ARCHITECTURE_KINDS: readonly ArchitectureKind[] = ['dense', 'conv1d'];

export interface NetworkOptions {
  readonly kind: ArchitectureKind;
  /** Values per window: window size x channels. */
  readonly inputSize: number;
  readonly channels: number;
  /** Dense encoder layers (dense only). */
  readonly encoderUnits: readonly number[];
  /** Convolutions (conv1d only). */
  readonly conv?: ConvLayers;
  readonly latentUnits: number;
  readonly seed: number;
}

export function buildNetwork(opts: NetworkOptions): tf.LayersModel {
  if (opts.kind === 'dense') return buildAutoencoder(opts);
  if (!opts.conv) throw new RangeError('A conv1d network needs its convolution layers (filters, kernel size)');
  return buildConvAutoencoder({ inputSize: opts.inputSize, channels: opts.channels, conv: opts.conv, latentUnits: opts.latentUnits, seed: opts.seed });
}
