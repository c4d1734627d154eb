// The detector run of `evaluate nab`: each file is learned from its probationary period only (train and
// calibrate on the first min(15% of rows, 750) rows), then the whole file is streamed through the daemon's
// pipeline with a fake clock. One anomaly score in [0, 1] per row, causal: the score of the window that ends
// at that row (0 before the first window). The daemon's own decisions are its alert starts.
import type { DetectionConfig } from '../config/schema';
import { windowsFromSeries } from '../core/window';
import type { Window } from '../core/types';
import { trainDetector } from '../model/fitDetector';
import { alertSettings, benchmarkDetectorSpec, newScoreFilter } from './detectionSetup';
import type { NabSeries } from './nabData';
import { probationaryRows } from './nabScorer';
import { monotoneTimes, replayThroughPipeline } from './streamReplay';
import { windowOptions } from '../app/detection';

export interface NabFileRun {
  /** Anomaly score per row in [0, 1]. */
  readonly scores: Float64Array;
  /** 1 at rows where the daemon started an alert (its own detections). */
  readonly alertStarts: Uint8Array;
  readonly trainWindows: number;
  readonly threshold: number;
}

export interface NabRunContext {
  readonly detection: DetectionConfig;
  readonly backend: string;
  readonly version: string;
  readonly onEpoch?: (epoch: number, epochs: number) => void;
}

export async function runNabFile(series: NabSeries, ctx: NabRunContext): Promise<NabFileRun> {
  const rows = series.values.length;
  const probation = probationaryRows(rows);
  const times = monotoneTimes(series.timestamps);
  const values = Float32Array.from(series.values);
  const stream = { id: series.key, channels: ['value'] };
  const window = windowOptions(ctx.detection.window);
  const train: Window[] = [];
  for (const e of windowsFromSeries(stream, times.subarray(0, probation), values.subarray(0, probation), window)) {
    if (e.kind === 'window') train.push(e.window);
  }
  const spec = benchmarkDetectorSpec(ctx.detection, series.key, stream, ctx.backend, ctx.version);
  const { detector } = await trainDetector(train, spec, (e) => ctx.onEpoch?.(e.epoch, e.epochs));
  try {
    const filter = newScoreFilter(ctx.detection.calibration);
    const replay = replayThroughPipeline(detector, {
      stream,
      times,
      values,
      window,
      alerting: alertSettings(ctx.detection.alerting),
      ...(filter ? { scoreFilter: filter } : {}),
    });
    const scores = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const s = replay.score[r];
      if (Number.isNaN(s)) continue;
      // A likelihood filter already gives [0, 1]; the raw reconstruction error is mapped through its tail
      // probability on clean data (1 - p), which is what the calibrated threshold also measures.
      scores[r] = filter ? s : 1 - replay.pValue[r];
    }
    return { scores, alertStarts: replay.alertStarts, trainWindows: train.length, threshold: detector.threshold };
  } finally {
    detector.dispose();
  }
}
