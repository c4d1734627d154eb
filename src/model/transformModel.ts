// The transformed scale's model (calibration.likelihood.transform_scale): an ensemble of the main model's shape
// learning the same windows through another input transform. See model/transformScale.ts for how its scores
// join the likelihood.
import type { WindowTransform } from '../core/windowTransform';
import type { Window } from '../core/types';
import { trainEnsemble } from './ensemble';
import type { DetectorSpec, TrainedDetector } from './fitDetector';

/** Trains the transformed-scale detector (`ensemble` networks, as the main model) on the main model's learning windows. */
export async function trainTransformDetector(spec: DetectorSpec, transform: Exclude<WindowTransform, 'none'>, windows: readonly Window[], ensemble = 1): Promise<TrainedDetector> {
  return trainEnsemble(windows, { ...spec, name: `${spec.name}/transform`, transform }, ensemble);
}
