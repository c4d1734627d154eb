// MIT-BIH Arrhythmia Database records as converted in ../shared/data/mitdb: `<rec>.csv.gz` (sample,time_s,
// lead1,lead2 in mV at 360 Hz, 650,000 rows) and `<rec>_beats.csv` (sample,time_s,symbol,abnormal), plus the
// beat-level evaluation: each annotated beat takes the score of a window that covers it, abnormal beats are
// the positive class.
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { errorMessage, InputError } from '../core/errors';
import { rocAuc } from './metrics';

export const MITDB_SAMPLE_RATE_HZ = 360;
/** AAMI "N"-class symbols; every other beat symbol (A a J S V E F / Q) is abnormal. */
export const MITDB_NORMAL_SYMBOLS: readonly string[] = ['N', 'L', 'R', 'e', 'j'];

export interface MitdbRecord {
  readonly record: string;
  /** Lead names from the header, e.g. ["MLII", "V1"]. */
  readonly leads: readonly [string, string];
  readonly samples: number;
  readonly lead1: Float32Array;
  readonly lead2: Float32Array;
}

export interface MitdbBeats {
  readonly sample: Int32Array;
  readonly symbol: readonly string[];
  readonly abnormal: Uint8Array;
}

export interface MitdbFiles {
  readonly record: string;
  readonly signal: string;
  readonly beats: string;
}

export interface BeatMetrics {
  readonly beats: number;
  readonly abnormalBeats: number;
  /** NaN when all beats are of one class. */
  readonly rocAuc: number;
  /** Abnormal beats flagged / abnormal beats (0 when there are none). */
  readonly sensitivity: number;
  /** Normal beats not flagged / normal beats (0 when there are none). */
  readonly specificity: number;
}

/** Records of a folder that have both a signal and a beat file, sorted by record name. */
export async function listMitdbRecords(dir: string): Promise<MitdbFiles[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new InputError(`${dir}: cannot read folder: ${errorMessage(err)}`);
  }
  const have = new Set(names);
  return names
    .filter((n) => n.endsWith('.csv.gz') && have.has(n.replace(/\.csv\.gz$/, '_beats.csv')))
    .sort()
    .map((n) => {
      const record = n.replace(/\.csv\.gz$/, '');
      return { record, signal: path.join(dir, n), beats: path.join(dir, `${record}_beats.csv`) };
    });
}

/**
 * Streams a gzipped record into two Float32Arrays (650k rows: ~5 MB, never the whole text in memory). The
 * last frame of every record is a recording artefact (both leads jump to ~0 mV) and is dropped by default.
 */
export async function readMitdbRecord(file: string, options: { dropLastFrame?: boolean } = {}): Promise<MitdbRecord> {
  const record = path.basename(file).replace(/\.csv\.gz$/, '');
  const raw = createReadStream(file);
  const input = createGunzip();
  // pipe() does not forward a read error (e.g. a missing file) to the gunzip stream; without this the loop
  // below would wait forever.
  raw.on('error', (err) => input.destroy(err));
  raw.pipe(input);
  input.setEncoding('utf8');
  const parser = new RecordParser(file);
  try {
    // Chunks split into lines by hand: several times faster than readline on 650k short lines.
    let rest = '';
    for await (const chunk of input as AsyncIterable<string>) {
      const text = rest + chunk;
      const last = text.lastIndexOf('\n');
      if (last < 0) {
        rest = text;
        continue;
      }
      for (const line of text.slice(0, last).split('\n')) parser.line(line);
      rest = text.slice(last + 1);
    }
    parser.line(rest);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: cannot read gzipped CSV: ${errorMessage(err)}`);
  } finally {
    raw.destroy();
    input.destroy();
  }
  return parser.finish(record, options.dropLastFrame !== false);
}

/** Accumulates `sample,time_s,lead1,lead2` lines into growing Float32Arrays. */
class RecordParser {
  private lead1 = new Float32Array(1 << 16);
  private lead2 = new Float32Array(1 << 16);
  private leads: [string, string] | undefined;
  private n = 0;

  constructor(private readonly file: string) {}

  line(text: string): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (this.leads === undefined) {
      const h = line.trim().split(',');
      if (h.length < 4 || h[0] !== 'sample') throw new InputError(`${this.file}:1: expected header sample,time_s,<lead1>,<lead2> (got ${JSON.stringify(line)})`);
      this.leads = [h[2], h[3]];
      return;
    }
    if (line.trim() === '') return;
    // Fields located with indexOf and parsed by hand: split + Number dominated the read time (~0.8 s a record).
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const c3 = line.indexOf(',', c2 + 1);
    if (c3 < 0) throw new InputError(`${this.file}:${this.n + 2}: expected 4 fields (got ${JSON.stringify(line)})`);
    if (parseDecimal(line, 0, c1) !== this.n) throw new InputError(`${this.file}:${this.n + 2}: expected sample ${this.n}, got '${line.slice(0, c1)}'`);
    if (this.n === this.lead1.length) {
      this.lead1 = grow(this.lead1);
      this.lead2 = grow(this.lead2);
    }
    const end = line.indexOf(',', c3 + 1);
    this.lead1[this.n] = this.mv(line, c2 + 1, c3);
    this.lead2[this.n] = this.mv(line, c3 + 1, end < 0 ? line.length : end);
    this.n++;
  }

  private mv(line: string, from: number, to: number): number {
    const v = parseDecimal(line, from, to);
    if (!Number.isFinite(v)) throw new InputError(`${this.file}:${this.n + 2}: lead value '${line.slice(from, to)}' is not a number`);
    return v;
  }

  finish(record: string, dropLastFrame: boolean): MitdbRecord {
    if (this.leads === undefined) throw new InputError(`${this.file}: empty file`);
    const n = dropLastFrame && this.n > 0 ? this.n - 1 : this.n;
    return { record, leads: this.leads, samples: n, lead1: this.lead1.slice(0, n), lead2: this.lead2.slice(0, n) };
  }
}

export async function readMitdbBeats(file: string): Promise<MitdbBeats> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read file: ${errorMessage(err)}`);
  }
  return parseMitdbBeats(text, file);
}

export function parseMitdbBeats(text: string, file: string): MitdbBeats {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const sampleCol = header.indexOf('sample');
  const symbolCol = header.indexOf('symbol');
  const abnormalCol = header.indexOf('abnormal');
  if (sampleCol < 0 || symbolCol < 0) throw new InputError(`${file}:1: expected a header with 'sample' and 'symbol' columns`);
  const rows = lines.length - 1;
  const sample = new Int32Array(rows);
  const symbol: string[] = [];
  const abnormal = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1].split(',');
    const s = Number(cells[sampleCol]);
    if (!Number.isInteger(s) || s < 0) throw new InputError(`${file}:${r + 2}: sample '${cells[sampleCol]}' is not a sample index`);
    sample[r] = s;
    symbol.push(cells[symbolCol] ?? '');
    // The file's own 0/1 column when present; otherwise the symbol decides.
    abnormal[r] = abnormalCol >= 0 ? (cells[abnormalCol]?.trim() === '1' ? 1 : 0) : MITDB_NORMAL_SYMBOLS.includes(symbol[r]) ? 0 : 1;
  }
  return { sample, symbol, abnormal };
}

/**
 * The window each beat is judged by: the EARLIEST window (ends ascending, each `windowSize` samples long)
 * that contains the beat and at least `lagSamples` samples after it, as a streaming detector first sees the
 * beat's complex. -1 where no window does (beats in the training part, in gaps, or at the edges).
 */
export function beatWindows(beatSamples: ArrayLike<number>, windowEnds: ArrayLike<number>, windowSize: number, lagSamples = 0): Int32Array {
  if (!(lagSamples >= 0 && lagSamples < windowSize)) throw new RangeError(`lagSamples must be in [0, windowSize) (got ${lagSamples})`);
  const out = new Int32Array(beatSamples.length);
  for (let b = 0; b < beatSamples.length; b++) {
    const beat = beatSamples[b];
    // Binary search: the first window ending at or after beat + lag.
    let lo = 0;
    let hi = windowEnds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (windowEnds[mid] < beat + lagSamples) lo = mid + 1;
      else hi = mid;
    }
    out[b] = lo < windowEnds.length && windowEnds[lo] - windowSize + 1 <= beat ? lo : -1;
  }
  return out;
}

/** Scores and labels of the beats that a window covers (beatWindow[i] >= 0). */
export function coveredBeats(beatWindow: Int32Array, windowScores: ArrayLike<number>, abnormal: ArrayLike<number>): { scores: Float64Array; abnormal: boolean[] } {
  const scores: number[] = [];
  const labels: boolean[] = [];
  for (let i = 0; i < beatWindow.length; i++) {
    if (beatWindow[i] < 0) continue;
    scores.push(windowScores[beatWindow[i]]);
    labels.push(abnormal[i] === 1);
  }
  return { scores: Float64Array.from(scores), abnormal: labels };
}

/**
 * Beat-level ROC AUC, and sensitivity/specificity for abnormal beats at a threshold. A beat is flagged when
 * its score is ABOVE the threshold, the daemon's own decision rule (model/detector.ts).
 */
export function beatMetrics(scores: ArrayLike<number>, abnormal: ArrayLike<boolean>, threshold: number): BeatMetrics {
  if (scores.length !== abnormal.length) throw new RangeError(`beatMetrics: ${scores.length} scores for ${abnormal.length} beats`);
  let tp = 0;
  let fn = 0;
  let tn = 0;
  let fp = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i] > threshold;
    if (abnormal[i]) {
      if (flagged) tp++;
      else fn++;
    } else if (flagged) fp++;
    else tn++;
  }
  return {
    beats: scores.length,
    abnormalBeats: tp + fn,
    rocAuc: rocAuc(scores, abnormal),
    sensitivity: tp + fn === 0 ? 0 : tp / (tp + fn),
    specificity: tn + fp === 0 ? 0 : tn / (tn + fp),
  };
}

export interface RecordBeats {
  readonly record: string;
  readonly scores: readonly number[];
  readonly abnormal: readonly boolean[];
}

/**
 * The pooled ROC AUC with each record left out in turn: how much one record moves the pooled figure, a
 * view of how it may move on records not in the set. Records in input order; NaN where what is left has one class.
 */
export function leaveOneRecordOut(records: readonly RecordBeats[]): { record: string; rocAuc: number }[] {
  return records.map((left) => {
    const scores: number[] = [];
    const abnormal: boolean[] = [];
    for (const r of records) {
      if (r === left) continue;
      for (let i = 0; i < r.scores.length; i++) {
        scores.push(r.scores[i]);
        abnormal.push(r.abnormal[i]);
      }
    }
    return { record: left.record, rocAuc: rocAuc(scores, abnormal) };
  });
}

function grow(a: Float32Array): Float32Array<ArrayBuffer> {
  const b = new Float32Array(a.length * 2);
  b.set(a);
  return b;
}

/** A plain decimal (-12.345) in line[from, to); anything else (exponents, spaces) goes through Number. */
function parseDecimal(line: string, from: number, to: number): number {
  let i = from;
  const negative = line.charCodeAt(i) === 45; // '-'
  if (negative || line.charCodeAt(i) === 43) i++; // '+'
  let value = 0;
  let scale = 0;
  let digits = 0;
  for (; i < to; i++) {
    const ch = line.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      value = value * 10 + (ch - 48);
      scale = scale === 0 ? 0 : scale * 10;
      digits++;
    } else if (ch === 46 && scale === 0) scale = 1; // '.'
    else return Number(line.slice(from, to).trim() || 'x');
  }
  if (digits === 0) return NaN;
  const v = scale > 1 ? value / scale : value;
  return negative ? -v : v;
}
