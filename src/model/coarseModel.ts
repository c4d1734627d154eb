// The coarse time scale's model (calibration.likelihood.coarse_pool): an autoencoder (or ensemble) of the main
// model's shape trained on the stream mean-pooled by `pool` samples. See model/coarseScale.ts for how its scores
// join the likelihood.
import { findPeriod, poolSpanningPeriod } from '../core/period';
import { pooledWindows } from '../core/pooledSteps';
import { trainEnsemble } from './ensemble';
import type { DetectorSpec, TrainedDetector } from './fitDetector';

/** Fewer pooled windows than this teach a coarse model nothing reliable: the stream then has the main scale only. */
export const MIN_COARSE_WINDOWS = 64;

/**
 * How the pool is chosen: `pool` as configured, or (`fromPeriod`, calibration.likelihood.coarse_period) the
 * pool whose coarse window spans the learning steps' own period when it is longer than the window (core/period.ts),
 * `pool` when there is none.
 */
export interface CoarsePoolChoice {
  readonly pool: number;
  readonly fromPeriod?: boolean;
}

/** The pool the coarse model of these learning steps uses (see CoarsePoolChoice). */
export function chooseCoarsePool(choice: CoarsePoolChoice, steps: ArrayLike<number>, channels: number, size: number): number {
  if (!choice.fromPeriod) return choice.pool;
  return poolSpanningPeriod(findPeriod(steps, channels)?.steps, size, choice.pool);
}

/**
 * Trains the coarse-scale detector (an ensemble of `ensemble` networks, as the main model is) from consecutive
 * learning steps (time-major, the stream's channels per step), or returns undefined when they hold fewer than
 * MIN_COARSE_WINDOWS pooled windows (at the configured pool too, when the period asked for another). The
 * detector's manifest records its pool, so the stream's filter pools its view as the model learned it.
 */
export async function trainCoarseDetector(
  spec: DetectorSpec,
  choice: number | CoarsePoolChoice,
  times: ArrayLike<number>,
  steps: ArrayLike<number>,
  ensemble = 1,
): Promise<TrainedDetector | undefined> {
  const channels = spec.stream.channels.length;
  const configured = typeof choice === 'number' ? { pool: choice } : choice;
  const chosen = chooseCoarsePool(configured, steps, channels, spec.window.size);
  for (const pool of chosen === configured.pool ? [chosen] : [chosen, configured.pool]) {
    const windows = pooledWindows(spec.stream.id, times, steps, channels, pool, spec.window.size);
    if (windows.length < MIN_COARSE_WINDOWS) continue;
    return trainEnsemble(windows, { ...spec, name: `${spec.name}/coarse`, pool }, ensemble);
  }
  return undefined;
}
