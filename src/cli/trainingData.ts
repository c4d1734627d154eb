// Where train and calibrate get their clean data: CSV recordings (`--input`) or the plant's history in InfluxDB
// (`--influx-query`, alert periods left out). Both end as the same windows, cut by the daemon's WindowBuffer.
import type { Config } from '../config/schema';
import { modeNames, streamModes } from '../config/modes';
import type { SeriesMode } from '../core/modeSeries';
import { subscriptionStreams } from '../app/detection';
import { classifier } from '../app/modeBindings';
import type { StreamSpec, Window } from '../core/types';
import type { WindowOptions } from '../core/window';
import { historyTarget, windowsFromInflux } from '../offline/influxHistory';
import { windowsFromCsvFiles } from '../offline/recorded';
import { TIME_UNITS, type TimeUnit } from '../sources/csv';
import { printWarnings, UsageError } from './common';

export type TrainingSource =
  | { readonly kind: 'csv'; readonly files: readonly string[]; readonly timeUnit?: TimeUnit | undefined }
  | { readonly kind: 'influx'; readonly query: string; readonly url: string | undefined };

/** The usage lines of --time-unit, the description starting at `column` like the command's other options. */
export function timeUnitUsage(column: number): string {
  return (
    `  ${'--time-unit UNIT'.padEnd(column - 2)}unit of numeric CSV timestamps: s, ms, us or ns (default: the config's\n` +
    `${' '.repeat(column)}csv.time_unit, else ms, or s for a column named time_s); ISO 8601 times are unaffected`
  );
}

/** `--time-unit` checked, or undefined when not given. */
export function timeUnitOption(value: string | undefined, usage: string): TimeUnit | undefined {
  if (value === undefined) return undefined;
  const unit = TIME_UNITS.find((u) => u === value);
  if (!unit) throw new UsageError(`--time-unit must be one of ${TIME_UNITS.join(', ')} (got '${value}')`, usage);
  return unit;
}

export function trainingSource(
  input: string[] | undefined,
  query: string | undefined,
  url: string | undefined,
  usage: string,
  timeUnit?: TimeUnit,
): TrainingSource {
  const hasInput = input !== undefined && input.length > 0;
  if (hasInput && query !== undefined) throw new UsageError('Give either --input or --influx-query, not both', usage);
  if (query !== undefined) {
    if (query.trim() === '') throw new UsageError('--influx-query is empty', usage);
    return { kind: 'influx', query, url };
  }
  if (url !== undefined) throw new UsageError('--influx-url only goes with --influx-query', usage);
  if (!hasInput) throw new UsageError('Missing the data: give --input CSV (repeatable) or --influx-query Q', usage);
  return { kind: 'csv', files: input, timeUnit };
}

export interface Recorded {
  readonly windows: Window[];
  readonly insufficient: number;
  /** Windows left out because they overlap an alert of the stream (InfluxDB history only). */
  readonly excluded: number;
  readonly alertPeriods: number;
  readonly samples: number;
  /** What the data was, for messages. */
  readonly from: string;
  /** Doubts about the data (already printed on stderr), for --json `warnings`. */
  readonly warnings: string[];
}

/** The usage lines of --mode, the description starting at `column`. */
export function modeUsage(column: number): string {
  return (
    `  ${'--mode MODE'.padEnd(column - 2)}only the windows the daemon would cut in this operating mode (the stream's
` +
    `${' '.repeat(column)}modes.when conditions in the config, with its hysteresis); not for modes from a topic`
  );
}

/**
 * `--mode M` for `stream`: its `when` conditions from the config, to keep the windows of mode M. Modes read from
 * a topic are not in a recording of the stream's channels, so they are refused with what to do instead.
 */
export function modeSelection(config: Config | undefined, stream: StreamSpec, mode: string | undefined, usage: string): SeriesMode | undefined {
  if (mode === undefined) return undefined;
  if (!config) throw new UsageError('--mode needs -c FILE: the stream\'s modes come from its configuration', usage);
  const sub = config.subscriptions.find((s) => subscriptionStreams(s).test(stream.id));
  const modes = sub ? streamModes(sub, config.streams.find((s) => s.id === stream.id)) : undefined;
  if (!modes) throw new UsageError(`--mode: stream '${stream.id}' has no modes in the configuration`, usage);
  if (modes.when === undefined) {
    throw new UsageError(
      `--mode: stream '${stream.id}' takes its mode from the topic ${modes.topic ?? ''}, which a recording of its channels does not hold; select the periods of mode '${mode}' in the data itself (e.g. --influx-query with the time ranges of anomaly_mode, or a CSV of that mode)`,
      usage,
    );
  }
  const names = modeNames(modes) ?? [];
  if (!names.includes(mode)) throw new UsageError(`--mode: '${mode}' is not a mode of stream '${stream.id}' (${names.join(', ')})`, usage);
  return { classify: classifier(modes.when, modes.default ?? 'default', stream.channels), hold: modes.hold_samples, keep: mode };
}

export async function recordedWindows(
  source: TrainingSource,
  config: Config | undefined,
  stream: StreamSpec,
  window: WindowOptions,
  alertWindows: number,
  mode?: SeriesMode,
): Promise<Recorded> {
  if (source.kind === 'csv') {
    const r = await windowsFromCsvFiles(source.files, stream, window, { timeUnit: source.timeUnit ?? config?.csv.time_unit, mode });
    printWarnings(r.warnings);
    return { windows: r.windows, insufficient: r.insufficient, excluded: 0, alertPeriods: 0, samples: r.samples, from: source.files.join(', '), warnings: r.warnings };
  }
  const { target, alertsDatabase } = historyTarget(config?.sinks.influx, source.url);
  const r = await windowsFromInflux({ target, query: source.query, alertsDatabase, stream, window, alertWindows, ...(mode ? { mode } : {}) });
  if (r.alertsNote) process.stderr.write(`Note: ${r.alertsNote}\n`);
  process.stderr.write(
    `Read ${r.samples} samples in ${r.series} series from ${target.display}; left out ${r.excluded} window(s) overlapping ` +
      `${r.alertPeriods.length} alert and maintenance period(s) of '${stream.id}' (alerts from database '${alertsDatabase}')` +
      `${r.falsePositives > 0 ? `; ${r.falsePositives} alert(s) labelled false_positive kept as training data` : ''}\n`,
  );
  return {
    windows: r.windows,
    insufficient: r.insufficient,
    excluded: r.excluded,
    alertPeriods: r.alertPeriods.length,
    samples: r.samples,
    from: `--influx-query (${target.display})`,
    warnings: [],
  };
}

