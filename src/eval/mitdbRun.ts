// Beat-level judgement of a replayed MIT-BIH record: each annotated beat after the learning part takes the
// score of the first scored window that holds the beat and `lagSamples` after it, normalised by the threshold
// that window was compared with, so that > 1 is the daemon's own "anomalous" on every record. Each beat also
// carries its window's tail probability as -log10(p), the alternative scale for ranking beats across records
// (`evaluate mitdb --pool p-value`); with learning data full of ectopic beats it ranks worse than the ratio to
// a robust threshold (README, Detection quality).
import type { MitdbBeats, MitdbRecord } from './mitdb';
import { beatWindows, MITDB_SAMPLE_RATE_HZ } from './mitdb';
import type { ReplayOutput } from '../offline/streamReplay';

/** How long after its QRS a beat is judged: the earliest scored window that holds the beat and this much after it. */
export const BEAT_LAG_S = 0.25;

/** A record as a stream: sample times (ms from 0) and its two leads interleaved, as `evaluate mitdb` replays it. */
export function recordSeries(rec: MitdbRecord): { times: Float64Array; values: Float32Array } {
  const periodMs = 1000 / MITDB_SAMPLE_RATE_HZ;
  const times = new Float64Array(rec.samples);
  const values = new Float32Array(rec.samples * 2);
  for (let s = 0; s < rec.samples; s++) {
    times[s] = s * periodMs;
    values[2 * s] = rec.lead1[s];
    values[2 * s + 1] = rec.lead2[s];
  }
  return { times, values };
}

export function beatScores(
  replay: Pick<ReplayOutput, 'score' | 'threshold' | 'pValue'>,
  beats: MitdbBeats,
  learnSamples: number,
  lagSamples: number,
  windowSize: number,
): { scores: number[]; surprise: number[]; abnormal: boolean[] } {
  // Rows (samples) where a scored window ends, ascending.
  const ends: number[] = [];
  for (let r = 0; r < replay.score.length; r++) if (!Number.isNaN(replay.score[r])) ends.push(r);
  const which = beatWindows(beats.sample, ends, windowSize, Math.min(lagSamples, windowSize - 1));
  const scores: number[] = [];
  const surprise: number[] = [];
  const abnormal: boolean[] = [];
  for (let b = 0; b < which.length; b++) {
    if (which[b] < 0 || beats.sample[b] < learnSamples) continue;
    const r = ends[which[b]];
    const t = replay.threshold[r];
    scores.push(t > 0 ? replay.score[r] / t : replay.score[r]);
    const p = replay.pValue[r];
    surprise.push(Number.isFinite(p) && p > 0 ? -Math.log10(p) : scores[scores.length - 1]);
    abnormal.push(beats.abnormal[b] === 1);
  }
  return { scores, surprise, abnormal };
}
