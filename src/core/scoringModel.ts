// A loaded model as the pipeline sees it: it scores windows and, for an alert, reads a window's channels against
// what the model expected. model/detector.ts implements it; the pipeline takes this interface so that it depends
// on core alone and a test can hand it any scorer.
import type { ChannelReading } from './alert';
import type { Window } from './types';
import type { Calibration } from './calibration';
import type { RhythmSettings } from './rhythm';

export interface ScoredWindow {
  readonly stream: string;
  readonly start: number;
  readonly end: number;
  readonly score: number;
  /** NaN when the model is not calibrated yet. */
  readonly threshold: number;
  /** P(score >= this score) on clean data; NaN when not calibrated. */
  readonly pValue: number;
  readonly anomalous: boolean;
  readonly completeness: number;
  readonly channelShares: Float32Array;
  /**
   * Where asked for (score's `withExpected`): every value of the window as the model expected it, in the channels'
   * own units (the reconstruction un-scaled, the window transform undone), laid out like the window's values.
   */
  readonly expected?: Float32Array;
  /** With `expected`: each channel's tolerance around it, own units (core/expectation.ts); NaN where it has none. */
  readonly tolerance?: Float32Array;
}

/** The channel readings of one window (observed against expected), computed when a channel is first asked for. */
export interface WindowReadingsOf {
  /** Channel `c` (the model's channel order), or undefined when it cannot be computed. */
  of(c: number): ChannelReading | undefined;
}

/** What the pipeline reads of a model's manifest: the shape of the window it takes (error messages), its calibration and rhythm. */
export interface ModelShape {
  readonly architecture: { readonly inputSize: number };
  readonly window: { readonly size: number };
  readonly channels: readonly string[];
  /** The threshold calibration (null: not calibrated); a SPOT score filter starts from its tail. */
  readonly calibration?: Calibration | null;
  /**
   * The rhythm the model joins to its scores (absent: none): the windows it scores must carry the prematurity of a
   * tracker of these settings, so the pipeline has the stream's window buffer track them while it is in charge.
   */
  readonly rhythm?: RhythmSettings;
}

export interface ScoringModel {
  /** The model's folder (named in messages). */
  readonly dir: string;
  readonly manifest: ModelShape;
  /** `withExpected`: each scored window also carries what the model expected of it (same forward pass). */
  score(windows: readonly Window[], withExpected?: boolean): ScoredWindow[];
  /** The readings of `window`, a window this model scored; a forward pass of its own, paid on first use. */
  readings(window: Window): WindowReadingsOf;
}
