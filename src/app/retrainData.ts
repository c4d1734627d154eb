// Which recorded windows a retrain learns from: those of the lookback that no alert episode of the stream
// covers, except episodes an operator labelled false_positive (the machine was running normally: the next model
// should learn it). A true positive's windows stay out, and so do an unlabelled alert's: training on a fault
// would teach the model that the fault is normal. An episode covers the windows from its start, moved earlier by
// the windows that led to it (alerting.n - 1 hops plus one window), to its end (open while it fires). Maintenance
// and `off` periods never reach the record (the recorder takes only windows scored while learning was allowed).
// What was left out, and why, is counted: it goes into the candidate's metrics.
import { createHash } from 'node:crypto';
import type { AlertEpisode } from '../core/alertHistory';
import type { FeedbackLabel } from '../core/feedback';
import type { RecordedWindow } from '../state/windowRecorder';

/** Kinds whose episodes say the data was not normal (a stall or a refused topic says nothing about the values). */
const DATA_KINDS: ReadonlySet<string> = new Set(['anomaly', 'sensor_flatline', 'sensor_spikes']);

export interface CleanSelection {
  readonly clean: RecordedWindow[];
  readonly counts: {
    /** Windows of the record (all streams read). */
    readonly recorded: number;
    /** Left out: older than the lookback (or after its end). */
    readonly outsideLookback: number;
    /** Left out: inside an alert episode nobody labelled. */
    readonly unlabelledAlert: number;
    /** Left out: inside an episode labelled true_positive. */
    readonly truePositive: number;
    /** Kept although inside an alert episode, because it was labelled false_positive. */
    readonly falsePositiveKept: number;
  };
}

export interface SelectionInput {
  readonly windows: readonly RecordedWindow[];
  /** The stream's alert episodes (any order). */
  readonly episodes: readonly AlertEpisode[];
  /** The operator's label of an episode, if any. */
  readonly labelOf: (fingerprint: string, startsAt: number) => FeedbackLabel | undefined;
  /** How far before an episode's start its lead-in windows reach (ms). */
  readonly leadMs: number;
  readonly from: number;
  readonly to: number;
}

interface Period {
  readonly from: number;
  readonly to: number;
  readonly label: FeedbackLabel | undefined;
}

export function selectClean(input: SelectionInput): CleanSelection {
  const periods: Period[] = input.episodes
    .filter((e) => DATA_KINDS.has(e.kind))
    .map((e) => ({ from: e.startsAt - input.leadMs, to: e.endsAt ?? Infinity, label: input.labelOf(e.fingerprint, e.startsAt) }));
  const clean: RecordedWindow[] = [];
  let outsideLookback = 0;
  let unlabelledAlert = 0;
  let truePositive = 0;
  let falsePositiveKept = 0;
  for (const w of input.windows) {
    if (w.end < input.from || w.end > input.to) {
      outsideLookback++;
      continue;
    }
    let covered: FeedbackLabel | 'unlabelled' | null = null;
    for (const p of periods) {
      if (w.end < p.from || w.start > p.to) continue;
      // A window inside a false positive and another episode is judged by the other one.
      if (p.label === 'false_positive') covered ??= 'false_positive';
      else {
        covered = p.label ?? 'unlabelled';
        if (covered === 'true_positive') break;
      }
    }
    if (covered === 'unlabelled') unlabelledAlert++;
    else if (covered === 'true_positive') truePositive++;
    else {
      if (covered === 'false_positive') falsePositiveKept++;
      clean.push(w);
    }
  }
  return { clean, counts: { recorded: input.windows.length, outsideLookback, unlabelledAlert, truePositive, falsePositiveKept } };
}

/** The lead of an alert: the windows that led to it (n - 1 hops) plus one window, in ms. */
export function alertLeadMs(alertWindows: number, hop: number, size: number, samplePeriodMs: number): number {
  return ((Math.max(1, alertWindows) - 1) * hop + size - 1) * samplePeriodMs;
}

/** The sample period a record's windows show (their span over size - 1 steps, the median), or 0 without windows. */
export function recordedSamplePeriod(windows: readonly RecordedWindow[], size: number): number {
  if (windows.length === 0 || size < 2) return 0;
  const spans = windows.slice(-101).map((w) => (w.end - w.start) / (size - 1)).sort((a, b) => a - b);
  return spans[Math.floor(spans.length / 2)];
}

/** SHA-256 (hex) of the training windows, in order: times and values. The candidate's data hash. */
export function windowsHash(windows: readonly RecordedWindow[]): string {
  const h = createHash('sha256');
  const times = Buffer.allocUnsafe(16);
  for (const w of windows) {
    times.writeDoubleLE(w.start, 0);
    times.writeDoubleLE(w.end, 8);
    h.update(times);
    h.update(Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength));
  }
  return h.digest('hex');
}

/**
 * A stream's query from the `influx_query` template: `{name}` becomes the stream's label of that name (`{stream}`
 * its id) with `\` and `'` escaped for an InfluxQL string literal, `$timeFilter` the lookback
 * (`time >= now() - <ms>ms`). A name the stream has no label of is left as written, so the query fails visibly.
 */
export function streamQuery(template: string, stream: string, labels: Readonly<Record<string, string>>, lookbackMs: number): string {
  const quote = (v: string): string => v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return template
    .replace(/\$timeFilter/g, `time >= now() - ${Math.round(lookbackMs)}ms`)
    .replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      const value = name === 'stream' ? stream : labels[name];
      return value === undefined ? whole : quote(value);
    });
}
