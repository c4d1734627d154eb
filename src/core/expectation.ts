// What the model expected of a window, in each channel's own units: its reconstruction mapped back through the
// scaler (model/detector.ts does that part) and the window transform undone here with the observed window. Used
// for the expected values written beside every score (anomaly_expected), the denoised signal (anomaly_denoised)
// and an alert's readings (core/channelReading.ts), so all three say the same thing.
import { heldLevel, type ChannelTransforms, type LevelBounds, type WindowTransform } from './windowTransform';

/**
 * The model's expectation of raw value (t, c). The model reconstructs the transformed window, so the transform is
 * undone with the observed data: a demeaned channel's shape sits on the window's own mean (`level`), a differenced
 * one's step is added to the observed previous sample (a one-step-ahead expectation; the first step has no previous
 * sample in the window, so it expects what it saw).
 *
 * @param r the reconstruction mapped back through the scaler (transformed units, laid out like `observed`)
 */
export function expectedAt(kind: WindowTransform, observed: ArrayLike<number>, r: ArrayLike<number>, channels: number, c: number, t: number, level: number): number {
  const i = t * channels + c;
  switch (kind) {
    case 'none':
      return r[i];
    case 'demean':
      return r[i] + level;
    case 'diff':
      return t === 0 ? observed[i] : observed[i - channels] + r[i];
  }
}

/** The mean of channel `c` over a window's steps (a demeaned channel's level). */
export function channelMean(values: ArrayLike<number>, channels: number, c: number, steps: number): number {
  let sum = 0;
  for (let t = 0; t < steps; t++) sum += values[t * channels + c];
  return sum / steps;
}

/**
 * Every value of a window as the model expected it, raw units, into `out` (laid out like `observed`). `out` may be
 * `r` itself: each value is read before it is written, and never read again after.
 */
export function expectedWindow(kind: ChannelTransforms, observed: ArrayLike<number>, r: ArrayLike<number>, channels: number, out: Float32Array, bounds?: LevelBounds): void {
  const steps = observed.length / channels;
  if (!Number.isInteger(steps) || r.length !== observed.length || out.length !== observed.length) {
    throw new RangeError(`expectedWindow: ${observed.length} observed and ${r.length} reconstructed values are not ${channels}-channel steps of the output (${out.length})`);
  }
  for (let c = 0; c < channels; c++) {
    const k = typeof kind === 'string' ? kind : kind[c];
    if (k === 'none') {
      if (out !== r) for (let t = 0; t < steps; t++) out[t * channels + c] = r[t * channels + c];
      continue;
    }
    // The model reconstructs the window less the level it subtracted (held within the channel's bounds, if any).
    const level = k === 'demean' ? heldLevel(channelMean(observed, channels, c, steps), c, bounds) : 0;
    for (let t = 0; t < steps; t++) out[t * channels + c] = expectedAt(k, observed, r, channels, c, t, level);
  }
}

/** How element errors are measured (model/engineTypes.ts ScoreMetric) and pooled into the score (scorer.ts). */
export interface ToleranceBasis {
  readonly metric: 'mse' | 'mae' | 'bce';
  readonly aggregate: 'mean' | 'max_channel';
  /** The model's calibrated threshold on its own score; NaN when not calibrated. */
  readonly threshold: number;
  /** The scaler's range of each channel (max - min): one scaled unit in the channel's own units. */
  readonly ranges: readonly number[];
}

/**
 * Each channel's tolerance, raw units: how far the channel alone may sit from what the model expected, all window
 * long, before the window's score reaches the threshold. With the mean over all channels a lone channel carries
 * 1/channels of the score, with max_channel all of it; mse's element error is the square of the distance, mae's
 * the distance. NaN where it has no such meaning: an uncalibrated model, or bce (whose element error is not a
 * distance: it does not vanish where the reconstruction is exact).
 */
export function channelTolerances(b: ToleranceBasis): Float32Array {
  const channels = b.ranges.length;
  const share = b.aggregate === 'max_channel' ? 1 : channels;
  const scaled = !(b.threshold >= 0) || b.metric === 'bce' ? NaN : b.metric === 'mse' ? Math.sqrt(b.threshold * share) : b.threshold * share;
  return Float32Array.from(b.ranges, (range) => scaled * range);
}
