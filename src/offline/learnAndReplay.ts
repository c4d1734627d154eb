// What every evaluate command does with one recording: learn a detector from its first rows (train and
// calibrate, as the daemon's auto-learning does from a stream's first windows), then stream the whole
// recording through the daemon's pipeline with a fake clock. Training rows are streamed too, so the windows,
// the score filter's history and the alert state are warm when the tested rows arrive, as they would be live.
import { alertSettings, detectorSpec, newScoreFilter, scoreFilterKind, streamWindowOptions } from '../app/detection';
import type { DetectionConfig } from '../config/schema';
import type { StreamSpec, Window } from '../core/types';
import { windowsFromSeries } from '../core/window';
import { trainEnsemble } from '../model/ensemble';
import type { Detector } from '../model/detector';
import { trainCoarseDetector } from '../model/coarseModel';
import { trainTransformDetector } from '../model/transformModel';
import { withScales } from '../app/scaleFilters';
import { findPeriod } from '../core/period';

import { replayThroughPipeline, type ReplayOutput } from './streamReplay';

export interface LearnContext {
  readonly detection: DetectionConfig;
  readonly backend: string;
  readonly version: string;
  readonly onEpoch?: (epoch: number, epochs: number) => void;
}

export interface LearnedReplay extends ReplayOutput {
  readonly trainWindows: number;
  /** The detector's calibrated threshold on its own scores. */
  readonly calibratedThreshold: number;
  /** True when a score filter (anomaly likelihood) produced the scores (SPOT moves the threshold, not the scores). */
  readonly filtered: boolean;
  /** True when a coarse-scale model joined the score filter (calibration.likelihood.coarse_pool). */
  readonly coarse: boolean;
  /** True when a transformed-scale model joined the score filter (calibration.likelihood.transform_scale). */
  readonly transformed: boolean;
}

/**
 * `times` must increase (see monotoneTimes); `values` is rows x channels, row-major. The first `trainRows`
 * rows are the only data the detector learns from.
 */
export async function learnAndReplay(
  stream: StreamSpec,
  times: Float64Array,
  values: Float32Array,
  trainRows: number,
  ctx: LearnContext,
): Promise<LearnedReplay> {
  const channels = stream.channels.length;
  const window = streamWindowOptions(ctx.detection, stream.channels);
  const train: Window[] = [];
  for (const e of windowsFromSeries(stream, times.subarray(0, trainRows), values.subarray(0, trainRows * channels), window)) {
    if (e.kind === 'window') train.push(e.window);
  }
  const spec = detectorSpec(ctx.detection, stream.id, stream, ctx.backend, ctx.version);
  const ensemble = ctx.detection.training.ensemble;
  const likelihood = ctx.detection.calibration.likelihood;
  // The period belongs to the stream's own model (the filter reads it there), not to its other scales'.
  const period = likelihood.enabled && likelihood.period_baseline ? findPeriod(values.subarray(0, trainRows * channels), channels)?.steps : undefined;
  const mainSpec = period !== undefined ? { ...spec, period } : spec;
  const { detector } = await trainEnsemble(train, mainSpec, ensemble, (e) => ctx.onEpoch?.(e.epoch, e.epochs));
  let coarse: Detector | undefined;
  let transformed: Detector | undefined;
  try {
    const { coarse_pool: pool, coarse_period: fromPeriod, transform_scale: transformScale } = likelihood;
    const base = newScoreFilter(ctx.detection.calibration, () => detector.manifest.calibration);
    // The extra scales join the likelihood only (SPOT judges the model's own score): learned only for it.
    if (base && scoreFilterKind(ctx.detection.calibration) === 'likelihood') {
      if (transformScale !== 'none') transformed = (await trainTransformDetector(spec, transformScale, train, ensemble)).detector;
      if (pool >= 2) coarse = (await trainCoarseDetector(spec, { pool, fromPeriod }, times.subarray(0, trainRows), values.subarray(0, trainRows * channels), ensemble))?.detector;
    }
    const scales = { ...(coarse ? { coarse } : {}), ...(transformed ? { transformed } : {}), ...(period !== undefined ? { period } : {}) };
    const filter = withScales(base, ctx.detection, () => scales, { stream: stream.id, channels, size: window.size, hop: window.hop });
    const replay = replayThroughPipeline(detector, {
      stream,
      times,
      values,
      window,
      alerting: alertSettings(ctx.detection.alerting),
      ...(filter ? { scoreFilter: filter } : {}),
    });
    return { ...replay, trainWindows: train.length, calibratedThreshold: detector.threshold, filtered: scoreFilterKind(ctx.detection.calibration) === 'likelihood', coarse: coarse !== undefined, transformed: transformed !== undefined };
  } finally {
    detector.dispose();
    coarse?.dispose();
    transformed?.dispose();
  }
}
