// The native-addon implementation of the engine interface. The network holds a copy of the model's weights. For
// a tfjs model, scoring re-copies them whenever the model's variables were assigned since (tfjs gives a variable
// a new dataId on every assign, so a check is 12 pointer compares), and training writes its best epoch back into
// the model, so the tfjs model stays the one artifacts are saved from. A DenseAutoencoder (read from an artifact
// without tfjs) is copied once: its weights never change. Only the architecture buildAutoencoder makes is
// supported, and the convolutional one convAutoencoder.ts makes (convTopology.ts reads its shape back, the addon's
// ConvNet computes it); anything else stays on tfjs.
import type * as tf from '@tensorflow/tfjs';
import { convLengths } from '../core/convShape';
import { LATENT_LAYER } from './autoencoder';
import { convTopologyOf, type ConvTopology } from './convTopology';
import { DenseAutoencoder, type AutoencoderModel, type DenseActivation, type DenseChain } from './denseNetwork';
import type { ScoringEngine, ScoringSetup, TrainingEngine, TrainingSetup, WindowErrors } from './engineTypes';
import { loadNativeAddon, NATIVE_ACT, NATIVE_LOSS, NATIVE_METRIC, type NativeAddon, type NativeNetHandle } from './nativeAddon';
import { restoreInto } from './tfjsEngine';

/** Why a model cannot run natively, or undefined when it can (and the addon is loaded). */
export function nativeUnsupported(model: AutoencoderModel): string | undefined {
  if (!loadNativeAddon().addon) return loadNativeAddon().problem;
  const layout = layoutOf(model);
  return typeof layout === 'string' ? layout : undefined;
}

/** The network as the addon builds it: its layers' kernel sizes (tfjs's weight order) and its latent layer. */
interface NativeLayout {
  readonly inputSize: number;
  /** Rows (inputs, or taps x input channels) and columns (units, or output channels) of each layer's kernel. */
  readonly kernels: readonly { readonly rows: number; readonly columns: number }[];
  /** Layers up to and including the latent one, and its width. */
  readonly latentDepth: number;
  readonly latentSize: number;
  create(addon: NativeAddon, kernelSet: string | undefined): NativeNetHandle;
}

function layoutOf(model: AutoencoderModel): NativeLayout | string {
  if (model instanceof DenseAutoencoder) return denseLayout(model.chain);
  const chain = denseChain(model);
  if (typeof chain !== 'string') return denseLayout(chain);
  const conv = convTopologyOf(model);
  return typeof conv === 'string' ? (model.layers.some((l) => l.getClassName() === 'Conv1D') ? conv : chain) : convLayout(conv);
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

function denseLayout(chain: DenseChain): NativeLayout {
  return {
    inputSize: chain.sizes[0],
    kernels: chain.activations.map((_, i) => ({ rows: chain.sizes[i], columns: chain.sizes[i + 1] })),
    latentDepth: chain.latentDepth,
    latentSize: chain.sizes[chain.latentDepth],
    create: (addon, kernelSet) => addon.create(chain.sizes, chain.activations.map((a) => NATIVE_ACT[a]), kernelSet),
  };
}

function convLayout(t: ConvTopology): NativeLayout {
  const L = t.filters.length;
  const deepest = convLengths(t.steps, L)[L] * t.filters[L - 1];
  const conv = (inC: number, outC: number) => ({ rows: t.kernelSize * inC, columns: outC });
  const encoder = t.filters.map((f, i) => conv(i === 0 ? t.channels : t.filters[i - 1], f));
  const decoder = t.filters.map((_, s) => L - 1 - s).map((i) => conv(t.filters[i], i === 0 ? t.channels : t.filters[i - 1]));
  return {
    inputSize: t.steps * t.channels,
    kernels: [...encoder, { rows: deepest, columns: t.latentUnits }, { rows: t.latentUnits, columns: deepest }, ...decoder],
    latentDepth: L + 1,
    latentSize: t.latentUnits,
    create: (addon, kernelSet) => addon.createConv(t.steps, t.channels, t.filters, t.kernelSize, t.latentUnits, kernelSet),
  };
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
  readonly layout: NativeLayout;
  /** A tfjs model's variables, followed on every call; absent for a DenseAutoencoder, copied once. */
  private readonly tracked?: TrackedVariables;

  constructor(model: AutoencoderModel, kernelSet?: string) {
    const { addon, kernels } = loadNativeAddon();
    const layout = layoutOf(model);
    if (!addon || typeof layout === 'string') throw new Error(`Native engine unavailable: ${typeof layout === 'string' ? layout : 'addon not loaded'}`);
    this.addon = addon;
    this.layout = layout;
    this.handle = layout.create(addon, kernelSet ?? kernels);
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
    return this.layout.inputSize;
  }

  get layers(): number {
    return this.layout.kernels.length;
  }

  load(weights: readonly Float32Array[]): void {
    for (let layer = 0; layer < this.layers; layer++) {
      this.addon.setParams(this.handle, layer, weights[2 * layer], weights[2 * layer + 1]);
    }
  }

  weights(): Float32Array[] {
    const out: Float32Array[] = [];
    for (const { rows, columns } of this.layout.kernels) {
      const layer = out.length / 2;
      const kernel = new Float32Array(rows * columns);
      const bias = new Float32Array(columns);
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
    return this.net.layout.latentSize;
  }

  errors(x: Float32Array, n: number, withReconstruction = false, steps = 0): WindowErrors {
    this.net.sync();
    const perChannel = new Float32Array(n * this.setup.channels);
    const total = new Float32Array(n);
    if (!withReconstruction) {
      this.net.addon.score(this.net.handle, x, n, this.setup.channels, this.metric, perChannel, total, undefined, steps);
      return { perChannel, total };
    }
    const reconstruction = new Float32Array(n * this.net.inputSize);
    this.net.addon.score(this.net.handle, x, n, this.setup.channels, this.metric, perChannel, total, reconstruction, steps);
    return { perChannel, total, reconstruction };
  }

  reconstruct(x: Float32Array, n: number): Float32Array {
    return this.forward(x, n, this.net.layers, this.net.inputSize);
  }

  latent(x: Float32Array, n: number): Float32Array {
    return this.forward(x, n, this.net.layout.latentDepth, this.net.layout.latentSize);
  }

  private forward(x: Float32Array, n: number, depth: number, width: number): Float32Array {
    this.net.sync();
    const out = new Float32Array(n * width);
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
