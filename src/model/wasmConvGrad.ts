// The gradients of a 2-D convolution on tfjs's WebAssembly backend, which trains the convolutional autoencoder
// (tfjs-layers runs Conv1D and the decoder's convolutions as 2-D ones). Wasm lacks the filter gradient
// (Conv2DBackpropFilter: fitting a conv1d model there threw "Kernel 'Conv2DBackpropFilter' not registered for
// backend 'wasm'"), and its input gradient (Conv2DBackpropInput) is a direct loop that took ~45% of a training
// step (a direct loop, 4x slower than this at 32 -> 16 channels). Both are written here as one matrix product on wasm's own BatchMatMul around a JS copy:
//   filter: dW [taps x in, out] = cols(x)^T [taps x in, positions] x dy [positions, out]
//   input:  cols = dy [positions, out] x W^T [out, taps x in], then each row added back at its input steps
// where cols(x) lays each output position's receptive field out as a column (im2col, built transposed). Both
// operands are laid out in JS so the product needs no transpose flag: wasm's BatchMatMul ran 5.9 GMAC/s plain
// and 0.5 with transposeA or transposeB. An output of few channels (the reconstruction layer) makes too thin
// a product to pay for the copies: direct JS loops then. Channels-last data, as tfjs-layers uses; anything else
// goes to the kernel wasm had before (or fails as it did).
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from './tfjs';

const FILTER_GRAD = 'Conv2DBackpropFilter';
const INPUT_GRAD = 'Conv2DBackpropInput';
/** Largest im2col matrix built (values); a bigger batch takes the direct loop (filter) or wasm's own kernel (input). */
const MAX_COLS = 32 * 1024 * 1024;
/**
 * Below this many output channels the product is too thin to pay for laying out the matrix: at batch 256 of 140
 * steps, 32 -> 1 channel, the direct loop took 31 ms against 106; 32 -> 16, 196 against 34.
 */
const MIN_OUT_CHANNELS = 8;

/** What these kernels use of the wasm backend (its class is not exported as a type). */
interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

interface ConvGradAttrs {
  readonly strides: [number, number] | number;
  readonly pad: 'valid' | 'same' | number;
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
  readonly filterShape?: [number, number, number, number];
  readonly inputShape?: [number, number, number, number];
}

type KernelArgs<I> = { inputs: I; backend: WasmBackendLike; attrs: ConvGradAttrs };
type Kernel<I> = (args: KernelArgs<I>) => tf.TensorInfo;
type MatMul = (args: { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: WasmBackendLike; attrs: { transposeA: boolean; transposeB: boolean } }) => tf.TensorInfo;

let installed = false;

/** Installs both kernels for the wasm backend once it is set up (their own would be kept by a later tfjs that has a filter gradient). */
export function ensureWasmConvGradient(): void {
  if (installed) return;
  installed = true;
  const tf = tfjs();
  const matMul = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc as unknown as MatMul | undefined;
  if (!matMul) return;
  if (!tf.getKernel(FILTER_GRAD, 'wasm')) {
    const kernelFunc: Kernel<{ x: tf.TensorInfo; dy: tf.TensorInfo }> = (args) => filterGradKernel(args, matMul);
    tf.registerKernel({ kernelName: FILTER_GRAD, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  const ownInputGrad = tf.getKernel(INPUT_GRAD, 'wasm')?.kernelFunc as unknown as Kernel<{ dy: tf.TensorInfo; filter: tf.TensorInfo }> | undefined;
  if (ownInputGrad) {
    const kernelFunc: Kernel<{ dy: tf.TensorInfo; filter: tf.TensorInfo }> = (args) => inputGradKernel(args, matMul) ?? ownInputGrad(args);
    tf.unregisterKernel(INPUT_GRAD, 'wasm');
    tf.registerKernel({ kernelName: INPUT_GRAD, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** A backend read as float32: wasm's readSync hands over a fresh Float32Array (a copy of its heap), used as it is. */
function values(read: ArrayLike<number>): Float32Array {
  return read instanceof Float32Array ? read : Float32Array.from(read);
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

function geometry(xShape: number[], filterShape: number[], attrs: ConvGradAttrs): ConvGeometry {
  const shape4 = (s: number[]): [number, number, number, number] => [s[0], s[1], s[2], s[3]];
  return tfjs().backend_util.computeConv2DInfo(shape4(xShape), shape4(filterShape), attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

function filterGradKernel(args: KernelArgs<{ x: tf.TensorInfo; dy: tf.TensorInfo }>, matMul: MatMul): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  if (attrs.dataFormat !== 'NHWC' || !attrs.filterShape) throw new Error(`${FILTER_GRAD} on wasm: only channels-last (NHWC) data is supported (got ${attrs.dataFormat})`);
  const g = geometry(x.shape, attrs.filterShape, attrs);
  const positions = g.batchSize * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  const xValues = values(backend.readSync(x.dataId));
  if (positions * taps > MAX_COLS || g.outChannels < MIN_OUT_CHANNELS) {
    return backend.makeOutput([...attrs.filterShape], 'float32', undefined, filterGradient(xValues, values(backend.readSync(dy.dataId)), g));
  }
  const cols = backend.makeOutput([1, taps, positions], 'float32', undefined, im2colTransposed(xValues, g));
  try {
    const dyRows: tf.TensorInfo = { dataId: dy.dataId, shape: [1, positions, g.outChannels], dtype: 'float32' };
    const out = matMul({ inputs: { a: cols, b: dyRows }, backend, attrs: { transposeA: false, transposeB: false } });
    return { dataId: out.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
  } finally {
    backend.disposeData(cols.dataId);
  }
}

function inputGradKernel(args: KernelArgs<{ dy: tf.TensorInfo; filter: tf.TensorInfo }>, matMul: MatMul): tf.TensorInfo | undefined {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  if (attrs.dataFormat !== 'NHWC' || !attrs.inputShape) return undefined;
  const g = geometry(attrs.inputShape, filter.shape, attrs);
  const positions = g.batchSize * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth * g.inChannels;
  if (positions * taps > MAX_COLS) return undefined;
  if (g.outChannels < MIN_OUT_CHANNELS) {
    const dx = inputGradient(values(backend.readSync(dy.dataId)), values(backend.readSync(filter.dataId)), g);
    return backend.makeOutput([...attrs.inputShape], 'float32', undefined, dx);
  }
  const dyRows: tf.TensorInfo = { dataId: dy.dataId, shape: [1, positions, g.outChannels], dtype: 'float32' };
  const weightsT = backend.makeOutput([1, g.outChannels, taps], 'float32', undefined, transpose(values(backend.readSync(filter.dataId)), taps, g.outChannels));
  let cols: tf.TensorInfo | undefined;
  try {
    cols = matMul({ inputs: { a: dyRows, b: weightsT }, backend, attrs: { transposeA: false, transposeB: false } });
    return backend.makeOutput([...attrs.inputShape], 'float32', undefined, col2im(values(backend.readSync(cols.dataId)), g));
  } finally {
    backend.disposeData(weightsT.dataId);
    if (cols) backend.disposeData(cols.dataId);
  }
}

/**
 * Each output position's receptive field as a column: row (tap, in channel), column position (batch, out step);
 * zero where the field reaches into padding.
 */
export function im2colTransposed(x: Float32Array, g: ConvGeometry): Float32Array {
  const { inHeight: H, inWidth: W, inChannels: ci, outHeight: Ho, outWidth: Wo, filterHeight: FH, filterWidth: FW } = g;
  const positions = g.batchSize * Ho * Wo;
  const cols = new Float32Array(FH * FW * ci * positions);
  let p = 0;
  for (let b = 0; b < g.batchSize; b++) {
    for (let yr = 0; yr < Ho; yr++) {
      for (let yc = 0; yc < Wo; yc++, p++) {
        for (let fr = 0; fr < FH; fr++) {
          const r = yr * g.strideHeight + fr - g.padInfo.top;
          if (r < 0 || r >= H) continue;
          for (let fc = 0; fc < FW; fc++) {
            const c = yc * g.strideWidth + fc - g.padInfo.left;
            if (c < 0 || c >= W) continue;
            const from = ((b * H + r) * W + c) * ci;
            const tap = (fr * FW + fc) * ci;
            for (let i = 0; i < ci; i++) cols[(tap + i) * positions + p] = x[from + i];
          }
        }
      }
    }
  }
  return cols;
}

/** A rows x columns row-major matrix transposed. */
function transpose(m: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = m[r * columns + c];
  return out;
}

/** The inverse bookkeeping of im2col: each row's values added back at the input positions they came from. */
export function col2im(cols: Float32Array, g: ConvGeometry): Float32Array {
  const { inHeight: H, inWidth: W, inChannels: ci, outHeight: Ho, outWidth: Wo, filterHeight: FH, filterWidth: FW } = g;
  const taps = FH * FW * ci;
  const dx = new Float32Array(g.batchSize * H * W * ci);
  let row = 0;
  for (let b = 0; b < g.batchSize; b++) {
    for (let yr = 0; yr < Ho; yr++) {
      for (let yc = 0; yc < Wo; yc++, row += taps) {
        for (let fr = 0; fr < FH; fr++) {
          const r = yr * g.strideHeight + fr - g.padInfo.top;
          if (r < 0 || r >= H) continue;
          for (let fc = 0; fc < FW; fc++) {
            const c = yc * g.strideWidth + fc - g.padInfo.left;
            if (c < 0 || c >= W) continue;
            const to = ((b * H + r) * W + c) * ci;
            const from = row + (fr * FW + fc) * ci;
            for (let i = 0; i < ci; i++) dx[to + i] += cols[from + i];
          }
        }
      }
    }
  }
  return dx;
}

/** dx[b, r, c, ci] = sum over the output positions and taps that read it of W[fr, fc, ci, co] * dy[b, yr, yc, co]. */
export function inputGradient(dy: Float32Array, w: Float32Array, g: ConvGeometry): Float32Array {
  const { inHeight: H, inWidth: W, inChannels: ci, outHeight: Ho, outWidth: Wo, outChannels: co, filterHeight: FH, filterWidth: FW } = g;
  const dx = new Float32Array(g.batchSize * H * W * ci);
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
              let sum = 0;
              const at = wAt + i * co;
              for (let o = 0; o < co; o++) sum += w[at + o] * dy[dyAt + o];
              dx[xAt + i] += sum;
            }
          }
        }
      }
    }
  }
  return dx;
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
