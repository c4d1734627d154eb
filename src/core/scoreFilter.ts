// Per-stream post-processing of window scores. The autoencoder's reconstruction error says how unlike the
// clean training data a window is; on a stream that drifts (a new load level, a seasonal change) that error
// stays high for hours and every window would page. A score filter turns the error into a judgement about
// the stream's own recent history, as HTM's anomaly likelihood does (Ahmad et al., Neurocomputing 2017).
//
// Interfaces here (and where the extra scales sit in an observation); the filters live in their own files.
import type { DspotState } from './dspot';

/** One scored window as the filter sees it (and returns it). */
export interface ScoreObservation {
  /** Window end (ms). */
  readonly time: number;
  readonly score: number;
  readonly threshold: number;
  readonly pValue: number;
  readonly anomalous: boolean;
  /**
   * The window's raw values, for filters that judge the input as well as the score (range novelty). The
   * pipeline passes them in; filters return observations without.
   */
  readonly window?: WindowValues;
  /**
   * Raw scores of the same window from models of other scales, at their SCALE_SLOT (NaN: none for this window). Filters that
   * know scales judge each against its own history; others ignore them. Filters return observations without.
   */
  readonly otherScales?: readonly number[];
  /**
   * False: judge this window but learn nothing from it (a maintenance window covers the stream: a planned stop
   * must not become what the stream's normal looks like). Filters return observations without.
   */
  readonly learn?: boolean;
}

/** Raw window values, time-major with `channels` values per step (NaN = missing). */
export interface WindowValues {
  readonly values: ArrayLike<number>;
  readonly channels: number;
}

/** Stateful: one instance per stream, fed that stream's windows in time order. */
export interface StreamScoreFilter {
  filter(o: ScoreObservation): ScoreObservation;
  /**
   * Values the stream is known to have shown (per channel, e.g. a learned model's training range) join the seen
   * range of a range check, so it does not start from nothing (after a restart). Filters without one ignore it.
   */
  seedRange?(lo: readonly number[], hi: readonly number[]): void;
  /**
   * The filter's state, to be checkpointed with the stream (state/filterCheckpoint.ts): a restarted daemon that
   * started it afresh judged the rest of an excursion it had already reported against the learning range alone
   * (a new page) and, learning again, scored the windows after it 0 (a resolve while the fault went on).
   */
  snapshot?(): ScoreFilterState | undefined;
  /** Changes with every change of what snapshot() returns (a checkpoint encodes changed filters only). */
  readonly revision?: number;
  /** Continues from a snapshot (of a filter of possibly other settings: what fits is taken, see the filter). */
  restore?(state: ScoreFilterState): void;
  /**
   * Where the filter stands now, taken with a snapshot or a delta that a checkpoint writes: the next checkpoint
   * asks changesSince(mark) for what to append instead of the whole state again (state/filterCheckpoint.ts).
   * Undefined (or no method): the filter gives no deltas, and every checkpoint after a change writes it whole.
   */
  mark?(): ScoreFilterMark | undefined;
  /**
   * What changed since `mark` (one this filter's mark() returned), or undefined when no delta spans it (the
   * filter was restored since): the checkpoint then writes the whole snapshot.
   */
  changesSince?(mark: ScoreFilterMark): ScoreFilterDelta | undefined;
}

/** What a stateful score filter carries across a restart (filters of one kind: the anomaly likelihood's). */
export interface ScoreFilterState {
  /** Windows since the last detection; null: none since the filter started. */
  readonly sinceDetection: number | null;
  /** The range check's seen range per channel; absent: no range check, or it has seen nothing. */
  readonly range?: { readonly lo: Float64Array; readonly hi: Float64Array };
  /**
   * Per time scale (0 = the model's own, then other scales in order): raw scores, oldest first, and the running
   * sums over them as they were ([history sum, sum of squares, recent sum, pushes]: summed again in another order
   * they differ in the last bits, and a restored filter would not reproduce its p-values exactly).
   */
  readonly scales: readonly { readonly history: Float64Array; readonly recent: Float64Array; readonly sums?: Float64Array }[];
  /**
   * Present for a SPOT filter's state (core/spotFilter.ts; sinceDetection is then null and scales empty): its
   * whole state, which a checkpoint writes as a record of its own. A filter of the other kind refuses it.
   */
  readonly spot?: SpotFilterState;
}

/** A SPOT/DSPOT filter's state: what it learned, and the calibration tail it started from. */
export interface SpotFilterState {
  /** The model tail it started from: u, sigma, xi, n, nExceed (a model calibrated since makes it start afresh). */
  readonly origin: Float64Array;
  readonly dspot: DspotState;
}

/** A filter's position as its mark() took it; read by the filter that made it only. */
export interface ScoreFilterMark {
  /** The filter's restores so far: a restore replaces every history, and no delta spans one. */
  readonly restores: number;
  /** Per time scale, the scores pushed to its history so far (since the scale was made). */
  readonly pushed: readonly number[];
  /** The seen range then (copies), to tell whether it changed; absent: none. */
  readonly range?: { readonly lo: Float64Array; readonly hi: Float64Array };
}

/**
 * A filter's state relative to its state at a mark: applied to that state's snapshot (as state/filterCheckpoint.ts
 * reads a checkpoint back) it gives exactly the snapshot of now. Per scale, the scores pushed since and the few
 * numbers that are not scores; the recent scores are the newest scores pushed, so usually only their count.
 */
export interface ScoreFilterDelta {
  /** As in ScoreFilterState. */
  readonly sinceDetection: number | null;
  /** The seen range, when it changed since the mark; absent: as it was. */
  readonly range?: { readonly lo: Float64Array; readonly hi: Float64Array };
  /** Every scale of now (a scale the mark did not have starts empty). */
  readonly scales: readonly ScoreScaleDelta[];
}

export interface ScoreScaleDelta {
  /**
   * Scores pushed to the history since the mark, oldest first: all of them, or (more were pushed than the
   * history holds) the newest `historyLength`, which then make up the whole history.
   */
  readonly appended: Float64Array;
  /** Scores in the history now: the newest `historyLength` of the marked history followed by `appended`. */
  readonly historyLength: number;
  /**
   * The recent scores now: a count, meaning the newest that many of the marked recent scores followed by
   * `appended` (every score pushed joins both), or the scores themselves (oldest first) when `appended` holds
   * neither every score pushed since the mark nor as many as the count.
   */
  readonly recent: number | Float64Array;
  /** As in ScoreFilterState (running sums, pushes). */
  readonly sums?: Float64Array;
}

/**
 * Where each extra scale's raw score sits in ScoreObservation.otherScales: fixed, so a scale keeps its history
 * (scale index slot + 1 in the filter's state) whichever others a stream has or has yet to hear from.
 */
export const SCALE_SLOT = { coarse: 0, transform: 1 } as const;

/** `scales` with `raw` at `slot` (NaN where a slot has no score for this window). */
export function withScale(scales: readonly number[] | undefined, slot: number, raw: number): number[] {
  const out = scales ? [...scales] : [];
  while (out.length <= slot) out.push(Number.NaN);
  out[slot] = raw;
  return out;
}
