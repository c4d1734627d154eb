// SKAB (Skoltech Anomaly Benchmark) files and its benchmark protocol: semicolon-separated CSVs, one row per
// second, 8 sensor channels, `anomaly` and `changepoint` labels (absent in anomaly-free.csv). Per file the
// first 400 rows train and calibrate, the rest are tested; F1, FAR and MAR are counted point by point over
// the test rows of all files pooled (the leaderboard notebooks concatenate the files' predictions).
import { readFile } from 'node:fs/promises';
import { errorMessage, InputError } from '../core/errors';
import { csvFiles } from './csvFiles';
import { classificationMetrics, type Confusion } from './metrics';

export const SKAB_TRAIN_ROWS = 400;

export interface SkabFile {
  readonly file: string;
  /** Sensor column names in file order (8 in SKAB). */
  readonly channels: readonly string[];
  readonly rows: number;
  /** Epoch ms of each row (the zone-less `datetime` read as UTC). */
  readonly timestamps: Float64Array;
  /** Row-major values: row r, channel c at r * channels.length + c. */
  readonly values: Float64Array;
  /** Point-wise anomaly label (0/1) per row; undefined for unlabelled files (anomaly-free.csv). */
  readonly anomaly?: Uint8Array;
  readonly changepoint?: Uint8Array;
}

export interface SkabSplit {
  readonly train: SkabFile;
  readonly test: SkabFile;
}

/** Predictions and labels of one file's test rows. */
export interface SkabPrediction {
  readonly predicted: ArrayLike<boolean | number>;
  readonly actual: ArrayLike<boolean | number>;
}

export interface SkabMetrics extends Confusion {
  /** TP / (TP + (FN + FP) / 2), in [0, 1]. */
  readonly f1: number;
  /** False alarm rate FP / (FP + TN), percent. */
  readonly far: number;
  /** Missed alarm rate FN / (FN + TP), percent. */
  readonly mar: number;
}

const LABEL_COLUMNS = ['anomaly', 'changepoint'];

export async function readSkab(file: string): Promise<SkabFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read file: ${errorMessage(err)}`);
  }
  return parseSkab(text, file);
}

export function parseSkab(text: string, file: string): SkabFile {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  const header = (lines[0] ?? '').split(';').map((h) => h.trim());
  if (header[0] !== 'datetime') throw new InputError(`${file}:1: expected a header starting with 'datetime;' (got ${JSON.stringify(lines[0] ?? '')})`);
  const channelCols: number[] = [];
  header.forEach((h, c) => {
    if (c > 0 && !LABEL_COLUMNS.includes(h)) channelCols.push(c);
  });
  const anomalyCol = header.indexOf('anomaly');
  const changeCol = header.indexOf('changepoint');
  const rows = lines.length - 1;
  const k = channelCols.length;
  const timestamps = new Float64Array(rows);
  const values = new Float64Array(rows * k);
  const anomaly = anomalyCol > 0 ? new Uint8Array(rows) : undefined;
  const changepoint = changeCol > 0 ? new Uint8Array(rows) : undefined;
  for (let r = 0; r < rows; r++) {
    const lineNo = r + 2;
    const cells = lines[r + 1].split(';');
    if (cells.length !== header.length) throw new InputError(`${file}:${lineNo}: expected ${header.length} fields, got ${cells.length}`);
    timestamps[r] = parseDatetime(cells[0]);
    if (Number.isNaN(timestamps[r])) throw new InputError(`${file}:${lineNo}: datetime '${cells[0]}' is not YYYY-MM-DD hh:mm:ss`);
    for (let c = 0; c < k; c++) values[r * k + c] = parseCell(cells[channelCols[c]], file, lineNo, header[channelCols[c]]);
    if (anomaly) anomaly[r] = parseLabel(cells[anomalyCol], file, lineNo, 'anomaly');
    if (changepoint) changepoint[r] = parseLabel(cells[changeCol], file, lineNo, 'changepoint');
  }
  return { file, channels: channelCols.map((c) => header[c]), rows, timestamps, values, anomaly, changepoint };
}

/**
 * Every SKAB CSV under dir (any depth), in natural order (valve1/2.csv before valve1/10.csv). By default only
 * labelled files: the protocol does not use anomaly-free.csv.
 */
export async function readSkabDir(dir: string, options: { labelledOnly?: boolean } = {}): Promise<SkabFile[]> {
  const files: SkabFile[] = [];
  for (const f of await csvFiles(dir)) {
    const data = await readSkab(f);
    if (data.anomaly !== undefined || options.labelledOnly === false) files.push(data);
  }
  return files;
}

/** The protocol's split without shuffling: the first `trainRows` rows train, the remainder is tested. */
export function skabSplit(data: SkabFile, trainRows = SKAB_TRAIN_ROWS): SkabSplit {
  if (data.rows <= trainRows) throw new InputError(`${data.file}: ${data.rows} rows, but the first ${trainRows} are for training: nothing left to test`);
  return { train: sliceRows(data, 0, trainRows), test: sliceRows(data, trainRows, data.rows) };
}

export function sliceRows(data: SkabFile, from: number, to: number): SkabFile {
  const k = data.channels.length;
  return {
    file: data.file,
    channels: data.channels,
    rows: to - from,
    timestamps: data.timestamps.slice(from, to),
    values: data.values.slice(from * k, to * k),
    anomaly: data.anomaly?.slice(from, to),
    changepoint: data.changepoint?.slice(from, to),
  };
}

/** Point-wise F1, FAR % and MAR % over the rows of all files pooled. */
export function skabMetrics(files: readonly SkabPrediction[]): SkabMetrics {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const { predicted, actual } of files) {
    if (predicted.length !== actual.length) throw new RangeError(`skabMetrics: ${predicted.length} predictions for ${actual.length} labels`);
    for (let i = 0; i < predicted.length; i++) {
      if (predicted[i]) {
        if (actual[i]) c.tp++;
        else c.fp++;
      } else if (actual[i]) c.fn++;
      else c.tn++;
    }
  }
  const m = classificationMetrics(c);
  return { ...c, f1: m.f1, far: m.far * 100, mar: m.mar * 100 };
}

function parseDatetime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(text.trim());
  if (m === null) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + (m[7] ? Number(m[7]) * 1000 : 0);
}

function parseCell(cell: string, file: string, line: number, column: string): number {
  const v = cell.trim() === '' ? NaN : Number(cell);
  if (!Number.isFinite(v)) throw new InputError(`${file}:${line}: ${column}: '${cell}' is not a finite number`);
  return v;
}

function parseLabel(cell: string, file: string, line: number, column: string): number {
  const v = parseCell(cell, file, line, column);
  if (v !== 0 && v !== 1) throw new InputError(`${file}:${line}: ${column}: expected 0 or 1, got '${cell}'`);
  return v;
}

