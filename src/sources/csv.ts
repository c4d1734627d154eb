// Reader and writer for recorded multichannel signals as CSV: the input of train, calibrate and replay.
//
// Choices (also in the README's design notes):
// - A header row is required. The delimiter is detected from it (`,`, `;` as in SKAB, or tab), or given.
// - The time column is the first header cell named (case-insensitively) `timestamp`, `ts`, `time` or
//   `datetime` (epoch milliseconds or ISO 8601), or `time_s` (seconds). `timeUnit` (the commands'
//   --time-unit, config `csv.time_unit`) says the unit of numeric times instead: s, ms, us or ns. ISO times
//   without a zone are read as UTC, so the result never depends on the machine's time zone. Without a time
//   column, ts = row index * samplePeriodMs (default 1000).
// - Numeric times that land before 2000 or after 2100 in the unit in force are read as given, with a warning
//   naming the unit that would put them in that range: epoch seconds read as milliseconds date a recording
//   in January 1970, and nothing else would show it.
// - An empty cell is a missing value and becomes NaN (windows fill and count missing values). The literal
//   text `NaN`, `inf`, `Infinity`... is an error: it usually means a broken export, and silently treating it
//   as missing would hide that.
// - Fully blank lines are skipped (trailing ones are common); line numbers in errors are still physical
//   1-based lines, header = line 1.
import { readFile } from 'node:fs/promises';
import { errorMessage, InputError } from '../core/errors';

export interface CsvSeries {
  file: string;
  channels: string[];
  /** Sample times, ms since the Unix epoch (or since 0 when the file has no time column). */
  ts: Float64Array;
  /** rows * channels values, time-major interleaved (index row * channels + c); NaN = missing. */
  values: Float32Array;
  rows: number;
  /** Doubts about the data that do not stop reading it (e.g. timestamps that look like another unit). */
  warnings: string[];
  /** The time column read, and the unit its numeric times were read in (`iso` when none was numeric). */
  time: { column: string; unit: TimeUnit | 'iso' } | null;
}

export const TIME_UNITS = ['s', 'ms', 'us', 'ns'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** Milliseconds per unit. */
const MS_PER: Readonly<Record<TimeUnit, number>> = { s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };
const UNIT_NAMES: Readonly<Record<TimeUnit, string>> = { s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds' };
/** Plausible recording times: 2000-01-01 to 2100-01-01 (UTC). */
const PLAUSIBLE_FROM_MS = Date.UTC(2000, 0, 1);
const PLAUSIBLE_TO_MS = Date.UTC(2100, 0, 1);

export interface CsvReadOptions {
  /** Columns to read, in this order. Default: every column except the time column. */
  channels?: readonly string[];
  /** Spacing of rows when the file has no time column. Default 1000. */
  samplePeriodMs?: number;
  /** Field separator. Default: detected from the header line. */
  delimiter?: ',' | ';' | '\t';
  /** Name of the time column, overriding detection; `null` reads no time column even if one is present. */
  timeColumn?: string | null;
  /**
   * 'increasing' (default) rejects a timestamp that is not after the previous one. 'any' accepts duplicates
   * and steps back (some public benchmarks, e.g. NAB, contain both).
   */
  timeOrder?: 'increasing' | 'any';
  /** Unit of numeric times. Default: ms, or s for a column named `time_s`. */
  timeUnit?: TimeUnit;
}

const TIME_COLUMNS_MS = ['timestamp', 'ts', 'time', 'datetime'];
const TIME_COLUMNS_S = ['time_s'];

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE_RE = /^[+-]?(?:nan|inf|infinity)$/i;
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

interface CsvRecord {
  line: number;
  fields: string[];
}

export async function readCsv(path: string, opts: CsvReadOptions = {}): Promise<CsvSeries> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read file: ${errorMessage(err)}`);
  }
  return parseCsv(text, path, opts);
}

export function parseCsv(text: string, file: string, opts: CsvReadOptions = {}): CsvSeries {
  const period = opts.samplePeriodMs ?? 1000;
  if (!(Number.isFinite(period) && period > 0)) {
    throw new InputError(`${file}: samplePeriodMs must be a positive number of milliseconds (got ${period})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records = splitRecords(text, file, opts.delimiter ?? detectDelimiter(text));
  const first = records.next();
  if (first.done) throw new InputError(`${file}: empty file (a header row is required)`);
  const header = first.value.fields.map((h) => h.trim());
  const width = header.length;

  const timeIdx = findTimeColumn(header, file, opts.timeColumn);
  const timeUnit: TimeUnit = opts.timeUnit ?? (timeIdx >= 0 && TIME_COLUMNS_S.includes(header[timeIdx].toLowerCase()) ? 's' : 'ms');
  const available = header.filter((_, i) => i !== timeIdx);
  const channels = opts.channels ? [...opts.channels] : available;
  const colIdx = channels.map((name) => {
    const i = header.findIndex((h, j) => j !== timeIdx && h === name);
    if (i < 0) {
      throw new InputError(
        `${file}: no column ${JSON.stringify(name)}; the file has channels ${available.map((c) => JSON.stringify(c)).join(', ')}`,
      );
    }
    return i;
  });
  checkChannelNames(channels, file, opts.channels !== undefined);

  const values: number[] = [];
  const times: number[] = [];
  let prevRaw = '';
  /** The first and last numeric time as written (ISO times need no unit check). */
  let firstNumeric: number | undefined;
  let lastNumeric: number | undefined;
  const nCh = channels.length;
  const strictOrder = (opts.timeOrder ?? 'increasing') === 'increasing';
  for (const rec of records) {
    const { fields, line } = rec;
    if (fields.length !== width) {
      throw new InputError(`${file}:${line}: expected ${width} columns, got ${fields.length}`);
    }
    if (timeIdx >= 0) {
      const raw = fields[timeIdx].trim();
      const numeric = NUMBER_RE.test(raw);
      const t = numeric ? Number(raw) * MS_PER[timeUnit] : parseIsoTime(raw);
      if (t === undefined) {
        throw new InputError(
          `${file}:${line}: column ${JSON.stringify(header[timeIdx])}: cannot read ${JSON.stringify(raw)} as a time ` +
            `(expected epoch ${UNIT_NAMES[timeUnit]} or ISO 8601)`,
        );
      }
      if (numeric) {
        firstNumeric ??= Number(raw);
        lastNumeric = Number(raw);
      }
      const prev = times.length > 0 ? times[times.length - 1] : -Infinity;
      if (strictOrder && !(t > prev)) {
        throw new InputError(
          `${file}:${line}: timestamp ${JSON.stringify(raw)} is not after the previous row's ` +
            `(${JSON.stringify(prevRaw)}); timestamps must increase`,
        );
      }
      times.push(t);
      prevRaw = raw;
    } else {
      times.push(times.length * period);
    }
    for (let c = 0; c < nCh; c++) {
      const raw = fields[colIdx[c]].trim();
      values.push(parseCell(raw, file, line, channels[c]));
    }
  }
  const rows = times.length;
  if (rows === 0) throw new InputError(`${file}: no data rows after the header`);
  const warnings: string[] = [];
  if (firstNumeric !== undefined && lastNumeric !== undefined) {
    const warning = timeUnitWarning(file, header[timeIdx], firstNumeric, lastNumeric, timeUnit);
    if (warning) warnings.push(warning);
  }
  const time = timeIdx < 0 ? null : { column: header[timeIdx], unit: firstNumeric === undefined ? ('iso' as const) : timeUnit };
  return { file, channels, ts: Float64Array.from(times), values: Float32Array.from(values), rows, warnings, time };
}

/**
 * A warning when numeric times `first`..`last` (as written) fall outside 2000-2100 read in `unit`, naming the
 * unit that would put them there; undefined when they are plausible.
 */
export function timeUnitWarning(file: string, column: string, first: number, last: number, unit: TimeUnit): string | undefined {
  if (plausibleIn(unit, first, last)) return undefined;
  const date = (v: number): string => {
    const d = new Date(v * MS_PER[unit]);
    return Number.isNaN(d.getTime()) ? 'out of range' : d.toISOString();
  };
  const likely = likelyTimeUnit(first, last);
  const advice = likely
    ? `they look like epoch ${UNIT_NAMES[likely]}: give --time-unit ${likely} (or csv.time_unit: ${likely} in the config)`
    : 'no unit (s, ms, us, ns) puts them between 2000 and 2100; if they count from the start of the recording, only their spacing matters and this is fine, otherwise give the right --time-unit';
  return (
    `${file}: column ${JSON.stringify(column)}: numeric times read as epoch ${UNIT_NAMES[unit]} span ${date(first)} .. ${date(last)}, ` +
    `outside 2000-2100; ${advice}`
  );
}

function parseCell(raw: string, file: string, line: number, column: string): number {
  if (raw === '') return NaN;
  if (NUMBER_RE.test(raw)) return Number(raw);
  const col = JSON.stringify(column);
  if (NON_FINITE_RE.test(raw)) {
    throw new InputError(
      `${file}:${line}: column ${col}: ${JSON.stringify(raw)} is not a finite number (leave the cell empty for a missing value)`,
    );
  }
  throw new InputError(`${file}:${line}: column ${col}: ${JSON.stringify(raw)} is not a number`);
}

function findTimeColumn(header: string[], file: string, timeColumn: string | null | undefined): number {
  if (timeColumn === null) return -1;
  if (timeColumn !== undefined) {
    const i = header.indexOf(timeColumn);
    if (i < 0) {
      throw new InputError(
        `${file}: no time column ${JSON.stringify(timeColumn)}; the header has ${header.map((h) => JSON.stringify(h)).join(', ')}`,
      );
    }
    return i;
  }
  const lower = header.map((h) => h.toLowerCase());
  for (const name of [...TIME_COLUMNS_MS, ...TIME_COLUMNS_S]) {
    const i = lower.indexOf(name);
    if (i >= 0) return i;
  }
  return -1;
}

function checkChannelNames(channels: string[], file: string, requested: boolean): void {
  if (channels.length === 0) {
    throw new InputError(`${file}: no channel columns (the header has only a time column)`);
  }
  const seen = new Set<string>();
  for (const name of channels) {
    if (name === '') {
      throw new InputError(`${file}: the header has a column with an empty name; name it or select channels explicitly`);
    }
    if (seen.has(name)) {
      throw new InputError(
        requested
          ? `${file}: channel ${JSON.stringify(name)} is requested twice`
          : `${file}: the header names column ${JSON.stringify(name)} twice`,
      );
    }
    seen.add(name);
  }
}

/** The unit in which numeric times `first`..`last` (as written) fall within 2000-2100, if one does. */
export function likelyTimeUnit(first: number, last: number): TimeUnit | undefined {
  return TIME_UNITS.find((u) => plausibleIn(u, first, last));
}

function plausibleIn(unit: TimeUnit, first: number, last: number): boolean {
  return [first, last].every((v) => v * MS_PER[unit] >= PLAUSIBLE_FROM_MS && v * MS_PER[unit] < PLAUSIBLE_TO_MS);
}

/** Milliseconds in one `unit`. */
export function msPerTimeUnit(unit: TimeUnit): number {
  return MS_PER[unit];
}

/** ISO 8601 date or date-time (`T` or space), optional fraction and zone; no zone = UTC. */
export function parseIsoTime(raw: string): number | undefined {
  const m = ISO_RE.exec(raw);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  let t = Date.UTC(y, mo - 1, d, h, mi, s) + frac;
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined; // 2023-02-30
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    if (digits.length !== 2 && digits.length !== 4) return undefined;
    t -= (zone[0] === '-' ? -1 : 1) * offMin * 60_000;
  }
  return t;
}

function detectDelimiter(text: string): ',' | ';' | '\t' {
  const end = text.search(/\r?\n/);
  const headerLine = end < 0 ? text : text.slice(0, end);
  let best: ',' | ';' | '\t' = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t'] as const) {
    const count = headerLine.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * RFC 4180 records: quoted fields may hold the delimiter, doubled quotes and line breaks. `line` is the
 * physical line where a record starts. Lines with no content are skipped.
 */
function* splitRecords(text: string, file: string, delim: string): Generator<CsvRecord> {
  const n = text.length;
  let pos = 0;
  let line = 1;
  let nextQuote = text.indexOf('"');
  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    const lineEnd = eol > pos && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
    const startLine = line;
    if (nextQuote >= 0 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
    if (nextQuote < 0 || nextQuote >= lineEnd) {
      // Fast path: no quotes on this line.
      const content = text.slice(pos, lineEnd);
      pos = eol + 1;
      line++;
      if (content.trim() === '') continue;
      yield { line: startLine, fields: content.split(delim) };
      continue;
    }
    const fields: string[] = [];
    let field = '';
    let i = pos;
    for (;;) {
      if (text[i] === '"' && field.trim() === '') {
        // Quoted field: read to the closing quote, which may be on a later line.
        field = '';
        i++;
        for (;;) {
          if (i >= n) throw new InputError(`${file}:${startLine}: unterminated quoted field`);
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        while (text[i] === ' ' || text[i] === '\t') i++;
        const next = text[i];
        if (i < n && next !== delim && next !== '\n' && next !== '\r') {
          throw new InputError(`${file}:${line}: unexpected ${JSON.stringify(next)} after a closing quote`);
        }
      }
      if (i >= n || text[i] === '\n' || (text[i] === '\r' && (text[i + 1] === '\n' || i + 1 >= n))) {
        fields.push(field);
        if (text[i] === '\r') i++;
        pos = i + 1;
        line++;
        break;
      }
      if (text[i] === delim) {
        fields.push(field);
        field = '';
        i++;
        continue;
      }
      field += text[i];
      i++;
    }
    yield { line: startLine, fields };
  }
}

/**
 * CSV text with a header line and LF line ends. Integers are printed exactly (timestamps), other numbers
 * with up to 7 significant digits and no trailing zeros; NaN is an empty cell (missing, as parseCsv reads
 * it). Strings are quoted when they hold a comma, quote, line break or edge spaces.
 */
export function formatCsv(header: readonly string[], rows: readonly (readonly (number | string)[])[]): string {
  const out: string[] = [header.map(formatField).join(',')];
  rows.forEach((row, r) => {
    if (row.length !== header.length) {
      throw new RangeError(`formatCsv: row ${r} has ${row.length} cells, the header ${header.length}`);
    }
    out.push(row.map((v) => (typeof v === 'number' ? formatNumber(v) : formatField(v))).join(','));
  });
  return out.join('\n') + '\n';
}

export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return '';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (Object.is(v, -0)) return '0';
  if (Number.isSafeInteger(v)) return String(v);
  return String(Number(v.toPrecision(7)));
}

function formatField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
