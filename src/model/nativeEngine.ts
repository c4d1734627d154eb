// The native-addon implementation of the engine interface. The network holds a copy of the model's weights. For
// a tfjs model, scoring re-copies them whenever the model's variables were assigned since (tfjs gives a variable
// a new dataId on every assign, so a check is 12 pointer compares), and training writes its best epoch back into
// the model, so the tfjs model stays the one artifacts are saved from. A DenseAutoencoder (read from an artifact
// without tfjs) is copied once: its weights never change. Only the architecture buildAutoencoder makes is
// supported: a chain of biased dense layers, relu hidden and sigmoid output; anything else stays on tfjs.
import type * as tf from '@tensorflow/tfjs';
import { LATENT_LAYER } from './autoencoder';
import { DenseAutoencoder, type AutoencoderModel, type DenseActivation, type DenseChain } from './denseNetwork';
import type { ScoringEngine, ScoringSetup, TrainingEngine, TrainingSetup, WindowErrors } from './engineTypes';
import { loadNativeAddon, NATIVE_ACT, NATIVE_LOSS, NATIVE_METRIC, type NativeAddon, type NativeNetHandle } from './nativeAddon';
import { restoreInto } from './tfjsEngine';

/** Why a model cannot run natively, or undefined when it can (and the addon is loaded). */
export function nativeUnsupported(model: AutoencoderModel): string | undefined {
  if (!loadNativeAddon().addon) return loadNativeAddon().problem;
  const chain = chainOf(model);
  return typeof chain === 'string' ? chain : undefined;
}

function chainOf(model: AutoencoderModel): DenseChain | string {
  return model instanceof DenseAutoencoder ? model.chain : denseChain(model);
}

function denseChain(model: tf.LayersModel): DenseChain | string {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const sizes = [model.inputs[0].shape[1] as number];
  const activations: DenseActivation[] = [];
  let latentDepth = 0;
  for (const [i, layer] of layers.entries()) {
    const config = layer.getConfig() as { units?: number; activation?: string; useBias?: boolean };
    const want = i === layers.length - 1 ? 'sigmoid' : 'relu';
    if (layer.getClassName() !== 'Dense' || config.activation !== want || config.useBias === false || typeof config.units !== 'number') {
      return `layer '${layer.name}' is not a biased ${want} dense layer`;
    }
    if (layer.inboundNodes.length !== 1 || (i > 0 && layer.inboundNodes[0].inboundLayers[0] !== layers[i - 1])) {
      return `layer '${layer.name}' is not part of a single chain`;
    }
    sizes.push(config.units);
    activations.push(want);
    if (layer.name === LATENT_LAYER) latentDepth = i + 1;
  }
  if (layers.length === 0) return 'model has no layers';
  return { sizes, activations, latentDepth: latentDepth || Math.ceil(layers.length / 2), layerNames: layers.map((l) => l.name) };
}

/** The variables of a tfjs model, and the dataId of each when its values were last copied to the network. */
class TrackedVariables {
  private readonly variables: readonly { read(): tf.Tensor }[];
  private readonly copied: object[] = [];

  constructor(model: tf.LayersModel) {
    // Fixed with the model's architecture.
    this.variables = model.weights;
  }

  /** The current values when they changed since the last call, else undefined. */
  changed(): Float32Array[] | undefined {
    let changed = this.copied.length !== this.variables.length;
    for (let i = 0; i < this.variables.length && !changed; i++) changed = this.variables[i].read().dataId !== this.copied[i];
    if (!changed) return undefined;
    const values = this.variables.map((v) => v.read());
    values.forEach((t, i) => (this.copied[i] = t.dataId));
    return values.map((t) => t.dataSync() as Float32Array);
  }
}

/** A native network holding a copy of a model's weights. */
class NativeNetwork {
  readonly addon: NativeAddon;
  readonly handle: NativeNetHandle;
  readonly chain: DenseChain;
  /** A tfjs model's variables, followed on every call; absent for a DenseAutoencoder, copied once. */
  private readonly tracked?: TrackedVariables;

  constructor(model: AutoencoderModel, kernelSet?: string) {
    const { addon, kernels } = loadNativeAddon();
    const chain = chainOf(model);
    if (!addon || typeof chain === 'string') throw new Error(`Native engine unavailable: ${typeof chain === 'string' ? chain : 'addon not loaded'}`);
    this.addon = addon;
    this.chain = chain;
    this.handle = addon.create(chain.sizes, chain.activations.map((a) => NATIVE_ACT[a]), kernelSet ?? kernels);
    if (model instanceof DenseAutoencoder) this.load(model.weights);
    else this.tracked = new TrackedVariables(model);
    this.sync();
  }

  /** Copies a tfjs model's weights in if they changed since the last copy. */
  sync(): void {
    const values = this.tracked?.changed();
    if (values) this.load(values);
  }

  get inputSize(): number {
    return this.chain.sizes[0];
  }

  load(weights: readonly Float32Array[]): void {
    for (let layer = 0; layer < this.chain.activations.length; layer++) {
      this.addon.setParams(this.handle, layer, weights[2 * layer], weights[2 * layer + 1]);
    }
  }

  weights(): Float32Array[] {
    const out: Float32Array[] = [];
    for (let layer = 0; layer < this.chain.activations.length; layer++) {
      const kernel = new Float32Array(this.chain.sizes[layer] * this.chain.sizes[layer + 1]);
      const bias = new Float32Array(this.chain.sizes[layer + 1]);
      this.addon.getParams(this.handle, layer, kernel, bias);
      out.push(kernel, bias);
    }
    return out;
  }
}

export class NativeScoring implements ScoringEngine {
  readonly kind = 'native';
  private readonly net: NativeNetwork;
  private readonly metric: number;

  /** `kernels` overrides the kernel set (tests compare them). */
  constructor(
    model: AutoencoderModel,
    private readonly setup: ScoringSetup,
    kernels?: string,
  ) {
    this.net = new NativeNetwork(model, kernels);
    this.metric = NATIVE_METRIC[setup.metric];
  }

  get latentSize(): number {
    return this.net.chain.sizes[this.net.chain.latentDepth];
  }

  errors(x: Float32Array, n: number, withReconstruction = false): WindowErrors {
    this.net.sync();
    const perChannel = new Float32Array(n * this.setup.channels);
    const total = new Float32Array(n);
    if (!withReconstruction) {
      this.net.addon.score(this.net.handle, x, n, this.setup.channels, this.metric, perChannel, total);
      return { perChannel, total };
    }
    const reconstruction = new Float32Array(n * this.net.inputSize);
    this.net.addon.score(this.net.handle, x, n, this.setup.channels, this.metric, perChannel, total, reconstruction);
    return { perChannel, total, reconstruction };
  }

  reconstruct(x: Float32Array, n: number): Float32Array {
    return this.forward(x, n, this.net.chain.activations.length);
  }

  latent(x: Float32Array, n: number): Float32Array {
    return this.forward(x, n, this.net.chain.latentDepth);
  }

  private forward(x: Float32Array, n: number, depth: number): Float32Array {
    this.net.sync();
    const out = new Float32Array(n * this.net.chain.sizes[depth]);
    this.net.addon.forward(this.net.handle, x, n, depth, out);
    return out;
  }
}

export class NativeTraining implements TrainingEngine {
  readonly kind = 'native';
  private readonly net: NativeNetwork;
  private readonly loss: number;

  constructor(
    private readonly model: tf.LayersModel,
    setup: TrainingSetup,
    kernels?: string,
  ) {
    this.net = new NativeNetwork(model, kernels);
    this.loss = NATIVE_LOSS[setup.loss];
    this.net.addon.startTraining(this.net.handle, setup.learningRate);
  }

  fitEpoch(noisy: Float32Array, clean: Float32Array, n: number, batchSize: number): Promise<number> {
    return Promise.resolve(this.net.addon.trainEpoch(this.net.handle, noisy, clean, n, batchSize, this.loss));
  }

  validationLoss(x: Float32Array, n: number): number {
    return this.net.addon.evaluate(this.net.handle, x, n, this.loss);
  }

  snapshot(): Float32Array[] {
    return this.net.weights();
  }

  /** The gradient of one batch's mean loss (kernel, bias of each layer) at the current weights, and the loss. */
  gradient(x: Float32Array, t: Float32Array, n: number): { loss: number; gradient: Float32Array[] } {
    const gradient = this.net.weights().map((w) => new Float32Array(w.length));
    const loss = this.net.addon.gradient(this.net.handle, x, t, n, this.loss, gradient);
    return { loss, gradient };
  }

  restore(weights: readonly Float32Array[]): void {
    this.net.load(weights);
    restoreInto(this.model, weights);
  }

  dispose(): void {
    // The addon's network is freed with its handle by the garbage collector.
  }
}
