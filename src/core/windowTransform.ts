// Transforms applied to a raw window before scaling, so the autoencoder models the window's shape rather than
// its absolute level. A frozen model trained on a short stretch of a drifting signal (a new load level, a
// seasonal trend) otherwise sees every later window as out of range and clips it, and the error stays high
// for as long as the drift lasts; a change *within* the window (a step, a spike, a changed rhythm) is what
// should score high.
// - none:   the raw values.
// - demean: each channel minus its mean over the window (level-invariant, keeps amplitude and shape).
// - diff:   first differences per channel (the first step repeats the second), which removes level and
//           linear trend and turns a step into a spike.
// A transform can also be chosen per channel (a list, one entry per channel). `auto` in configuration makes
// that choice from the learning windows (chooseChannelTransforms): a channel whose level already wanders
// while the plant is normal keeps only its shape, a channel whose level is steady keeps its level, so that a
// lasting level shift there (a valve closing, a flow dropping) still reads as an anomaly.
// A demeaned channel may also carry level bounds (learntLevelBounds): the window mean it subtracts is held within
// the range its learning windows' means took, widened by a tolerance, so a drift like the learnt one stays
// invisible while a level far outside anything learnt (a vibration tripling) remains in the window as an offset
// and scores, instead of vanishing one window after the step.

export type WindowTransform = 'none' | 'demean' | 'diff';

export const WINDOW_TRANSFORMS: readonly WindowTransform[] = ['none', 'demean', 'diff'];

/** One transform for every channel, or one per channel (as chosen by `auto` and stored in a manifest). */
export type ChannelTransforms = WindowTransform | readonly WindowTransform[];

/**
 * Level wander above which `auto` demeans a channel: the spread (standard deviation) of the channel's window
 * means across the learning windows, in units of its typical within-window standard deviation. A steady level
 * with noise gives about 1/sqrt(window size) (0.25 for 16 samples); at 1 the level moves between windows by
 * more than the sample-to-sample noise, i.e. the level is not a property of normal operation that a window
 * can be judged by.
 */
export const AUTO_WANDER_LIMIT = 1;

/**
 * Per channel, the range [low, high] within which a demeaned channel's window mean is subtracted; the part of the
 * mean beyond it stays in the window. null for a channel without bounds (any other transform, or none learnt).
 */
export type LevelBounds = readonly (readonly [number, number] | null)[];

/** The level a demeaned channel subtracts: its window mean, held within the channel's bounds when it has any. */
export function heldLevel(mean: number, c: number, bounds: LevelBounds | undefined): number {
  const b = bounds?.[c];
  return b ? Math.min(b[1], Math.max(b[0], mean)) : mean;
}

/** Whether the transform changes anything (so the caller may skip the copy). */
export function isIdentity(kind: ChannelTransforms): boolean {
  return typeof kind === 'string' ? kind === 'none' : kind.every((k) => k === 'none');
}

/** Writes the transformed window (time-major interleaved, `channels` per step) into `out` (same length). */
export function transformWindow(kind: ChannelTransforms, values: ArrayLike<number>, channels: number, out: Float32Array, bounds?: LevelBounds): void {
  const steps = values.length / channels;
  if (!Number.isInteger(steps) || out.length !== values.length) {
    throw new RangeError(`transformWindow: ${values.length} values are not ${channels}-channel steps matching the output (${out.length})`);
  }
  if (typeof kind !== 'string' && kind.length !== channels) {
    throw new RangeError(`transformWindow: ${kind.length} per-channel transforms for ${channels} channels`);
  }
  for (let c = 0; c < channels; c++) transformChannel(typeof kind === 'string' ? kind : kind[c], values, c, channels, steps, out, bounds);
}

function transformChannel(kind: WindowTransform, values: ArrayLike<number>, c: number, channels: number, steps: number, out: Float32Array, bounds?: LevelBounds): void {
  switch (kind) {
    case 'none':
      for (let t = 0; t < steps; t++) out[t * channels + c] = values[t * channels + c];
      return;
    case 'demean': {
      let sum = 0;
      for (let t = 0; t < steps; t++) sum += values[t * channels + c];
      const level = heldLevel(sum / steps, c, bounds);
      for (let t = 0; t < steps; t++) out[t * channels + c] = values[t * channels + c] - level;
      return;
    }
    case 'diff':
      for (let t = 1; t < steps; t++) out[t * channels + c] = values[t * channels + c] - values[(t - 1) * channels + c];
      out[c] = steps > 1 ? out[channels + c] : 0;
      return;
  }
}

/** Transforms many windows laid end to end (`size` steps each). */
export function transformWindows(kind: ChannelTransforms, values: Float32Array, channels: number, size: number): Float32Array {
  if (isIdentity(kind)) return values;
  const d = size * channels;
  const out = new Float32Array(values.length);
  for (let off = 0; off < values.length; off += d) transformWindow(kind, values.subarray(off, off + d), channels, out.subarray(off, off + d));
  return out;
}

/**
 * Level bounds of the demeaned channels from raw learning windows laid end to end (`size` steps each): the
 * lowest and highest window mean, each widened by `tolerance` times their distance. Their distance is how far the
 * level wandered while the plant was normal, so the tolerance says how many times that much further a later
 * drift may go before its excess counts. Undefined when no channel is demeaned.
 */
export function learntLevelBounds(kind: ChannelTransforms, values: ArrayLike<number>, channels: number, size: number, tolerance: number): LevelBounds | undefined {
  if (!(tolerance >= 0)) throw new RangeError(`learntLevelBounds: tolerance must be >= 0 (got ${tolerance})`);
  const d = size * channels;
  const n = Math.floor(values.length / d);
  if (n === 0 || values.length !== n * d) throw new RangeError(`learntLevelBounds: ${values.length} values are not whole windows of ${size} x ${channels}`);
  const demeaned = (c: number): boolean => (typeof kind === 'string' ? kind : kind[c]) === 'demean';
  if (!Array.from({ length: channels }, (_, c) => demeaned(c)).some(Boolean)) return undefined;
  return Array.from({ length: channels }, (_, c) => {
    if (!demeaned(c)) return null;
    let low = Infinity;
    let high = -Infinity;
    for (let w = 0; w < n; w++) {
      let s = 0;
      for (let t = 0; t < size; t++) s += values[w * d + t * channels + c];
      const m = s / size;
      low = Math.min(low, m);
      high = Math.max(high, m);
    }
    const spread = (high - low) * tolerance;
    return [low - spread, high + spread] as const;
  });
}

/**
 * The `auto` choice from raw learning windows laid end to end (`size` steps each): 'demean' for a channel
 * whose window means spread by more than `wanderLimit` times its mean within-window standard deviation,
 * 'none' otherwise. A channel with no within-window variation at all keeps its level (nothing to compare).
 */
export function chooseChannelTransforms(values: ArrayLike<number>, channels: number, size: number, wanderLimit = AUTO_WANDER_LIMIT): WindowTransform[] {
  const d = size * channels;
  const n = Math.floor(values.length / d);
  if (n === 0 || values.length !== n * d) throw new RangeError(`chooseChannelTransforms: ${values.length} values are not whole windows of ${size} x ${channels}`);
  return Array.from({ length: channels }, (_, c) => (levelWander(values, c, channels, size, n) > wanderLimit ? 'demean' : 'none'));
}

/** Standard deviation of a channel's window means over the RMS of its within-window standard deviations. */
export function levelWander(values: ArrayLike<number>, c: number, channels: number, size: number, windows: number): number {
  const d = size * channels;
  let sumMean = 0;
  let sumMeanSq = 0;
  let sumVar = 0;
  for (let w = 0; w < windows; w++) {
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < size; t++) {
      const v = values[w * d + t * channels + c];
      s += v;
      s2 += v * v;
    }
    const m = s / size;
    sumMean += m;
    sumMeanSq += m * m;
    sumVar += Math.max(0, s2 / size - m * m);
  }
  const meanOfMeans = sumMean / windows;
  const between = Math.max(0, sumMeanSq / windows - meanOfMeans * meanOfMeans);
  const within = sumVar / windows;
  if (!(within > 0)) return 0;
  return Math.sqrt(between / within);
}
