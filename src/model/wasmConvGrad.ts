// The one kernel tfjs's WebAssembly backend lacks to train the convolutional autoencoder: the gradient of a 2-D
// convolution with respect to its filter (Conv2DBackpropFilter; tfjs-layers runs Conv1D and the decoder's
// transposed convolutions as 2-D ones). Without it, fitting a conv1d model on wasm throws "Kernel
// 'Conv2DBackpropFilter' not registered for backend 'wasm'". Every other op of the network (the forward
// convolutions, the gradient with respect to the input) is wasm's own. This one is computed here in JS, in
// channels-last order with the output channels innermost (contiguous), and skips the zero activations relu
// leaves. It runs once per conv layer per batch, so JS costs little beside the rest of the step.
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from './tfjs';

const KERNEL = 'Conv2DBackpropFilter';

/** What this kernel uses of the wasm backend (its class is not exported as a type). */
interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
}

interface FilterGradAttrs {
  readonly strides: [number, number] | number;
  readonly pad: 'valid' | 'same' | number;
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
  readonly filterShape: [number, number, number, number];
}

/** Registers the kernel for the wasm backend unless a kernel of that name is there already (a newer tfjs). */
export function ensureWasmConvGradient(): void {
  const tf = tfjs();
  if (tf.getKernel(KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc });
}

function conv2dBackpropFilter(args: { inputs: { x: tf.TensorInfo; dy: tf.TensorInfo }; backend: WasmBackendLike; attrs: FilterGradAttrs }): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const bu = tfjs().backend_util;
  if (attrs.dataFormat !== 'NHWC') throw new Error(`${KERNEL} on wasm: only channels-last (NHWC) data is supported (got ${attrs.dataFormat})`);
  const info = bu.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const dW = filterGradient(Float32Array.from(backend.readSync(x.dataId)), Float32Array.from(backend.readSync(dy.dataId)), info);
  return backend.makeOutput([...info.filterShape], 'float32', undefined, dW);
}

/** The geometry computeConv2DInfo returns, the fields used here. */
export interface ConvGeometry {
  readonly batchSize: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly padInfo: { readonly top: number; readonly left: number };
}

/** dW[fr, fc, ci, co] = sum over batch and output positions of x[b, r, c, ci] * dy[b, yr, yc, co], channels last. */
export function filterGradient(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const { inHeight: H, inWidth: W, inChannels: ci, outHeight: Ho, outWidth: Wo, outChannels: co, filterHeight: FH, filterWidth: FW } = g;
  const acc = new Float64Array(FH * FW * ci * co);
  for (let b = 0; b < g.batchSize; b++) {
    for (let yr = 0; yr < Ho; yr++) {
      for (let yc = 0; yc < Wo; yc++) {
        const dyAt = ((b * Ho + yr) * Wo + yc) * co;
        for (let fr = 0; fr < FH; fr++) {
          const r = yr * g.strideHeight + fr - g.padInfo.top;
          if (r < 0 || r >= H) continue;
          for (let fc = 0; fc < FW; fc++) {
            const c = yc * g.strideWidth + fc - g.padInfo.left;
            if (c < 0 || c >= W) continue;
            const xAt = ((b * H + r) * W + c) * ci;
            const wAt = (fr * FW + fc) * ci * co;
            for (let i = 0; i < ci; i++) {
              const xv = x[xAt + i];
              if (xv === 0) continue;
              const at = wAt + i * co;
              for (let o = 0; o < co; o++) acc[at + o] += xv * dy[dyAt + o];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}
