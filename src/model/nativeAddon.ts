// Loader of the optional native addon (packages/anomalyd-native: dense and conv1d autoencoders' forward pass,
// scoring, backpropagation and Adam in C++ with AVX-512 / AVX2+FMA / portable kernels picked at run time). It is built by node-gyp when
// `npm install` runs on a machine with a C++ compiler; where the build was skipped or failed, require() throws
// and anomalyd runs on tfjs instead. ANOMALYD_NATIVE=0 disables it; ANOMALYD_NATIVE_KERNELS=avx512|avx2|generic
// forces a kernel set (tests and benchmarks compare them).
import { errorMessage } from '../core/errors';

/** Opaque handle of a network held by the addon (freed by the garbage collector). */
export type NativeNetHandle = { readonly __nativeNet: unique symbol };

/** Activation codes, metric codes and loss codes as the addon numbers them. */
export const NATIVE_ACT = { relu: 1, sigmoid: 2 } as const;
export const NATIVE_METRIC = { mse: 0, mae: 1, bce: 2 } as const;
export const NATIVE_LOSS = { bce: 0, mse: 1 } as const;

/**
 * The addon interface this build calls (packages/anomalyd-native/src/addon.cc ADDON_ABI). A binary built from older
 * sources would ignore arguments it does not know (score's step count: whole-window scores with score_steps),
 * so it is not used: tfjs runs until it is rebuilt.
 */
export const NATIVE_ABI = 2;

export interface NativeAddon {
  /** Interface version (absent before 2). */
  readonly abi?: number;
  /** The kernel set a new network would use, or null when `name` does not run on this CPU. */
  kernels(name?: string): string | null;
  create(sizes: readonly number[], activations: readonly number[], kernels?: string): NativeNetHandle;
  /** A convolutional autoencoder (model/convAutoencoder.ts's layers); its layers are numbered in tfjs's weight order. */
  createConv(steps: number, channels: number, filters: readonly number[], kernelSize: number, latentUnits: number, kernels?: string): NativeNetHandle;
  kernelsOf(net: NativeNetHandle): string;
  setParams(net: NativeNetHandle, layer: number, kernel: Float32Array, bias: Float32Array): void;
  getParams(net: NativeNetHandle, layer: number, kernelOut: Float32Array, biasOut: Float32Array): void;
  forward(net: NativeNetHandle, x: Float32Array, n: number, upToLayers: number, out: Float32Array): void;
  /**
   * `reconstructionOut` (optional): the network's output the errors were taken against, n rows of the input
   * width. `steps` (optional, > 0): the errors over each window's newest `steps` time steps only.
   */
  score(net: NativeNetHandle, x: Float32Array, n: number, channels: number, metric: number, perChannelOut: Float32Array, totalOut: Float32Array, reconstructionOut?: Float32Array, steps?: number): void;
  startTraining(net: NativeNetHandle, learningRate: number): void;
  trainEpoch(net: NativeNetHandle, noisy: Float32Array, clean: Float32Array, n: number, batch: number, loss: number): number;
  evaluate(net: NativeNetHandle, x: Float32Array, n: number, loss: number): number;
  /** Gradient of one batch's mean loss into `out` (kernel, bias of each layer), no update; returns the loss. */
  gradient(net: NativeNetHandle, x: Float32Array, t: Float32Array, n: number, loss: number, out: Float32Array[]): number;
}

export interface NativeStatus {
  readonly addon?: NativeAddon;
  /** The kernel set in use (ANOMALYD_NATIVE_KERNELS or the best this CPU runs). */
  readonly kernels?: string;
  /** Why the addon is not used, for the start-up log line. */
  readonly problem?: string;
}

let status: NativeStatus | undefined;

export function loadNativeAddon(): NativeStatus {
  status ??= load();
  return status;
}

/** The kernel set new networks use: ANOMALYD_NATIVE_KERNELS when set, else the addon's best. */
export function nativeKernels(): string | undefined {
  return loadNativeAddon().kernels;
}

function load(): NativeStatus {
  if (process.env.ANOMALYD_NATIVE === '0') return { problem: 'native addon disabled by ANOMALYD_NATIVE=0' };
  let addon: NativeAddon;
  try {
    // A plain require: the package is optional and its build may have been skipped.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require('anomalyd-native') as NativeAddon;
  } catch (err) {
    const text = errorMessage(err);
    return { problem: `native addon not built (${text.split('\n')[0] ?? text})` };
  }
  if (addon.abi !== NATIVE_ABI) {
    return { problem: `native addon built from other sources (interface ${addon.abi ?? 1}, this build calls ${NATIVE_ABI}); rebuild it: npm rebuild anomalyd-native` };
  }
  const wanted = process.env.ANOMALYD_NATIVE_KERNELS ?? '';
  const kernels = addon.kernels(wanted);
  if (kernels === null) return { problem: `native kernels '${wanted}' (ANOMALYD_NATIVE_KERNELS) do not run on this CPU` };
  return { addon, kernels };
}
