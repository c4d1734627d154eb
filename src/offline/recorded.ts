// Recorded data for the offline commands: CSV files cut into windows by the daemon's own WindowBuffer. Each
// file is windowed on its own, so the end of one recording is never joined to the start of the next.
import type { StreamSpec, Window } from '../core/types';
import { windowsFromSeriesIn, type SeriesMode } from '../core/modeSeries';
import type { WindowOptions } from '../core/window';
import { readCsv, type CsvSeries, type TimeUnit } from '../sources/csv';

export interface RecordedWindows {
  readonly windows: Window[];
  /** Windows below min_completeness: reported, never used for training, calibration or decisions. */
  readonly insufficient: number;
  readonly series: CsvSeries[];
  readonly samples: number;
  /** The files' doubts (e.g. timestamps that look like another unit), for stderr and --json `warnings`. */
  readonly warnings: string[];
}

export interface CsvReading {
  /** Unit of numeric timestamps (--time-unit, csv.time_unit); default ms, s for a `time_s` column. */
  readonly timeUnit?: TimeUnit | undefined;
  /** Only the windows of one operating mode (`--mode`); absent: all. */
  readonly mode?: SeriesMode | undefined;
}

export async function windowsFromCsvFiles(
  files: readonly string[],
  stream: StreamSpec,
  opts: WindowOptions,
  reading: CsvReading = {},
): Promise<RecordedWindows> {
  const windows: Window[] = [];
  const series: CsvSeries[] = [];
  let insufficient = 0;
  let samples = 0;
  for (const file of files) {
    const s = await readCsv(file, {
      channels: stream.channels,
      ...(opts.samplePeriodMs ? { samplePeriodMs: opts.samplePeriodMs } : {}),
      ...(reading.timeUnit ? { timeUnit: reading.timeUnit } : {}),
    });
    series.push(s);
    samples += s.rows;
    for (const e of windowsFromSeriesIn(stream, s.ts, s.values, opts, reading.mode)) {
      if (e.kind === 'window') windows.push(e.window);
      else insufficient++;
    }
  }
  return { windows, insufficient, series, samples, warnings: series.flatMap((x) => x.warnings) };
}
