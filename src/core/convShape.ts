// The shape rules of the convolutional autoencoder (training.architecture conv1d), in core so that config
// validation (config/semantic.ts) and the model builder (model/convAutoencoder.ts) refuse the same windows with
// the same words: `anomalyd validate` refuses what training would.

/** Every encoder convolution halves the time axis (stride 2, 'same' padding: ceil(steps / 2) steps out). */
export const CONV_STRIDE = 2;

export interface ConvLayers {
  /** Filters of each encoder convolution, outermost first, e.g. [32, 16]; the decoder mirrors them. */
  readonly filters: readonly number[];
  /** Taps of every convolution along the time axis. */
  readonly kernelSize: number;
}

/** Time steps after each encoder convolution, from the window's own: [steps, ceil(steps / 2), ...]. */
export function convLengths(steps: number, layers: number): number[] {
  const out = [steps];
  for (let i = 0; i < layers; i++) out.push(Math.ceil(out[i] / CONV_STRIDE));
  return out;
}

/**
 * Why a window of `steps` samples cannot feed these convolutions, or undefined when it can. A kernel longer than
 * the window would see mostly padding; fewer than 2^layers steps would leave a stride-2 layer nothing to halve.
 */
export function convWindowProblem(steps: number, conv: ConvLayers): string | undefined {
  const layers = conv.filters.length;
  if (layers === 0) return 'the convolutional autoencoder needs at least one encoder layer (conv_filters)';
  if (steps < conv.kernelSize) return `a window of ${steps} samples is shorter than the convolution kernel (kernel_size ${conv.kernelSize})`;
  const least = CONV_STRIDE ** layers;
  if (steps < least) return `a window of ${steps} samples is too short for ${layers} stride-${CONV_STRIDE} convolution layers (conv_filters): it needs at least ${least}`;
  return undefined;
}
