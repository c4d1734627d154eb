// The network a model holds, in one of two forms. A tfjs LayersModel: what training builds, what the tfjs and
// wasm backends score, any architecture. Or a DenseAutoencoder: the shape and weights of a plain dense chain
// (what buildAutoencoder makes) read straight from an artifact when the native addon scores, so that no tfjs is
// loaded (denseArtifact.ts). The rest of model/ takes either as an AutoencoderModel; only the native engine
// computes with a DenseAutoencoder.
import type * as tf from '@tensorflow/tfjs';

export type DenseActivation = 'relu' | 'sigmoid';

/** A chain of biased dense layers: relu hidden layers, a sigmoid output. */
export interface DenseChain {
  /** Input width, then each layer's units. */
  readonly sizes: readonly number[];
  readonly activations: readonly DenseActivation[];
  /** Dense layers up to and including the latent layer. */
  readonly latentDepth: number;
  /** The dense layers' names, which name their weights (`<layer>/kernel`, `<layer>/bias`). */
  readonly layerNames: readonly string[];
}

/** One entry of model.json's weightsManifest: a weight's name, shape and storage type. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Present on quantized weights, which only tfjs reads. */
  readonly quantization?: unknown;
}

/** model.json as the tfjs layers format writes it (weightsManifest left out: the weights are read from it). */
export interface ModelJsonHead {
  readonly format?: unknown;
  readonly generatedBy?: unknown;
  readonly convertedBy?: unknown;
  readonly modelTopology: object;
}

export class DenseAutoencoder {
  /**
   * @param weights kernel (row-major, inputs x units) and bias of each layer, in chain order
   * @param source the model.json it was read from and its weight specs in file order, to save it unchanged
   */
  constructor(
    readonly chain: DenseChain,
    readonly weights: readonly Float32Array[],
    readonly source: { readonly head: ModelJsonHead; readonly specs: readonly WeightSpec[] },
  ) {}

  get inputSize(): number {
    return this.chain.sizes[0];
  }

  get outputSize(): number {
    return this.chain.sizes[this.chain.sizes.length - 1];
  }

  /** The weight a spec names, or undefined when it is not one of this chain's. */
  weight(name: string): Float32Array | undefined {
    const i = weightIndex(this.chain, name);
    return i < 0 ? undefined : this.weights[i];
  }
}

/** Position of the weight `<layer>/kernel` or `<layer>/bias` in chain order (kernel, bias of each layer), or -1. */
export function weightIndex(chain: DenseChain, name: string): number {
  const slash = name.lastIndexOf('/');
  const layer = chain.layerNames.indexOf(name.slice(0, slash));
  const part = name.slice(slash + 1);
  return layer < 0 || (part !== 'kernel' && part !== 'bias') ? -1 : 2 * layer + (part === 'bias' ? 1 : 0);
}

export type AutoencoderModel = tf.LayersModel | DenseAutoencoder;

export function modelInputSize(model: AutoencoderModel): number {
  return model instanceof DenseAutoencoder ? model.inputSize : (model.inputs[0].shape[1] as number);
}

export function modelOutputSize(model: AutoencoderModel): number {
  return model instanceof DenseAutoencoder ? model.outputSize : (model.outputs[0].shape[1] as number);
}

/** Frees a tfjs model's tensors; a DenseAutoencoder holds plain arrays only, left to the garbage collector. */
export function disposeModel(model: AutoencoderModel): void {
  if (!(model instanceof DenseAutoencoder)) model.dispose();
}
