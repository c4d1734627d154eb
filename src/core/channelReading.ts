// What an alert says about one of its top channels in the channel's own units: the value the sensor read, the
// value the model expected there, and the range the model saw in training ("bearing_temp_c read 92.1, expected
// 61.4 (training 55 to 70)"). Computed for the few windows that make a notice only, never per scored window. The
// sentence is formatted here too, as every output says it the same way (annotations, console, InfluxDB, log).
import type { ChannelReading, ChannelShare } from './alert';
import { channelMean, expectedAt } from './expectation';
import { heldLevel, type LevelBounds, type WindowTransform } from './windowTransform';

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
  bounds?: LevelBounds,
): ChannelReading {
  const steps = observed.length / channels;
  if (!Number.isInteger(steps) || steps < 1 || reconstruction.length !== observed.length || !(c >= 0 && c < channels)) {
    throw new RangeError(`channelReading: ${observed.length} observed and ${reconstruction.length} reconstructed values do not hold channel ${c} of ${channels}`);
  }
  const level = kind === 'demean' ? heldLevel(channelMean(observed, channels, c, steps), c, bounds) : 0;
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
 * Six significant digits: windows hold float32 values (about seven digits), and 61.400001525878906 in a page
 * helps nobody. Non-finite values stay as they are (unknown).
 */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

/** "read 92.1, expected 61.4 (training 55 to 70)", or undefined without a reading. */
export function formatReading(s: ChannelShare): string | undefined {
  const r = s.reading;
  const observed = known(r?.observed);
  const expected = known(r?.expected);
  if (r === undefined || observed === null || expected === null) return undefined;
  const lo = known(r.trainingMin);
  const hi = known(r.trainingMax);
  const range = lo !== null && hi !== null ? ` (training ${formatValue(lo)} to ${formatValue(hi)})` : '';
  return `read ${formatValue(observed)}, expected ${formatValue(expected)}${range}`;
}

/** "bearing_temp_c read 92.1, expected 61.4" (a title's length), or undefined without a reading. */
export function briefReading(s: ChannelShare): string | undefined {
  const observed = known(s.reading?.observed);
  const expected = known(s.reading?.expected);
  return observed === null || expected === null ? undefined : `${s.channel} read ${formatValue(observed)}, expected ${formatValue(expected)}`;
}

/** "bearing_temp_c read 92.1, expected 61.4 (training 55 to 70); vib_x ..." ('' when no channel has a reading). */
export function formatReadings(top: readonly ChannelShare[]): string {
  const parts: string[] = [];
  for (const s of top) {
    const reading = formatReading(s);
    if (reading !== undefined) parts.push(`${s.channel} ${reading}`);
  }
  return parts.join('; ');
}

/** Four significant digits, exponent form only for the very large or small: 92.1, 1524, 0.739, 2.5e-5. */
export function formatValue(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** A finite number, or null (unknown: absent, or NaN that JSON wrote as null in the state file). */
function known(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
