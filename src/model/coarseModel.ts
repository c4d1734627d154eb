// The coarse time scale's model (calibration.likelihood.coarse_pool): an autoencoder (or ensemble) of the main
// model's shape trained on the stream mean-pooled by `pool` samples. See model/coarseScale.ts for how its scores
// join the likelihood.
import { pooledWindows } from '../core/pooledSteps';
import { trainEnsemble } from './ensemble';
import type { DetectorSpec, TrainedDetector } from './fitDetector';

/** Fewer pooled windows than this teach a coarse model nothing reliable: the stream then has the main scale only. */
export const MIN_COARSE_WINDOWS = 64;

/**
 * Trains the coarse-scale detector (an ensemble of `ensemble` networks, as the main model is) from consecutive
 * learning steps (time-major, the stream's channels per step), or returns undefined when they hold fewer than
 * MIN_COARSE_WINDOWS pooled windows.
 */
export async function trainCoarseDetector(
  spec: DetectorSpec,
  pool: number,
  times: ArrayLike<number>,
  steps: ArrayLike<number>,
  ensemble = 1,
): Promise<TrainedDetector | undefined> {
  const channels = spec.stream.channels.length;
  const windows = pooledWindows(spec.stream.id, times, steps, channels, pool, spec.window.size);
  if (windows.length < MIN_COARSE_WINDOWS) return undefined;
  return trainEnsemble(windows, { ...spec, name: `${spec.name}/coarse` }, ensemble);
}

