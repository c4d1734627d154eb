// What went wrong when a batch of windows could not be scored, in the operator's terms: the windows do not have
// the model's shape (a stream cut differently from the model's window, or with other channels), they scored
// NaN or Infinity, or the inference engine itself failed. The model itself loaded; saying "cannot
// load model" here would send the operator to the wrong place.
import type { ScoringFailure } from '../core/context';
import { errorMessage } from '../core/errors';
import type { ScoringModel } from '../core/scoringModel';
import type { Window } from '../core/types';

/** Classifies an error thrown by ScoringModel.score for `windows`. */
export function scoringFailure(err: unknown, windows: readonly Window[], detector: ScoringModel): { kind: ScoringFailure; detail: string } {
  const message = errorMessage(err);
  const d = detector.manifest.architecture.inputSize;
  const misfit = windows.find((w) => w.values.length !== d);
  if (misfit) {
    const m = detector.manifest;
    return {
      kind: 'shape',
      detail:
        `the window of stream '${misfit.stream}' has ${misfit.values.length} values, the model takes ${d} ` +
        `(window.size ${m.window.size} x ${m.channels.length} channels, ${detector.dir}/manifest.json)`,
    };
  }
  return { kind: 'engine', detail: `the inference engine failed: ${message}` };
}

/**
 * The detail of windows whose score came out non-finite although the call succeeded. NaN in a window is a
 * missing step (a bridged gap) that scaling handles; an infinite value is not.
 */
export function nonFiniteScores(windows: readonly Window[]): string {
  const streams = [...new Set(windows.map((w) => w.stream))];
  const input = windows.some((w) => hasInfinity(w.values)) ? 'their input holds an infinite value' : 'their input is finite or missing steps, so the engine produced them';
  return `${windows.length} window(s) of stream(s) ${streams.map((s) => `'${s}'`).join(', ')} scored NaN or Infinity (${input})`;
}

function hasInfinity(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === Infinity || values[i] === -Infinity) return true;
  return false;
}
