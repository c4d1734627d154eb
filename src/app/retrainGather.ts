// Gathering a retrain's training windows: from the daemon's record of each stream (its clean windows of the
// lookback, retrainData.ts) or from InfluxDB (source influx), for every stream of the model that retrains, each
// evenly thinned to its share of the cap. What was left out, and why, comes back as the candidate's metrics.
import type { AlertEpisode } from '../core/alertHistory';
import type { FeedbackLabel } from '../core/feedback';
import type { StreamSpec, Window } from '../core/types';
import type { WindowOptions } from '../core/window';
import type { StreamBinding } from '../pipeline/pipeline';
import { thinEvenly, type RecordedWindow, type WindowRecorder } from '../state/windowRecorder';
import { alertLeadMs, recordedSamplePeriod, selectClean, streamQuery } from './retrainData';
import type { RetrainSettings } from './retrainSettings';

export interface InfluxWindowsRequest {
  readonly query: string;
  readonly stream: StreamSpec;
  readonly window: WindowOptions;
  /** alerting.n of the stream: how far before an alert its lead-in windows reach. */
  readonly alertWindows: number;
}

export interface InfluxWindows {
  readonly windows: readonly Window[];
  /** Complete windows left out: alerts (not labelled false_positive) and maintenance windows. */
  readonly excluded: number;
  /** Alert periods taken back as training data because they were labelled false_positive. */
  readonly falsePositives: number;
  readonly insufficient: number;
}

/** The least windows a stream's record keeps (its cap is twice min_clean_windows, at least this). */
export const MIN_RECORD_CAP = 2000;
const MAX_RECORD_CAP = 200_000;

/** How many windows a stream records over its lookback (and a job trains on at most). */
export function recordCap(s: RetrainSettings): number {
  return Math.min(MAX_RECORD_CAP, Math.max(MIN_RECORD_CAP, 2 * s.minCleanWindows));
}

export interface Gathered {
  readonly windows: RecordedWindow[];
  readonly from: number;
  readonly to: number;
  /** What was left out, for a refusal's reason. */
  readonly leftOut: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Where a job's windows come from. */
export interface GatherSources {
  readonly recorder: WindowRecorder;
  /** The alert episodes the daemon knows (firing and the last ones). */
  readonly episodes: () => readonly AlertEpisode[];
  readonly labelOf: (fingerprint: string, startsAt: number) => FeedbackLabel | undefined;
  /** alerting.n of a stream: how many windows led to an alert. */
  readonly alertWindowsOf: (binding: StreamBinding) => number;
  readonly influxWindows?: (request: InfluxWindowsRequest) => Promise<InfluxWindows>;
}

/** A stream a job learns from, with its binding where the daemon has seen it since the start. */
export interface GatherStream {
  readonly stream: string;
  readonly binding: StreamBinding | undefined;
}

/** The clean windows of the recorded streams, each evenly thinned to its share of the cap. */
export async function gatherRecorded(src: GatherSources, streams: readonly GatherStream[], binding: StreamBinding, settings: RetrainSettings): Promise<Gathered> {
  const cap = recordCap(settings);
  const share = Math.max(1, Math.floor(cap / streams.length));
  const episodes = src.episodes();
  const counts = { recorded: 0, outsideLookback: 0, unlabelledAlert: 0, truePositive: 0, falsePositiveKept: 0 };
  const out: RecordedWindow[] = [];
  let thinned = 0;
  for (const { stream, binding: own } of streams) {
    const record = await src.recorder.read(stream);
    if (!record || record.size !== binding.window.size || record.channels.join() !== binding.spec.channels.join()) continue;
    const newest = record.windows.at(-1)?.end ?? 0;
    const periodMs = binding.window.samplePeriodMs ?? recordedSamplePeriod(record.windows, record.size);
    const selection = selectClean({
      windows: record.windows,
      episodes: episodes.filter((e) => e.stream === stream),
      labelOf: src.labelOf,
      leadMs: alertLeadMs(own ? src.alertWindowsOf(own) : 1, binding.window.hop, binding.window.size, periodMs),
      from: newest - settings.lookbackMs,
      to: newest,
    });
    for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] += selection.counts[key];
    const kept = thinEvenly(selection.clean, share);
    thinned += selection.clean.length - kept.length;
    for (const w of kept) out.push(w);
  }
  return {
    windows: out,
    ...periodOf(out),
    leftOut: `recorded ${counts.recorded}; left out: ${counts.unlabelledAlert} in unlabelled alerts, ${counts.truePositive} in true positives, ${counts.outsideLookback} outside the lookback`,
    metrics: {
      streams: streams.length,
      recorded_windows: counts.recorded,
      left_out_outside_lookback: counts.outsideLookback,
      left_out_unlabelled_alert: counts.unlabelledAlert,
      left_out_true_positive: counts.truePositive,
      kept_false_positive: counts.falsePositiveKept,
      thinned_to_cap: thinned,
    },
  };
}

/** Source influx: each stream's history from its query (the same reader as `train --influx-query`). */
export async function gatherInflux(src: GatherSources, streams: readonly GatherStream[], binding: StreamBinding, settings: RetrainSettings): Promise<Gathered> {
  const read = src.influxWindows;
  if (!read || settings.influxQuery === null) throw new Error('source influx: no InfluxDB reader is available to this daemon');
  const share = Math.max(1, Math.floor(recordCap(settings) / streams.length));
  const out: RecordedWindow[] = [];
  let excluded = 0;
  let falsePositives = 0;
  let insufficient = 0;
  let readCount = 0;
  let thinned = 0;
  for (const { stream, binding: own } of streams) {
    const b = own ?? binding;
    const h = await read({ query: streamQuery(settings.influxQuery, stream, b.labels, settings.lookbackMs), stream: b.spec, window: b.window, alertWindows: src.alertWindowsOf(b) });
    excluded += h.excluded;
    falsePositives += h.falsePositives;
    insufficient += h.insufficient;
    readCount += h.windows.length;
    const kept = thinEvenly(h.windows, share);
    thinned += h.windows.length - kept.length;
    for (const w of kept) out.push(w.prematurity !== undefined ? { start: w.start, end: w.end, values: w.values, prematurity: w.prematurity } : { start: w.start, end: w.end, values: w.values });
  }
  return {
    windows: out,
    ...periodOf(out),
    leftOut: `read ${readCount + excluded} complete windows from InfluxDB; left out: ${excluded} in alerts and maintenance windows`,
    metrics: { streams: streams.length, influx_windows: readCount + excluded, left_out_alert_or_maintenance: excluded, kept_false_positive_alerts: falsePositives, insufficient_windows: insufficient, thinned_to_cap: thinned },
  };
}

/** The period the windows end in (0 to 0 for none). */
function periodOf(windows: readonly RecordedWindow[]): { from: number; to: number } {
  let from = Infinity;
  let to = -Infinity;
  for (const w of windows) {
    if (w.end < from) from = w.end;
    if (w.end > to) to = w.end;
  }
  return { from: Number.isFinite(from) ? from : 0, to: Number.isFinite(to) ? to : 0 };
}
