// What `anomalyd init` reads from a CSV recording: the channels, the sample period and time unit of its time
// column, and a window that suits them. Pure: the command (init.ts) reads the file and writes the config.
import { InputError } from '../core/errors';
import type { CsvSeries, TimeUnit } from '../sources/csv';

/** A channel name as the config accepts it (schemaIo's channel pattern). */
const CHANNEL_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** How long a window should span: about a minute of the process, long enough to hold a cycle or a trend. */
export const TARGET_WINDOW_SPAN_MS = 60_000;
/** Window bounds (samples): below 16 a window holds too little shape; above 128 training gets slow. */
export const MIN_WINDOW = 16;
export const MAX_WINDOW = 128;
/** Training wants at least this many windows from the recording; the window shrinks (not below 16) to get them. */
export const MIN_TRAINING_WINDOWS = 200;
/** Below this many windows a POT tail fit has too few exceedances; a percentile threshold is steadier. */
export const POT_MIN_WINDOWS = 2000;

export interface InitPlan {
  readonly channels: readonly string[];
  /** Median spacing of the time column (ms); undefined without a time column. */
  readonly samplePeriodMs: number | undefined;
  /** The time column and the unit of its numeric times ('iso' for ISO 8601 text), or null without one. */
  readonly time: { readonly column: string; readonly unit: TimeUnit | 'iso' } | null;
  /** How the unit was decided: given (--time-unit), judged from the magnitude, or the reader's default. */
  readonly timeUnitFrom: 'given' | 'magnitude' | 'default';
  readonly window: { readonly size: number; readonly hop: number; readonly maxGapMs: number };
  /** Windows the recording gives with this window: what training will see. */
  readonly trainingWindows: number;
  readonly rows: number;
  /** The first data row, for the example MQTT message. */
  readonly firstRow: readonly number[];
}

/** Throws an InputError with a readable message for a header the config cannot take as channel names. */
export function checkChannelNames(channels: readonly string[], file: string): void {
  const bad = channels.filter((c) => !CHANNEL_RE.test(c));
  if (bad.length === 0) return;
  const fix = (c: string): string => {
    const s = c.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'channel';
    return /^[0-9]/.test(s) ? `_${s}` : s.slice(0, 64);
  };
  throw new InputError(
    `${file}: column name(s) ${bad.map((c) => JSON.stringify(c)).join(', ')} cannot be channel names (letters, digits and "_", ` +
      `not starting with a digit); rename them in the header, e.g. ${bad.map((c) => `${JSON.stringify(c)} -> ${fix(c)}`).join(', ')}`,
  );
}

export function planFromSeries(series: CsvSeries, timeUnitFrom: InitPlan['timeUnitFrom'] = 'magnitude'): InitPlan {
  const samplePeriodMs = series.time ? medianSpacingMs(series.ts) : undefined;
  const period = samplePeriodMs ?? 1000;
  const window = suggestWindow(period, series.rows);
  return {
    channels: series.channels,
    samplePeriodMs,
    time: series.time,
    timeUnitFrom,
    window,
    trainingWindows: windowCount(series.rows, window.size, window.hop),
    rows: series.rows,
    firstRow: Array.from(series.values.subarray(0, series.channels.length)),
  };
}

/** Median of the differences between consecutive times, rounded to 3 significant digits; undefined for < 2 rows. */
export function medianSpacingMs(ts: Float64Array): number | undefined {
  if (ts.length < 2) return undefined;
  const diffs = Array.from({ length: ts.length - 1 }, (_, i) => ts[i + 1] - ts[i]).sort((a, b) => a - b);
  const mid = diffs.length >> 1;
  const median = diffs.length % 2 === 1 ? diffs[mid] : (diffs[mid - 1] + diffs[mid]) / 2;
  if (!(median > 0)) return undefined;
  return Number(median.toPrecision(3));
}

/**
 * The window: about TARGET_WINDOW_SPAN_MS of samples within [MIN_WINDOW, MAX_WINDOW], shrunk (to no less than
 * MIN_WINDOW) while the recording would give fewer than MIN_TRAINING_WINDOWS; hop a quarter of it, so each
 * sample is seen in four windows; max_gap_ms at least 10 s and five sample periods, so one lost message does
 * not restart the window.
 */
export function suggestWindow(samplePeriodMs: number, rows: number): { size: number; hop: number; maxGapMs: number } {
  let size = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.round(TARGET_WINDOW_SPAN_MS / samplePeriodMs)));
  while (size > MIN_WINDOW && windowCount(rows, size, hopFor(size)) < MIN_TRAINING_WINDOWS) {
    size = Math.max(MIN_WINDOW, Math.floor(size * 0.75));
  }
  return { size, hop: hopFor(size), maxGapMs: Math.max(10_000, Math.ceil(5 * samplePeriodMs)) };
}

function hopFor(size: number): number {
  return Math.max(1, Math.round(size / 4));
}

export function windowCount(rows: number, size: number, hop: number): number {
  return rows < size ? 0 : Math.floor((rows - size) / hop) + 1;
}

/** "1 s", "250 ms", "2 min" */
export function formatSpan(ms: number): string {
  if (ms >= 120_000) return `${Number((ms / 60_000).toPrecision(3))} min`;
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  return `${Number(ms.toPrecision(3))} ms`;
}

/** Doubts about the recording as training data, for stderr and --json `warnings`. */
export function planWarnings(plan: InitPlan, file: string): string[] {
  const w = plan.window;
  if (plan.trainingWindows >= MIN_TRAINING_WINDOWS) return [];
  return [
    `${file}: ${plan.rows} rows give ${plan.trainingWindows} window(s) of ${w.size} samples (hop ${w.hop}); training wants at least ` +
      `${MIN_TRAINING_WINDOWS}, so record a longer stretch of normal operation before training (the config is written anyway)`,
  ];
}
