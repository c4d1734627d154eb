// Which rhythm a stream's window buffer tracks. A model with a rhythm joins each window's prematurity to its score
// with its own settings (model/detector.ts), so the windows it scores must come from a tracker of exactly those
// settings: the model in charge of the stream's windows decides, and that can change while the stream runs (a
// mode's own model, a reloaded or promoted version, a learned model that replaces none).
import { rhythmTrackerOptions, type RhythmOptions } from '../core/rhythm';
import type { ScoringModel } from '../core/scoringModel';
import type { WindowOptions } from '../core/window';

/**
 * The tracker options for the windows `detector` scores on a stream of `channels`: its manifest's rhythm, or none
 * when it has none. Without a detector (a model still to be learned from these windows) the stream's own
 * (`window.rhythm`): the model learned from them records those settings.
 */
export function rhythmInCharge(detector: ScoringModel | undefined, window: WindowOptions, channels: readonly string[]): RhythmOptions | undefined {
  if (!detector) return window.rhythm;
  const rhythm = detector.manifest.rhythm;
  return rhythm ? rhythmTrackerOptions(rhythm, channels) : undefined;
}
