// What an alert says about one of its top channels in the channel's own units: the value the sensor read, the
// value the model expected there, and the range the model saw in training ("bearing_temp_c read 92.1, expected
// 61.4 (training 55 to 70)"). Computed for the few windows that make a notice only, never per scored window.
import type { ChannelReading } from './alert';
import type { WindowTransform } from './windowTransform';

/** A channel's range in the model's training data, raw units; NaN where the manifest does not say. */
export interface TrainingRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Channel `c` of one window: observed and expected at the step where they differ most. Why that step and not the
 * last one: the channel's share of the error is the sum over the window, and a fault that entered mid-window, a
 * spike, or (on a resolve) the last trace of the fault sits anywhere in it; the step of largest disagreement is
 * where the share comes from, so the two numbers explain it. Equal differences go to the later step (the newer
 * sample).
 *
 * @param observed the raw window, time-major (`channels` values per step)
 * @param reconstruction the model's output mapped back through the scaler (transformed units, same layout)
 * @param kind the transform the model applies to this channel before scaling
 */
export function channelReading(
  kind: WindowTransform,
  observed: ArrayLike<number>,
  reconstruction: ArrayLike<number>,
  channels: number,
  c: number,
  range: TrainingRange,
): ChannelReading {
  const steps = observed.length / channels;
  if (!Number.isInteger(steps) || steps < 1 || reconstruction.length !== observed.length || !(c >= 0 && c < channels)) {
    throw new RangeError(`channelReading: ${observed.length} observed and ${reconstruction.length} reconstructed values do not hold channel ${c} of ${channels}`);
  }
  const level = kind === 'demean' ? channelMean(observed, channels, c, steps) : 0;
  let best = 0;
  let bestDiff = -1;
  let bestExpected = NaN;
  for (let t = 0; t < steps; t++) {
    const expected = expectedAt(kind, observed, reconstruction, channels, c, t, level);
    const diff = Math.abs(observed[t * channels + c] - expected);
    if (diff >= bestDiff) {
      best = t;
      bestDiff = diff;
      bestExpected = expected;
    }
  }
  return { observed: round(observed[best * channels + c]), expected: round(bestExpected), trainingMin: round(range.min), trainingMax: round(range.max) };
}

/**
 * The model's expectation of raw value (t, c). The model reconstructs the transformed window, so the transform is
 * undone with the observed data: a demeaned channel's shape sits on the window's own mean, a differenced one's
 * step is added to the observed previous sample (a one-step-ahead expectation; the first step has no previous
 * sample in the window, so it expects what it saw).
 */
function expectedAt(kind: WindowTransform, observed: ArrayLike<number>, r: ArrayLike<number>, channels: number, c: number, t: number, level: number): number {
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

function channelMean(values: ArrayLike<number>, channels: number, c: number, steps: number): number {
  let sum = 0;
  for (let t = 0; t < steps; t++) sum += values[t * channels + c];
  return sum / steps;
}

/**
 * Six significant digits: windows hold float32 values (about seven digits), and 61.400001525878906 in a page
 * helps nobody. Non-finite values stay as they are (unknown).
 */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}
