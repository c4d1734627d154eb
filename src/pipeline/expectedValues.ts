// What the model expected of a scored window, in the two forms a stream may write beside its score (docs/design.md,
// "Expected values"): the expected value of each channel at the window's last sample, with that sample's reading and
// the channel's tolerance (ScorePoint.expected, observed, tolerance), and, where the stream publishes its denoised
// signal, the expected value of every sample the window is the first to cover (ScorePoint.denoised).
import type { ScoredWindow } from '../core/scoringModel';
import type { DenoisedSample, ScorePoint } from '../core/sink';
import type { Window } from '../core/types';
import { shareRecord } from './channelShares';

/** What a stream writes of the model's expectation (defaults.expected after its overrides). */
export interface ExpectedOutput {
  /** Expected values beside every score (anomaly_expected). */
  readonly values: boolean;
  /** The denoised signal, every sample (anomaly_denoised). */
  readonly denoised: boolean;
}

type ExpectedFields = Pick<ScorePoint, 'expected' | 'observed' | 'tolerance'>;

/**
 * The expected value, reading and tolerance of each channel at the window's last sample: the sample whose time is
 * the point's, the reading a dashboard shows as the latest. A tolerance the model has no figure for (NaN) is left out.
 */
export function expectedFields(channels: readonly string[], window: Window, expected: Float32Array, tolerance: Float32Array | undefined): ExpectedFields {
  const last = (window.size - 1) * channels.length;
  const fields: ExpectedFields = {
    expected: shareRecord(channels, expected.subarray(last, last + channels.length)),
    observed: shareRecord(channels, window.values.subarray(last, last + channels.length)),
  };
  return tolerance && tolerance.every(Number.isFinite) ? { ...fields, tolerance: shareRecord(channels, tolerance) } : fields;
}

/**
 * The denoised samples of a window later than `after` (the last time the stream published), oldest first. Each
 * sample is published once, by the first window that covers it (at its end, the `hop` newest samples; after a
 * restart, a gap or at the start, the whole window), so the signal goes out as soon as its window is scored and
 * the sample at the window's end carries the same value as the window's expected value. The window keeps no
 * sample times: its steps are spread evenly from its first to its last sample, exact for a stream sampled at a
 * steady rate (and for gap-filled windows, whose steps are one sample period apart).
 */
export function denoisedSamples(channels: readonly string[], window: Window, expected: Float32Array, after: number): DenoisedSample[] {
  const out: DenoisedSample[] = [];
  const { size, start, end } = window;
  const c = channels.length;
  for (let t = 0; t < size; t++) {
    const time = size === 1 ? end : Math.round(start + ((end - start) * t) / (size - 1));
    if (time > after) out.push({ time, values: shareRecord(channels, expected.subarray(t * c, (t + 1) * c)) });
  }
  return out;
}

/** Whether a scored window carries expectations the stream writes. */
export function writesExpected(output: ExpectedOutput | undefined, s: ScoredWindow): s is ScoredWindow & { expected: Float32Array } {
  return output !== undefined && s.expected !== undefined;
}
