// Transforms applied to a raw window before scaling, so the autoencoder models the window's shape rather than
// its absolute level. A frozen model trained on a short stretch of a drifting signal (a new load level, a
// seasonal trend) otherwise sees every later window as out of range and clips it, and the error stays high
// for as long as the drift lasts; a change *within* the window (a step, a spike, a changed rhythm) is what
// should score high.
// - none:   the raw values.
// - demean: each channel minus its mean over the window (level-invariant, keeps amplitude and shape).
// - diff:   first differences per channel (the first step repeats the second), which removes level and
//           linear trend and turns a step into a spike.

export type WindowTransform = 'none' | 'demean' | 'diff';

export const WINDOW_TRANSFORMS: readonly WindowTransform[] = ['none', 'demean', 'diff'];

/** Writes the transformed window (time-major interleaved, `channels` per step) into `out` (same length). */
export function transformWindow(kind: WindowTransform, values: ArrayLike<number>, channels: number, out: Float32Array): void {
  const steps = values.length / channels;
  if (!Number.isInteger(steps) || out.length !== values.length) {
    throw new RangeError(`transformWindow: ${values.length} values are not ${channels}-channel steps matching the output (${out.length})`);
  }
  switch (kind) {
    case 'none':
      for (let i = 0; i < values.length; i++) out[i] = values[i];
      return;
    case 'demean':
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let t = 0; t < steps; t++) sum += values[t * channels + c];
        const mean = sum / steps;
        for (let t = 0; t < steps; t++) out[t * channels + c] = values[t * channels + c] - mean;
      }
      return;
    case 'diff':
      for (let c = 0; c < channels; c++) {
        for (let t = 1; t < steps; t++) out[t * channels + c] = values[t * channels + c] - values[(t - 1) * channels + c];
        out[c] = steps > 1 ? out[channels + c] : 0;
      }
      return;
  }
}

/** Transforms many windows laid end to end (`size` steps each). */
export function transformWindows(kind: WindowTransform, values: Float32Array, channels: number, size: number): Float32Array {
  if (kind === 'none') return values;
  const d = size * channels;
  const out = new Float32Array(values.length);
  for (let off = 0; off < values.length; off += d) transformWindow(kind, values.subarray(off, off + d), channels, out.subarray(off, off + d));
  return out;
}
