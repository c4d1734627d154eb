// Domain types shared by every layer. core/ imports nothing outside core/ (no I/O, no tfjs), so these are
// plain data shapes.

/** One stream: an asset with an ordered list of channels. Channel order is the model's input order. */
export interface StreamSpec {
  readonly id: string;
  readonly channels: readonly string[];
}

/**
 * One multichannel sample. `values[i]` belongs to channel i of the stream; NaN marks a missing value
 * (a channel that did not report in this sample).
 */
export interface Sample {
  /** Sample time, milliseconds since the Unix epoch. */
  readonly ts: number;
  readonly values: ArrayLike<number>;
}

/** A complete-enough window ready to be scaled and scored. */
export interface Window {
  readonly stream: string;
  /** Time of the first and last sample in the window (ms). The end time is the window's identity. */
  readonly start: number;
  readonly end: number;
  /** Number of time steps and channels. */
  readonly size: number;
  readonly channels: number;
  /**
   * Raw (unscaled) values, time-major interleaved: index t * channels + c. Missing values have been filled
   * (carried forward/backward) so the array holds no NaN; `completeness` says how much was real.
   */
  readonly values: Float32Array;
  /** Fraction of values in the window that were observed rather than filled, in [0, 1]. */
  readonly completeness: number;
  /**
   * The stream's latest event interval over its recent median at the window's end (core/rhythm.ts): < 1 the
   * event came early. Absent where the stream's rhythm is not tracked.
   */
  readonly prematurity?: number;
}

/** A window that could not be scored: reported, never treated as normal or anomalous. */
export interface InsufficientWindow {
  readonly stream: string;
  readonly start: number;
  readonly end: number;
  readonly completeness: number;
  readonly reason: 'low_completeness';
}

export type WindowEvent =
  | { readonly kind: 'window'; readonly window: Window }
  | { readonly kind: 'insufficient'; readonly window: InsufficientWindow };

/** Reconstruction error of one window and each channel's share of it (shares sum to 1). */
export interface WindowScore {
  readonly score: number;
  readonly channelShares: Float32Array;
  /** The model's output for the window (scaled, transformed units, laid out like the input), where it was asked for. */
  readonly reconstruction?: Float32Array;
}
