// The score filters' state in the checkpoint: each stream's anomaly likelihood (its score history, the range
// check's seen range, the windows since its last detection), taken in the same cut as the window buffers and the
// alert state (a CheckpointPart of stateStore.ts). A restarted daemon whose filters started afresh judged samples
// of an excursion it had already reported (queued in the broker's session, or replayed from the journal after
// kill -9) against the learning range alone and paged again, and, its likelihood learning again, scored the next
// windows 0 and resolved an alert whose fault went on.
//
// An append-only log, because the whole state is too large to write every 2 s: a likelihood keeps up to
// history_windows scores per time scale (an auto-learned stream 864 on two scales, 14 KB), so 1,000 such
// streams are 14 MB, 7 MB/s that would wear the SSD or SD card of an industrial PC. Each checkpoint writes one
// file, state_dir/filters-<generation>.bin, which is either
//   - a base: every stream's whole state (snapshot()), or
//   - a delta on a checkpoint before it (its parent): per stream whose filter changed since (its revision), the
//     scores the filter pushed since and the few numbers that are not scores (changesSince(), see
//     core/scoreFilter.ts: the recent scores are the newest pushed, so their count says which); a stream's whole
//     state where its filter gives no delta (another filter type, a restore, a new filter after a reload with
//     new settings, a new stream); a tombstone for a stream no longer bound (evicted, forgotten), so that it
//     does not come back at the next start (a base leaves it out).
// A stream that scored one window since costs ~160 bytes with a 14-character id (two scales), against 14 KB
// whole. A start follows the parents from the file of the generation state.json names to a base and applies
// base and deltas in generation order, histories cut to the length each record states: that is each filter's
// snapshot() of the checkpoint, bit for bit, and the restored filters go on with the same p-values.
//
// One file per checkpoint, not appends to one file: each is written whole and atomically (writeAtomic) like the
// other checkpoint files, so there is no torn tail to cut before appending, and a checkpoint never named is in
// no chain. A delta's parent is the last checkpoint state.json named, not the last captured: a checkpoint whose
// write failed is left out of the chain, never a hole in it. A new base is written when the deltas since the
// base add up to its size (or after MAX_DELTAS of them): a start reads at most about twice the whole state, the
// disk holds at most about three times it. Files go only once state.json names a checkpoint whose chain starts
// after them, so a kill -9 at any point leaves the chain of the checkpoint state.json names.
//
// Format 1: an 8-byte magic ("ADF", format, 4 reserved), a header frame (kind, generation, parent), then one
// frame per stream record; frames as the sample journal's (length, CRC-32, payload; sampleCodec.ts), floats as
// raw little-endian float64. A SPOT filter (calibration.method spot, core/spotFilter.ts) gives no deltas: its
// record is its whole state, of its own record kind, at each checkpoint after the stream scored a window
// (8 bytes x (excesses + 2 x censored excesses + depth) + ~110: ~1 KB with 100 excesses, ~8 KB with the default
// max_excesses 1,000 once filled, against ~160 bytes for a likelihood delta; see docs/design.md). A damaged record ends the reading of its file: a stream whose record was lost keeps
// its state of its record before, and a later delta of it (which names the generation of the record it follows)
// is refused, the stream then starting afresh. The JSON filters-<generation>.json of earlier versions is still
// read (once: the first checkpoint after it writes a base, and the JSON goes).
//
// At 1,000 streams with two scales that each scored a window between checkpoints (2 cores, loaded): a delta is
// 156 KB and 2.4-3.5 ms of the event loop, with 75 or 864 scores a stream; a base is 14 MB and 20-50 ms at 864
// scores (1.5 MB at 75), written about every 90 checkpoints (every 10 at 75), so a checkpoint writes ~330 KB
// on average; a start reads base and deltas back in ~0.4 s.
import { errorMessage } from '../core/errors';
import { readdir, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Log } from '../core/context';
import type { ScoreFilterDelta, ScoreFilterMark, ScoreFilterState, SpotFilterState, StreamScoreFilter } from '../core/scoreFilter';
import { decodeFrames, Reader, Writer } from './sampleCodec';
import type { CheckpointPart, CheckpointPartWrite, StateStore } from './stateStore';
import { writeAtomic } from './stateStore';

export const FILTERS_FILE_PREFIX = 'filters';
const FORMAT = 1;
/** The first bytes of a filters log file ("ADF" + format + 4 reserved). */
const MAGIC = Buffer.from([0x41, 0x44, 0x46, FORMAT, 0, 0, 0, 0]);
/** The JSON format older versions wrote (read, never written). */
const JSON_FORMAT = 1;
/** Deltas after which a base is written whatever their size (files a start reads at most). */
const MAX_DELTAS = 500;

/** A file's kind: every stream's whole state, or the changes since its parent. */
const BASE = 0;
const DELTA = 1;

/**
 * A record's kind: the stream's whole state, its change since its previous record, no longer kept, or a SPOT
 * filter's whole state (added in the same format: files without it read as before; an anomalyd before it
 * counts such a record damaged, and the stream starts afresh there).
 */
const WHOLE = 0;
const CHANGE = 1;
const GONE = 2;
const SPOT = 3;

const LOG_RE = new RegExp(`^${FILTERS_FILE_PREFIX}-(\\d+)\\.bin$`);
const JSON_RE = new RegExp(`^${FILTERS_FILE_PREFIX}-(\\d+)\\.json$`);

function logFile(dir: string, generation: number): string {
  return path.join(dir, `${FILTERS_FILE_PREFIX}-${generation}.bin`);
}

function jsonFile(dir: string, generation: number): string {
  return path.join(dir, `${FILTERS_FILE_PREFIX}-${generation}.json`);
}

/** One stream as the chain last wrote it. */
interface Kept {
  readonly filter: StreamScoreFilter;
  /** The filter's revision when written (undefined: it has none, and is written at every checkpoint). */
  readonly revision: number | undefined;
  /** The filter's mark when written (undefined: it gives no deltas). */
  readonly mark: ScoreFilterMark | undefined;
  /** Generation of the file holding the stream's last record. */
  readonly generation: number;
}

/** A chain of files: a base and the deltas on it, up to `generation`. */
interface Chain {
  readonly generation: number;
  readonly base: number;
  readonly baseBytes: number;
  readonly deltaBytes: number;
  readonly deltas: number;
  readonly streams: ReadonlyMap<string, Kept>;
}

/**
 * Writes every bound stream's filter state (Pipeline.scoreFilters) with each checkpoint, as a base or a delta on
 * the last checkpoint state.json named (see the head of this file).
 */
export class FilterStateCapture implements CheckpointPart {
  /**
   * The chain of the last checkpoint state.json named, as this process wrote it (none yet: a base comes next).
   * A checkpoint never named (its write failed) is in no chain: its file goes when the next base is named.
   */
  private named: Chain | undefined;
  private lastBaseBytes = 64 * 1024;
  private lastDeltaBytes = 4 * 1024;

  constructor(
    private readonly dir: string,
    private readonly each: (visit: (stream: string, filter: StreamScoreFilter) => void) => void,
    private readonly maxDeltas = MAX_DELTAS,
  ) {}

  capture(generation: number): CheckpointPartWrite {
    const prev = this.named;
    const base = !prev || prev.deltaBytes >= prev.baseBytes || prev.deltas >= this.maxDeltas;
    const w = new Writer(Math.ceil((base ? this.lastBaseBytes : this.lastDeltaBytes) * 1.1));
    w.bytes(MAGIC);
    frame(w, () => {
      w.u8(base ? BASE : DELTA);
      w.f64(generation);
      w.f64(base || !prev ? -1 : prev.generation);
    });
    const streams = new Map<string, Kept>();
    this.each((stream, filter) => {
      const revision = filter.revision;
      const kept = base ? undefined : prev?.streams.get(stream);
      const same = kept !== undefined && kept.filter === filter;
      if (same && revision !== undefined && kept.revision === revision) {
        streams.set(stream, kept);
        return;
      }
      const delta = same && kept.mark ? filter.changesSince?.(kept.mark) : undefined;
      if (delta && kept) {
        const previous = kept.generation;
        frame(w, () => writeDelta(w, stream, previous, delta));
      } else {
        const state = filter.snapshot?.();
        if (!state) return;
        frame(w, () => writeWhole(w, stream, state));
      }
      streams.set(stream, { filter, revision, mark: filter.mark?.(), generation });
    });
    if (!base && prev) {
      for (const stream of prev.streams.keys()) {
        if (streams.has(stream)) continue;
        frame(w, () => {
          w.u8(GONE);
          w.string(stream);
        });
      }
    }
    const bytes = w.done();
    if (base) this.lastBaseBytes = bytes.length;
    else this.lastDeltaBytes = bytes.length;
    const chain: Chain =
      base || !prev
        ? { generation, base: generation, baseBytes: bytes.length, deltaBytes: 0, deltas: 0, streams }
        : { generation, base: prev.base, baseBytes: prev.baseBytes, deltaBytes: prev.deltaBytes + bytes.length, deltas: prev.deltas + 1, streams };
    const file = logFile(this.dir, generation);
    return {
      write: () => writeAtomic(file, bytes),
      named: () => {
        if (!this.named || chain.generation > this.named.generation) this.named = chain;
      },
      removeStale: () => this.removeStale(),
    };
  }

  /**
   * Deletes the log files before the base of the checkpoint named, and every JSON file of the format before. A
   * checkpoint captured while another was being written (a final one at stop) built on the same named chain as
   * that one, so it is a base when that one is, else it has its base: it needs nothing before it either.
   */
  private async removeStale(): Promise<void> {
    if (!this.named) return;
    const floor = this.named.base;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const log = LOG_RE.exec(name);
      if ((log && Number(log[1]) < floor) || JSON_RE.test(name)) await rm(path.join(this.dir, name), { force: true });
    }
  }
}

/** A frame (length, CRC-32) around what `body` writes. */
function frame(w: Writer, body: () => void): void {
  const start = w.length;
  w.u32(0);
  w.u32(0);
  body();
  w.seal(start);
}

function writeWhole(w: Writer, stream: string, state: ScoreFilterState): void {
  if (state.spot) {
    writeSpot(w, stream, state.spot);
    return;
  }
  w.u8(WHOLE);
  w.string(stream);
  w.f64(state.sinceDetection ?? Number.NaN);
  writeRange(w, state.range);
  w.u32(state.scales.length);
  for (const s of state.scales) {
    writeScores(w, s.history);
    writeScores(w, s.recent);
    writeSums(w, s.sums);
  }
}

/** A SPOT filter's whole state: origin, the tail fit and counts, the excess and censored rings, the level window. */
function writeSpot(w: Writer, stream: string, state: SpotFilterState): void {
  const s = state.dspot.spot;
  w.u8(SPOT);
  w.string(stream);
  writeScores(w, state.origin);
  w.u32(s.maxExcesses);
  w.f64s(Float64Array.of(s.gpd.u, s.gpd.sigma, s.gpd.xi, s.gpd.n, s.gpd.nExceed, s.theta, s.added, s.censoredNext));
  w.u8(s.gpd.fitted ? 1 : 0);
  writeScores(w, s.excesses);
  writeScores(w, s.censoredLevels);
  writeScores(w, s.censoredStamps);
  writeScores(w, state.dspot.window);
}

function readSpot(r: Reader): SpotFilterState {
  const origin = readScores(r);
  const maxExcesses = r.u32();
  const [u, sigma, xi, n, nExceed, theta, added, censoredNext] = r.f64s(8);
  const fitted = r.u8() === 1;
  const excesses = readScores(r);
  const censoredLevels = readScores(r);
  const censoredStamps = readScores(r);
  const window = readScores(r);
  return {
    origin,
    dspot: { spot: { maxExcesses, gpd: { u, sigma, xi, n, nExceed, fitted }, theta, added, excesses, censoredLevels, censoredStamps, censoredNext }, window },
  };
}

function writeDelta(w: Writer, stream: string, previous: number, delta: ScoreFilterDelta): void {
  w.u8(CHANGE);
  w.string(stream);
  w.f64(previous);
  w.f64(delta.sinceDetection ?? Number.NaN);
  writeRange(w, delta.range);
  w.u32(delta.scales.length);
  for (const s of delta.scales) {
    writeScores(w, s.appended);
    w.u32(s.historyLength);
    if (typeof s.recent === 'number') {
      w.u8(0);
      w.u32(s.recent);
    } else {
      w.u8(1);
      writeScores(w, s.recent);
    }
    writeSums(w, s.sums);
  }
}

function writeRange(w: Writer, range: { readonly lo: Float64Array; readonly hi: Float64Array } | undefined): void {
  if (!range) {
    w.u8(0);
    return;
  }
  w.u8(1);
  w.u32(range.lo.length);
  w.f64s(range.lo);
  w.f64s(range.hi);
}

function writeScores(w: Writer, scores: Float64Array): void {
  w.u32(scores.length);
  w.f64s(scores);
}

function writeSums(w: Writer, sums: Float64Array | undefined): void {
  w.u8(sums ? sums.length : 0);
  if (sums) w.f64s(sums);
}

/** What a start found of the score filters' state. */
export interface DecodedFilterStates {
  readonly states: Map<string, ScoreFilterState>;
  /** Damaged records or entries (skipped), and deltas of streams that did not follow what was read before. */
  readonly damaged: number;
}

/**
 * The filter states of checkpoint `generation` in `dir`: its log chain, or the JSON file of the version before
 * when it has no log file; null when it has neither. Throws when the chain cannot be followed.
 */
export async function readFilterStates(dir: string, generation: number): Promise<DecodedFilterStates | null> {
  const files: { header: Header; records: Buffer }[] = [];
  for (let g = generation; ; ) {
    let bytes: Buffer;
    try {
      bytes = await readFile(logFile(dir, g));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (g !== generation) throw new Error(`the checkpoint's chain lacks ${path.basename(logFile(dir, g))}`);
      return readJson(dir, generation);
    }
    const { header, records } = readHeader(bytes, g);
    files.push({ header, records });
    if (header.kind === BASE) break;
    if (!(header.parent < g) || files.length > 100_000) throw new Error(`${path.basename(logFile(dir, g))} names no earlier parent (${header.parent})`);
    g = header.parent;
  }
  files.reverse();
  const streams = new Map<string, Accumulated>();
  let damaged = 0;
  for (const { header, records } of files) {
    const decoded = decodeFrames(records, (payload) => readRecord(payload));
    damaged += decoded.damaged;
    for (const r of decoded.items) {
      if (r.kind === GONE) streams.delete(r.stream);
      else if (r.kind === WHOLE) streams.set(r.stream, Accumulated.of(r.state, header.generation));
      else {
        const acc = streams.get(r.stream);
        if (acc && acc.generation === r.previous && acc.apply(r.delta, header.generation)) continue;
        // Not the record read last for the stream (that one was damaged), or it does not fit it.
        streams.delete(r.stream);
        damaged++;
      }
    }
  }
  const states = new Map<string, ScoreFilterState>();
  for (const [stream, acc] of streams) states.set(stream, acc.state());
  return { states, damaged };
}

interface Header {
  readonly kind: typeof BASE | typeof DELTA;
  readonly generation: number;
  readonly parent: number;
}

function readHeader(bytes: Buffer, generation: number): { header: Header; records: Buffer } {
  const name = path.basename(logFile('', generation));
  if (bytes.length < MAGIC.length || !bytes.subarray(0, 3).equals(MAGIC.subarray(0, 3))) throw new Error(`${name} is not a score filter log`);
  if (bytes[3] !== FORMAT) throw new Error(`${name} is of format ${bytes[3]}; this anomalyd reads format ${FORMAT}`);
  // The header frame (length, CRC-32, payload) as decodeFrames reads frames; the records after it are decoded
  // once the chain is known.
  const at = MAGIC.length;
  const len = bytes.length >= at + 8 ? bytes.readUInt32LE(at) : -1;
  const payload = len === HEADER_BYTES ? bytes.subarray(at + 8, at + 8 + len) : undefined;
  if (!payload || payload.length !== len || crc32(payload) !== bytes.readUInt32LE(at + 4)) throw new Error(`${name} has a damaged header`);
  const r = new Reader(payload);
  const kind = r.u8();
  const header: Header = { kind: kind === BASE ? BASE : DELTA, generation: r.f64(), parent: r.f64() };
  if (kind > DELTA || header.generation !== generation) throw new Error(`${name} has a damaged header`);
  return { header, records: bytes.subarray(at + 8 + len) };
}

/** Kind, generation, parent. */
const HEADER_BYTES = 1 + 8 + 8;

type LogRecord =
  | { readonly kind: typeof WHOLE; readonly stream: string; readonly state: ScoreFilterState }
  | { readonly kind: typeof CHANGE; readonly stream: string; readonly previous: number; readonly delta: ScoreFilterDelta }
  | { readonly kind: typeof GONE; readonly stream: string };

function readRecord(payload: Buffer): LogRecord {
  const r = new Reader(payload);
  const kind = r.u8();
  const stream = r.string();
  let record: LogRecord;
  if (kind === GONE) record = { kind, stream };
  else if (kind === SPOT) record = { kind: WHOLE, stream, state: { sinceDetection: null, scales: [], spot: readSpot(r) } };
  else if (kind === WHOLE) {
    const sinceDetection = readSince(r);
    const range = readRange(r);
    const n = r.u32();
    const scales: { history: Float64Array; recent: Float64Array; sums?: Float64Array }[] = [];
    for (let i = 0; i < n; i++) {
      const history = readScores(r);
      const recent = readScores(r);
      const sums = readSums(r);
      scales.push({ history, recent, ...(sums ? { sums } : {}) });
    }
    record = { kind, stream, state: { sinceDetection, ...(range ? { range } : {}), scales } };
  } else if (kind === CHANGE) {
    const previous = r.f64();
    const sinceDetection = readSince(r);
    const range = readRange(r);
    const n = r.u32();
    const scales: ScoreFilterDelta['scales'][number][] = [];
    for (let i = 0; i < n; i++) {
      const appended = readScores(r);
      const historyLength = r.u32();
      const recent = r.u8() === 0 ? r.u32() : readScores(r);
      const sums = readSums(r);
      scales.push({ appended, historyLength, recent, ...(sums ? { sums } : {}) });
    }
    record = { kind, stream, previous, delta: { sinceDetection, ...(range ? { range } : {}), scales } };
  } else throw new RangeError(`record kind ${kind}`);
  if (!r.end) throw new RangeError('trailing bytes');
  return record;
}

function readSince(r: Reader): number | null {
  const v = r.f64();
  if (Number.isNaN(v)) return null;
  if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`windows since detection ${v}`);
  return v;
}

function readRange(r: Reader): { lo: Float64Array; hi: Float64Array } | undefined {
  if (r.u8() === 0) return undefined;
  const n = r.u32();
  return { lo: r.f64s(n), hi: r.f64s(n) };
}

function readScores(r: Reader): Float64Array {
  return r.f64s(r.u32());
}

function readSums(r: Reader): Float64Array | undefined {
  const n = r.u8();
  return n === 0 ? undefined : r.f64s(n);
}

/** A stream's state as the records read so far make it. */
class Accumulated {
  private constructor(
    private sinceDetection: number | null,
    private range: { lo: Float64Array; hi: Float64Array } | undefined,
    private readonly scales: { history: Scores; recent: Scores; sums: Float64Array | undefined }[],
    /** Generation of the stream's record read last. */
    public generation: number,
  ) {}

  static of(state: ScoreFilterState, generation: number): Accumulated {
    const scales = state.scales.map((s) => ({ history: new Scores(s.history), recent: new Scores(s.recent), sums: s.sums }));
    const acc = new Accumulated(state.sinceDetection, state.range, scales, generation);
    acc.spot = state.spot;
    return acc;
  }

  /** A SPOT filter's whole state (no delta applies to it). */
  private spot: SpotFilterState | undefined;

  /** Applies a delta; false when it does not fit (the state is then unusable). */
  apply(delta: ScoreFilterDelta, generation: number): boolean {
    if (this.spot) return false;
    // Scales come and never go (but with a restore, after which the stream's record is whole).
    if (delta.scales.length < this.scales.length) return false;
    for (let i = 0; i < delta.scales.length; i++) {
      const d = delta.scales[i];
      const s = (this.scales[i] ??= { history: new Scores(EMPTY), recent: new Scores(EMPTY), sums: undefined });
      if (typeof d.recent === 'number') {
        if (!s.recent.append(d.appended, d.recent)) return false;
      } else s.recent = new Scores(d.recent);
      if (!s.history.append(d.appended, d.historyLength)) return false;
      s.sums = d.sums;
    }
    this.sinceDetection = delta.sinceDetection;
    if (delta.range) this.range = delta.range;
    this.generation = generation;
    return true;
  }

  state(): ScoreFilterState {
    return {
      sinceDetection: this.sinceDetection,
      ...(this.range ? { range: this.range } : {}),
      ...(this.spot ? { spot: this.spot } : {}),
      scales: this.scales.map((s) => ({ history: s.history.values(), recent: s.recent.values(), ...(s.sums ? { sums: s.sums } : {}) })),
    };
  }
}

const EMPTY = new Float64Array(0);

/** Scores, oldest first, that a delta extends and cuts to the newest n (amortised: no copy of all per delta). */
class Scores {
  private buf: Float64Array;
  private start = 0;
  private length: number;

  constructor(initial: Float64Array) {
    this.buf = initial;
    this.length = initial.length;
  }

  /** Becomes the newest `n` of these followed by `more`; false when together they hold fewer. */
  append(more: Float64Array, n: number): boolean {
    if (!(Number.isInteger(n) && n >= 0 && n <= this.length + more.length)) return false;
    const fromMore = Math.min(n, more.length);
    const keep = n - fromMore;
    this.start += this.length - keep;
    this.length = keep;
    if (fromMore === 0) return true;
    if (this.start + n > this.buf.length) {
      // Moved to the front of a buffer with room for as many again (a new one when this one is too small).
      if (n * 2 > this.buf.length) {
        const grown = new Float64Array(Math.max(16, n * 2));
        grown.set(this.buf.subarray(this.start, this.start + keep));
        this.buf = grown;
      } else this.buf.copyWithin(0, this.start, this.start + keep);
      this.start = 0;
    }
    this.buf.set(more.subarray(more.length - fromMore), this.start + keep);
    this.length = n;
    return true;
  }

  values(): Float64Array {
    return this.buf.slice(this.start, this.start + this.length);
  }
}

/** The JSON file of the version before, or null when there is none. */
async function readJson(dir: string, generation: number): Promise<DecodedFilterStates | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(jsonFile(dir, generation));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return decodeFilterStates(bytes);
}

/** The JSON format of older versions: one entry per stream, the score arrays as base64 of their float64 bytes. */
interface EncodedState {
  /** Windows since the last detection (null: none). */
  readonly s: number | null;
  /** Seen range: [lo, hi], base64 float64 per channel. */
  readonly r?: readonly [string, string];
  /** Per time scale: [history, recent, running sums], base64 float64, oldest first. */
  readonly h: readonly (readonly [string, string, string?])[];
}

/** The states of a filters-<generation>.json of older versions; entries that do not read as one are counted, not kept. */
export function decodeFilterStates(bytes: Buffer): DecodedFilterStates {
  const parsed = JSON.parse(bytes.toString('utf8')) as { format?: unknown; filters?: unknown };
  if (parsed.format !== JSON_FORMAT || typeof parsed.filters !== 'object' || parsed.filters === null) {
    throw new Error(`unexpected content (format ${String(parsed.format)})`);
  }
  const states = new Map<string, ScoreFilterState>();
  let damaged = 0;
  for (const [stream, value] of Object.entries(parsed.filters as Record<string, unknown>)) {
    const state = decodeState(value);
    if (state) states.set(stream, state);
    else damaged++;
  }
  return { states, damaged };
}

function decodeState(value: unknown): ScoreFilterState | null {
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Partial<Record<keyof EncodedState, unknown>>;
  const since = e.s;
  if (!(since === null || (typeof since === 'number' && Number.isInteger(since) && since >= 0))) return null;
  if (!Array.isArray(e.h)) return null;
  const scales: { history: Float64Array; recent: Float64Array; sums?: Float64Array }[] = [];
  for (const entry of e.h as unknown[]) {
    if (!Array.isArray(entry)) return null;
    const history = f64(entry[0]);
    const recent = f64(entry[1]);
    const sums = entry[2] === undefined ? undefined : f64(entry[2]);
    if (!history || !recent || sums === null) return null;
    scales.push({ history, recent, ...(sums ? { sums } : {}) });
  }
  let range: { lo: Float64Array; hi: Float64Array } | undefined;
  if (e.r !== undefined) {
    const lo = Array.isArray(e.r) ? f64(e.r[0]) : null;
    const hi = Array.isArray(e.r) ? f64(e.r[1]) : null;
    if (!lo || !hi || lo.length !== hi.length) return null;
    range = { lo, hi };
  }
  return { sinceDetection: since, ...(range ? { range } : {}), scales };
}

/** A base64 float64 array, or null when it is not one. */
function f64(v: unknown): Float64Array | null {
  if (typeof v !== 'string') return null;
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length % 8 !== 0) return null;
  // Copied to an aligned buffer of its own (a Buffer may sit at any offset of Node's pool).
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * The filter states of the checkpoint found at start, each handed once to its stream's new filter when the stream
 * is bound (the streams of the state file are bound at start, see Pipeline.adopt). A later binding (a config
 * reload) does not get it again: its filter is either carried over or new for new settings.
 */
export class SavedFilterStates {
  constructor(
    private readonly states: Map<string, ScoreFilterState>,
    private readonly log: Log,
  ) {}

  /** Reads the checkpoint's filter states; none is an empty set, an unreadable chain is logged and skipped. */
  static async load(store: StateStore, log: Log): Promise<SavedFilterStates> {
    let states = new Map<string, ScoreFilterState>();
    const generation = store.checkpointGeneration;
    try {
      const decoded = generation > 0 ? await readFilterStates(store.dir, generation) : null;
      if (decoded) {
        states = decoded.states;
        if (decoded.damaged > 0) log.warn('Skipped damaged score filter records of the last checkpoint; those streams judge their scores afresh or from an earlier checkpoint.', { records: decoded.damaged });
      }
    } catch (err) {
      log.warn('Cannot read the score filter states of the last checkpoint; streams judge their scores afresh.', { error: errorMessage(err) });
    }
    return new SavedFilterStates(states, log);
  }

  get size(): number {
    return this.states.size;
  }

  /** The stream's saved state into its new filter (once). */
  restore(stream: string, filter: StreamScoreFilter | undefined): void {
    const state = this.states.get(stream);
    if (!state) return;
    this.states.delete(stream);
    if (!filter?.restore) return;
    try {
      filter.restore(state);
    } catch (err) {
      this.log.warn('Ignoring the saved score filter state of the stream.', { stream, error: errorMessage(err) });
    }
  }
}
