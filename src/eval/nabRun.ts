// The detector run of `evaluate nab`: each file is learned from its probationary period only (train and
// calibrate on the first min(15% of rows, 750) rows), then streamed through the daemon's pipeline. One anomaly
// score in [0, 1] per row, causal: the score of the window that ends at that row (0 before the first window).
// The daemon's own decisions are its alert starts.
import { learnAndReplay, type LearnContext } from '../offline/learnAndReplay';
import type { NabSeries } from './nabData';
import { probationaryRows } from './nabScorer';
import { monotoneTimes } from '../offline/streamReplay';

export interface NabFileRun {
  /** Anomaly score per row in [0, 1]. */
  readonly scores: Float64Array;
  /** 1 at rows where the daemon started an alert (its own detections). */
  readonly alertStarts: Uint8Array;
  readonly trainWindows: number;
}

export async function runNabFile(series: NabSeries, ctx: LearnContext): Promise<NabFileRun> {
  const rows = series.values.length;
  const replay = await learnAndReplay(
    { id: series.key, channels: ['value'] },
    monotoneTimes(series.timestamps),
    Float32Array.from(series.values),
    probationaryRows(rows),
    ctx,
  );
  const scores = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    if (Number.isNaN(replay.score[r])) continue;
    // The likelihood filter already scores in [0, 1]; a raw reconstruction error is mapped through its tail
    // probability on clean data (1 - p), the scale the calibrated threshold is set on.
    scores[r] = replay.filtered ? replay.score[r] : 1 - replay.pValue[r];
  }
  return { scores, alertStarts: replay.alertStarts, trainWindows: replay.trainWindows };
}
