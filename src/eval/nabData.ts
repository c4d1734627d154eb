// NAB corpus files: the data folder (<category>/<file>.csv with timestamp,value), the label file
// (labels/combined_windows.json: "<category>/<file>.csv" -> [[start, end], ...]) and detectors' result CSVs
// (timestamp,value,anomaly_score,label,...). Files are keyed by their corpus path "<category>/<file>.csv".
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { errorMessage, InputError } from '../core/errors';
import { csvFiles } from './csvFiles';
import type { NabFileInput, NabWindow } from './nabScorer';

/** A label window as written (timestamps) and parsed (epoch ms, no time zone: read as UTC). */
export interface NabTimeWindow {
  readonly startText: string;
  readonly endText: string;
  readonly start: number;
  readonly end: number;
}

export type NabLabels = ReadonlyMap<string, readonly NabTimeWindow[]>;

export interface NabSeries {
  /** Corpus path, e.g. "realKnownCause/nyc_taxi.csv". */
  readonly key: string;
  readonly path: string;
  /** Timestamps as written, for result files. */
  readonly timestampText: readonly string[];
  /** Epoch ms (UTC reading of the zone-less timestamps); NAB files may repeat one (DST changes). */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

export interface NabResultFile {
  readonly key: string;
  readonly path: string;
  readonly timestamps: Float64Array;
  readonly scores: Float64Array;
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Epoch ms of a NAB timestamp `YYYY-MM-DD HH:MM:SS[.ffffff]` read as UTC; NaN when it is not one. */
export function parseNabTimestamp(text: string): number {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (m === null) return NaN;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return m[7] === undefined ? ms : ms + Number(`0.${m[7]}`) * 1000;
}

export async function readNabLabels(file: string): Promise<NabLabels> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: cannot read NAB labels: ${errorMessage(err)}`);
  }
  return parseNabLabels(parsed, file);
}

export function parseNabLabels(json: unknown, file: string): NabLabels {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InputError(`${file}: expected an object mapping "<category>/<file>.csv" to a list of [start, end] windows`);
  }
  const labels = new Map<string, NabTimeWindow[]>();
  for (const [key, list] of Object.entries(json)) {
    if (!Array.isArray(list)) throw new InputError(`${file}: ${key}: expected a list of windows`);
    const windows = list.map((pair: unknown, i): NabTimeWindow => {
      const where = `${file}: ${key}: window ${i + 1}`;
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw new InputError(`${where}: expected [start, end] timestamps (got ${JSON.stringify(pair)})`);
      }
      const [startText, endText] = pair as [string, string];
      const start = parseNabTimestamp(startText);
      const end = parseNabTimestamp(endText);
      if (Number.isNaN(start) || Number.isNaN(end) || start > end) {
        throw new InputError(`${where}: not a window of YYYY-MM-DD HH:MM:SS timestamps (got ${JSON.stringify(pair)})`);
      }
      return { startText, endText, start, end };
    });
    labels.set(key, windows.sort((a, b) => a.start - b.start));
  }
  return labels;
}

/**
 * Label windows as row ranges. NAB matches the window's start and end timestamps exactly and takes the
 * FIRST row holding each (which matters where a DST change repeats an hour of timestamps); a time that no
 * row holds exactly starts the window at the next row, or ends it at the row before.
 */
export function windowRows(timestamps: ArrayLike<number>, windows: readonly NabTimeWindow[], file: string): NabWindow[] {
  return windows.map((w) => {
    let start = indexOf(timestamps, w.start);
    if (start < 0) start = firstAfter(timestamps, w.start);
    let end = indexOf(timestamps, w.end);
    if (end < 0) end = firstAfter(timestamps, w.end) - 1;
    if (start > end) throw new InputError(`${file}: anomaly window [${w.startText}, ${w.endText}] holds no row of the file`);
    return { start, end };
  });
}

/** NAB's `label` column: 1 for rows inside a window. */
export function windowLabels(rows: number, windows: readonly NabWindow[]): Uint8Array {
  const labels = new Uint8Array(rows);
  for (const w of windows) labels.fill(1, w.start, w.end + 1);
  return labels;
}

/** Reads every `<category>/<file>.csv` of a NAB data folder, sorted by key. */
export async function readNabDataDir(dir: string): Promise<NabSeries[]> {
  const files = await csvFiles(dir, 2);
  const series: NabSeries[] = [];
  for (const file of files) {
    const key = path.relative(dir, file).split(path.sep).join('/');
    if (key.split('/').length !== 2) continue;
    const table = parseCsvColumns(await readText(file), file, ['timestamp', 'value']);
    series.push({ key, path: file, timestampText: table.text[0], timestamps: table.times, values: table.numbers[1] });
  }
  return series.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Reads a folder of NAB result CSVs (any depth, e.g. results/<detector>/<category>/<detector>_<file>.csv) and
 * keeps those that match a labelled file: same category folder, and the file name is the data file's name or
 * ends with "_<name>" (NAB prefixes the detector name). Two results for one file are an error.
 */
export async function readNabResultsDir(dir: string, labels: NabLabels): Promise<NabResultFile[]> {
  const byKey = new Map<string, string>();
  for (const file of await csvFiles(dir, 4)) {
    const key = matchLabelKey(file, labels);
    if (key === undefined) continue;
    const other = byKey.get(key);
    if (other !== undefined) {
      throw new InputError(`${dir}: two result files for ${key}: ${other} and ${file}; point --results at one detector's folder`);
    }
    byKey.set(key, file);
  }
  const results: NabResultFile[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const file = byKey.get(key) ?? '';
    const table = parseCsvColumns(await readText(file), file, ['timestamp', 'anomaly_score']);
    results.push({ key, path: file, timestamps: table.times, scores: table.numbers[1] });
  }
  return results;
}

/** A result file ready for the scorer: its label windows mapped to its rows. */
export function nabScoringInput(result: NabResultFile, labels: NabLabels): NabFileInput {
  const windows = labels.get(result.key);
  if (windows === undefined) throw new InputError(`${result.path}: ${result.key} is not in the labels`);
  return { name: result.key, scores: result.scores, windows: windowRows(result.timestamps, windows, result.path) };
}

/** One NAB result CSV: timestamp,value,anomaly_score,label (the columns NAB's scorer reads). */
export function formatNabResultCsv(series: NabSeries, scores: ArrayLike<number>, windows: readonly NabWindow[]): string {
  const labels = windowLabels(series.values.length, windows);
  const lines = ['timestamp,value,anomaly_score,label'];
  for (let i = 0; i < series.values.length; i++) {
    lines.push(`${series.timestampText[i]},${series.values[i]},${scores[i]},${labels[i]}`);
  }
  return lines.join('\n') + '\n';
}

function matchLabelKey(file: string, labels: NabLabels): string | undefined {
  const name = path.basename(file);
  const category = path.basename(path.dirname(file));
  let found: string | undefined;
  let foundLength = 0;
  for (const key of labels.keys()) {
    const [keyCategory, keyName] = key.split('/');
    if (keyCategory !== category || keyName === undefined) continue;
    // The longest matching name wins, should one data file name end with another's.
    if ((name === keyName || name.endsWith(`_${keyName}`)) && keyName.length > foundLength) {
      found = key;
      foundLength = keyName.length;
    }
  }
  return found;
}

interface CsvColumns {
  /** Raw text of each requested column. */
  readonly text: string[][];
  /** Parsed numbers of each requested column except the first (the timestamp). */
  readonly numbers: Float64Array[];
  readonly times: Float64Array;
}

/** Reads the named columns of a comma-separated file with a header; the first name is the timestamp column. */
function parseCsvColumns(content: string, file: string, names: readonly string[]): CsvColumns {
  const lines = content.split('\n');
  const header = lines[0].replace(/^\ufeff/, '').trim().split(',');
  const cols = names.map((n) => {
    const c = header.indexOf(n);
    if (c < 0) throw new InputError(`${file}: no '${n}' column in the header (${header.join(',')})`);
    return c;
  });
  const rows = lines.length - 1 - (lines[lines.length - 1].trim() === '' ? 1 : 0);
  const text = names.map(() => new Array<string>(rows));
  const numbers = names.map(() => new Float64Array(rows));
  const times = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1].trim().split(',');
    for (let k = 0; k < cols.length; k++) {
      const cell = cells[cols[k]];
      if (cell === undefined) throw new InputError(`${file}:${r + 2}: missing column '${names[k]}'`);
      text[k][r] = cell;
      if (k === 0) {
        times[r] = parseNabTimestamp(cell);
        if (Number.isNaN(times[r])) throw new InputError(`${file}:${r + 2}: '${cell}' is not a YYYY-MM-DD HH:MM:SS timestamp`);
      } else {
        numbers[k][r] = cell.trim() === '' ? NaN : Number(cell);
        if (!Number.isFinite(numbers[k][r])) throw new InputError(`${file}:${r + 2}: ${names[k]} '${cell}' is not a finite number`);
      }
    }
  }
  return { text, numbers, times };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read file: ${errorMessage(err)}`);
  }
}

// Linear scans: timestamps may repeat or step back an hour (DST), so binary search is not safe.
function indexOf(times: ArrayLike<number>, t: number): number {
  for (let i = 0; i < times.length; i++) if (times[i] === t) return i;
  return -1;
}

function firstAfter(times: ArrayLike<number>, t: number): number {
  for (let i = 0; i < times.length; i++) if (times[i] > t) return i;
  return times.length;
}
