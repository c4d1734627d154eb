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
import { CoarseScaleFilter } from '../model/coarseScale';

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
  const { detector } = await trainEnsemble(train, spec, ensemble, (e) => ctx.onEpoch?.(e.epoch, e.epochs));
  let coarse: Detector | undefined;
  try {
    const pool = ctx.detection.calibration.likelihood.coarse_pool;
    let filter = newScoreFilter(ctx.detection.calibration, () => detector.manifest.calibration);
    // The coarse scale joins the likelihood only (SPOT judges the model's own score).
    if (filter && pool >= 2 && scoreFilterKind(ctx.detection.calibration) === 'likelihood') {
      coarse = (await trainCoarseDetector(spec, pool, times.subarray(0, trainRows), values.subarray(0, trainRows * channels), ensemble))?.detector;
      const found = coarse;
      if (found) filter = new CoarseScaleFilter(filter, () => found, { stream: stream.id, pool, size: window.size, hop: window.hop, channels });
    }
    const replay = replayThroughPipeline(detector, {
      stream,
      times,
      values,
      window,
      alerting: alertSettings(ctx.detection.alerting),
      ...(filter ? { scoreFilter: filter } : {}),
    });
    return { ...replay, trainWindows: train.length, calibratedThreshold: detector.threshold, filtered: scoreFilterKind(ctx.detection.calibration) === 'likelihood', coarse: coarse !== undefined };
  } finally {
    detector.dispose();
    coarse?.dispose();
  }
}
