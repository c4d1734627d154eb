// Per-channel min-max scaling to [0, 1], fitted on training data and stored in the model manifest. The
// autoencoder's output layer is a sigmoid, so its outputs live in [0, 1]; values outside the training range
// are clipped, or kept where the model says so (OutOfRange), and counted either way, because many of them mean
// the model sees data unlike its training data.

/** JSON-serialisable scaling parameters: channel c maps [min[c], max[c]] onto [0, 1]. */
export interface ScalerParams {
  min: number[];
  max: number[];
}

/**
 * Relative range below which a channel counts as constant. Float32 data has ~7 significant digits, so a
 * spread smaller than this is storage noise, and dividing by it would turn noise into full-scale swings.
 */
const CONSTANT_RELATIVE_RANGE = 1e-6;

/**
 * Fits per-channel min and max on `values` (rows * channels, time-major). `margin` widens each side by that
 * fraction of the range so normal data does not sit exactly on 0 or 1, where a sigmoid output saturates.
 * Non-finite values are missing data and ignored. A constant channel gets a range of max(|value|, 1) centred
 * on its value: it scales to 0.5 and any later deviation remains visible instead of dividing by zero.
 */
export function fitScaler(values: ArrayLike<number>, channels: number, margin = 0): ScalerParams {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`fitScaler: channels must be an integer >= 1 (got ${channels})`);
  }
  if (values.length === 0 || values.length % channels !== 0) {
    throw new RangeError(
      `fitScaler: need a non-empty multiple of ${channels} values (rows x channels), got ${values.length}`,
    );
  }
  if (!(margin >= 0 && Number.isFinite(margin))) {
    throw new RangeError(`fitScaler: margin must be a finite number >= 0 (got ${margin})`);
  }
  const min = new Array<number>(channels).fill(Number.POSITIVE_INFINITY);
  const max = new Array<number>(channels).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const c = i % channels;
    if (v < min[c]) min[c] = v;
    if (v > max[c]) max[c] = v;
  }
  for (let c = 0; c < channels; c++) {
    if (min[c] > max[c]) throw new RangeError(`fitScaler: channel ${c} has no finite values to fit`);
    let range = max[c] - min[c];
    const magnitude = Math.max(Math.abs(min[c]), Math.abs(max[c]));
    if (range <= CONSTANT_RELATIVE_RANGE * Math.max(magnitude, 1)) {
      const centre = (min[c] + max[c]) / 2;
      range = Math.max(magnitude, 1);
      min[c] = centre - range / 2;
      max[c] = centre + range / 2;
    }
    min[c] -= margin * range;
    max[c] += margin * range;
  }
  return { min, max };
}

/**
 * Checks parameters read from a manifest: the right channel count, finite numbers, max > min. Throws a
 * RangeError naming the channel, so a corrupt manifest is reported instead of producing NaN scores.
 */
export function validateScaler(params: ScalerParams, channels: number): void {
  if (!Array.isArray(params.min) || !Array.isArray(params.max)) {
    throw new RangeError('scaler: min and max must be arrays');
  }
  if (params.min.length !== channels || params.max.length !== channels) {
    throw new RangeError(
      `scaler: expected ${channels} channels, got min[${params.min.length}] and max[${params.max.length}]`,
    );
  }
  for (let c = 0; c < channels; c++) {
    const lo = params.min[c];
    const hi = params.max[c];
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
      throw new RangeError(`scaler: channel ${c} needs finite min < max (got min ${lo}, max ${hi})`);
    }
  }
}

function checkShapes(
  fn: string,
  params: ScalerParams,
  values: Float32Array,
  channels: number,
  out: Float32Array,
): void {
  if (params.min.length !== channels || params.max.length !== channels) {
    throw new RangeError(`${fn}: scaler has ${params.min.length} channels, data has ${channels}`);
  }
  if (values.length % channels !== 0) {
    throw new RangeError(`${fn}: ${values.length} values is not a multiple of ${channels} channels`);
  }
  if (out.length !== values.length) {
    throw new RangeError(`${fn}: output holds ${out.length} values, input ${values.length}`);
  }
}

/**
 * What scaling does with a value outside the fitted range: `clip` holds it at 0 or 1 (the sigmoid output's
 * range, so the model reads a value far outside like one at the edge); `keep` passes it on scaled but unclipped,
 * so the model's error on it grows with the distance outside the range.
 */
export type OutOfRange = 'clip' | 'keep';

export const OUT_OF_RANGE: readonly OutOfRange[] = ['clip', 'keep'];

/**
 * Writes the scaled values into `out` (may be `values` itself, for in-place scaling), clipped to [0, 1] unless
 * `outOfRange` is 'keep'. Returns how many values were outside [0, 1] (clipped, or kept). NaN passes through
 * unclipped and uncounted (windows hold none).
 */
export function scaleInto(params: ScalerParams, values: Float32Array, channels: number, out: Float32Array, outOfRange: OutOfRange = 'clip'): number {
  checkShapes('scaleInto', params, values, channels, out);
  const clip = outOfRange === 'clip';
  let outside = 0;
  for (let c = 0; c < channels; c++) {
    const lo = params.min[c];
    const inv = 1 / (params.max[c] - lo);
    for (let i = c; i < values.length; i += channels) {
      const s = (values[i] - lo) * inv;
      if (s < 0 || s > 1) {
        outside++;
        out[i] = clip ? (s < 0 ? 0 : 1) : s;
      } else {
        out[i] = s;
      }
    }
  }
  return outside;
}

/** Inverse of scaleInto (without clipping): maps the denoised model output back to engineering units. */
export function unscaleInto(params: ScalerParams, values: Float32Array, channels: number, out: Float32Array): void {
  checkShapes('unscaleInto', params, values, channels, out);
  for (let c = 0; c < channels; c++) {
    const lo = params.min[c];
    const range = params.max[c] - lo;
    for (let i = c; i < values.length; i += channels) out[i] = values[i] * range + lo;
  }
}

/** Running count of clipped values, so the fraction can be reported per stream or per evaluation run. */
export class ClipCounter {
  private clippedValues = 0;
  private totalValues = 0;

  add(clipped: number, total: number): void {
    this.clippedValues += clipped;
    this.totalValues += total;
  }

  get clipped(): number {
    return this.clippedValues;
  }

  get total(): number {
    return this.totalValues;
  }

  /** Clipped / total, 0 before anything was counted. */
  get fraction(): number {
    return this.totalValues === 0 ? 0 : this.clippedValues / this.totalValues;
  }

  reset(): void {
    this.clippedValues = 0;
    this.totalValues = 0;
  }
}
