// A bounded on-disk record of each retraining stream's recent windows (raw values, float32): the training data
// of `retrain: {source: recorded}`. Only windows the pipeline scored while learning was allowed reach it (no
// maintenance window, machine not `off`); alert episodes are left out later, when a job reads the record,
// because whether an alert was right is often only known after it (operator labels).
//
// Thinning: a stream keeps at most `cap` windows over its `lookback`, evenly spread in time: a window is taken
// only when it ends at least lookback / cap after the last one taken. When the file holds 1.5 x cap frames it
// is compacted (windows older than the lookback go; more than cap left are thinned evenly), so a pump window of
// 30 x 8 channels (984 bytes a frame) with cap 2,000 costs about 2 MB a stream, at most 2.9 MB before compaction.
//
// File: state_dir/retrain/windows/<readable>-<12 hex of SHA-256 of the stream id>.rec: an 8-byte magic, a header
// frame (JSON: stream, channels, size), then one frame a window (f64 start, f64 end, f32 values, and an f64
// prematurity after them where the stream tracks its rhythm, core/rhythm.ts); frames as the
// sample journal's (length, CRC-32, payload). Appended, not fsynced; a torn or damaged tail (a kill during a
// write) is dropped when the file is next opened, never fatal. A file of another geometry (the model's channels
// or window changed) is started afresh: its windows could not train the stream's model.
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import type { Window } from '../core/types';
import { decodeFrames } from './sampleCodec';
import { writeAtomic } from './stateStore';

export const RECORDER_DIR = path.join('retrain', 'windows');
const MAGIC = Buffer.from([0x41, 0x44, 0x57, 0x01, 0, 0, 0, 0]);
const FRAME_HEADER = 8;
const WINDOW_HEAD = 16;
/** Compaction when the file holds this many times its cap. */
const SLACK = 1.5;

/** How one stream is recorded: its record covers `lookbackMs` with at most `cap` windows. */
export interface RecordPolicy {
  readonly lookbackMs: number;
  readonly cap: number;
}

export interface RecordedWindow {
  readonly start: number;
  readonly end: number;
  readonly values: Float32Array;
  /** The window's prematurity (core/rhythm.ts); absent where the stream tracks no rhythm. */
  readonly prematurity?: number;
}

export interface StreamRecord {
  readonly stream: string;
  readonly channels: readonly string[];
  readonly size: number;
  readonly windows: RecordedWindow[];
  /** Frames dropped because they were torn or damaged. */
  readonly damaged: number;
}

interface Geometry {
  readonly channels: readonly string[];
  readonly size: number;
}

interface Recording {
  readonly file: string;
  geometry: Geometry;
  policy: RecordPolicy;
  /** Until the file was read at first sight, windows are not taken. */
  loaded: boolean;
  lastEnd: number;
  frames: number;
  bytes: number;
  /** Every file operation of the stream, in order. */
  chain: Promise<void>;
}

/** The record's file name of a stream: readable, and distinct for ids a file name cannot tell apart. */
export function recordFileName(stream: string): string {
  const readable = stream.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\./, '_').slice(0, 48);
  return `${readable}-${createHash('sha256').update(stream, 'utf8').digest('hex').slice(0, 12)}.rec`;
}

export class WindowRecorder {
  readonly dir: string;
  private readonly streams = new Map<string, Recording>();
  private writeErrors = 0;

  constructor(
    stateDir: string,
    private readonly log: Log,
  ) {
    this.dir = path.join(stateDir, RECORDER_DIR);
  }

  /** Streams recorded since start, and the bytes their files hold. */
  stats(): { streams: number; bytes: number; writeErrors: number } {
    let bytes = 0;
    for (const r of this.streams.values()) bytes += r.bytes;
    return { streams: this.streams.size, bytes, writeErrors: this.writeErrors };
  }

  /**
   * A window the pipeline scored while learning was allowed. Cheap when it is not taken (thinning): no
   * allocation, no I/O. The first window of a stream since start opens its file (and takes nothing).
   */
  record(window: Window, channels: readonly string[], policy: RecordPolicy): void {
    let r = this.streams.get(window.stream);
    if (!r) {
      r = this.open(window.stream, { channels: [...channels], size: window.size }, policy);
      return;
    }
    r.policy = policy;
    if (!r.loaded) return;
    if (r.geometry.size !== window.size || !sameChannels(r.geometry.channels, channels)) {
      this.restart(window.stream, r, { channels: [...channels], size: window.size });
      return;
    }
    if (window.end < r.lastEnd + spacing(policy)) return;
    r.lastEnd = window.end;
    const frame = windowFrame(window);
    // Counted when written, in the stream's chain of file operations, so a compaction sees the file's count.
    this.enqueue(window.stream, r, async () => {
      await appendFile(r.file, frame);
      r.frames++;
      r.bytes += frame.length;
      if (r.frames > r.policy.cap * SLACK) await this.compact(r);
    });
  }

  /** The stream's recorded windows (after every write queued before this call), or null when it has none. */
  async read(stream: string): Promise<StreamRecord | null> {
    const r = this.streams.get(stream);
    if (r) await r.chain;
    const file = r?.file ?? path.join(this.dir, recordFileName(stream));
    const parsed = await readRecord(file).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    });
    return parsed && parsed.stream === stream ? parsed : null;
  }

  /** The streams with a record on disk (their files' headers), for a model's other streams after a restart. */
  async recordedStreams(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const name of names.filter((n) => n.endsWith('.rec'))) {
      const header = await readRecord(path.join(this.dir, name), true).catch(() => null);
      if (header) out.push(header.stream);
    }
    return out;
  }

  /** Waits for every queued write (stop, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].map((r) => r.chain));
  }

  private open(stream: string, geometry: Geometry, policy: RecordPolicy): Recording {
    const r: Recording = { file: path.join(this.dir, recordFileName(stream)), geometry, policy, loaded: false, lastEnd: -Infinity, frames: 0, bytes: 0, chain: Promise.resolve() };
    this.streams.set(stream, r);
    this.enqueue(stream, r, async () => {
      await mkdir(this.dir, { recursive: true });
      const existing = await readRecord(r.file).catch(() => null);
      if (existing && existing.stream === stream && existing.size === geometry.size && sameChannels(existing.channels, geometry.channels)) {
        const bytesOnDisk = (await stat(r.file)).size;
        const good = recordBytes(existing);
        // A torn or damaged tail goes now, so later appends follow the last good frame.
        if (existing.damaged > 0 || good.length !== bytesOnDisk) {
          await writeAtomic(r.file, good);
          this.log.warn('Dropped the damaged tail of a stream\'s window record.', { stream, file: r.file, kept: existing.windows.length });
        }
        r.frames = existing.windows.length;
        r.bytes = good.length;
        r.lastEnd = existing.windows.at(-1)?.end ?? -Infinity;
      } else {
        const fresh = recordBytes({ stream, ...geometry, windows: [], damaged: 0 });
        await writeAtomic(r.file, fresh);
        r.bytes = fresh.length;
      }
      r.loaded = true;
    });
    return r;
  }

  /** The stream's model shape changed: its record starts afresh in the new geometry. */
  private restart(stream: string, r: Recording, geometry: Geometry): void {
    r.geometry = geometry;
    r.loaded = false;
    this.enqueue(stream, r, async () => {
      const fresh = recordBytes({ stream, ...geometry, windows: [], damaged: 0 });
      await writeAtomic(r.file, fresh);
      r.frames = 0;
      r.bytes = fresh.length;
      r.lastEnd = -Infinity;
      r.loaded = true;
    });
  }

  /** Drops windows older than the lookback and thins the rest evenly to the cap. */
  private async compact(r: Recording): Promise<void> {
    const record = await readRecord(r.file);
    const newest = record.windows.at(-1)?.end ?? 0;
    const kept = thinEvenly(record.windows.filter((w) => w.end >= newest - r.policy.lookbackMs), r.policy.cap);
    const bytes = recordBytes({ ...record, windows: kept });
    await writeAtomic(r.file, bytes);
    r.frames = kept.length;
    r.bytes = bytes.length;
  }

  private enqueue(stream: string, r: Recording, op: () => Promise<void>): void {
    r.chain = r.chain.then(op).catch((err: unknown) => {
      this.writeErrors++;
      // Once per stream until it succeeds again would need more state; a failing disk shows in storage checks too.
      if (this.writeErrors === 1 || this.writeErrors % 1000 === 0) {
        this.log.warn('Cannot write the window record of a stream; retraining may find fewer windows.', { stream, file: r.file, errors: this.writeErrors, error: errorMessage(err) });
      }
      r.loaded = true;
    });
  }
}

/** At most `n` of `items`, evenly spread over them (first and last kept). */
export function thinEvenly<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  if (n <= 0) return [];
  if (n === 1) return [items[items.length - 1]];
  const out: T[] = [];
  const step = (items.length - 1) / (n - 1);
  for (let i = 0; i < n; i++) out.push(items[Math.round(i * step)]);
  return out;
}

/** The least time between two recorded windows of a stream. */
export function spacing(policy: RecordPolicy): number {
  return policy.lookbackMs / Math.max(1, policy.cap);
}

function sameChannels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, FRAME_HEADER);
  return out;
}

function windowFrame({ start, end, values, prematurity }: RecordedWindow): Buffer {
  // The prematurity after the values: a retrained model with a rhythm is calibrated on joined scores, as it was learnt.
  const payload = Buffer.allocUnsafe(WINDOW_HEAD + values.length * 4 + (prematurity !== undefined ? 8 : 0));
  payload.writeDoubleLE(start, 0);
  payload.writeDoubleLE(end, 8);
  Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(payload, WINDOW_HEAD);
  if (prematurity !== undefined) payload.writeDoubleLE(prematurity, WINDOW_HEAD + values.length * 4);
  return frame(payload);
}

/** The whole file of a record: magic, header, windows. */
export function recordBytes(record: Omit<StreamRecord, 'damaged'> & { damaged?: number }): Buffer {
  const header = frame(Buffer.from(JSON.stringify({ stream: record.stream, channels: record.channels, size: record.size }), 'utf8'));
  return Buffer.concat([MAGIC, header, ...record.windows.map((w) => windowFrame(w))]);
}

/** Reads a record file; a torn or damaged tail is counted in `damaged` and left out. With headerOnly, no windows. */
export async function readRecord(file: string, headerOnly = false): Promise<StreamRecord> {
  const buf = await readFile(file);
  return parseRecord(buf, file, headerOnly);
}

export function parseRecord(buf: Buffer, name: string, headerOnly = false): StreamRecord {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${name} is not a window record`);
  let header: { stream: string; channels: string[]; size: number } | undefined;
  let expected = 0;
  let wrongSize = 0;
  const windows: RecordedWindow[] = [];
  const decoded = decodeFrames(buf.subarray(MAGIC.length), (payload) => {
    if (!header) {
      const h = JSON.parse(payload.toString('utf8')) as { stream?: unknown; channels?: unknown; size?: unknown };
      if (typeof h.stream !== 'string' || !Array.isArray(h.channels) || typeof h.size !== 'number') throw new Error('bad header');
      header = { stream: h.stream, channels: h.channels.map(String), size: h.size };
      expected = WINDOW_HEAD + header.size * header.channels.length * 4;
      if (headerOnly) throw new StopReading();
      return;
    }
    if (payload.length !== expected && payload.length !== expected + 8) {
      wrongSize++;
      return;
    }
    const values = new Float32Array(header.size * header.channels.length);
    Buffer.from(values.buffer).set(payload.subarray(WINDOW_HEAD, expected));
    const start = payload.readDoubleLE(0);
    const end = payload.readDoubleLE(8);
    windows.push(payload.length === expected ? { start, end, values } : { start, end, values, prematurity: payload.readDoubleLE(expected) });
  });
  if (!header) throw new Error(`${name} has a damaged header`);
  return { stream: header.stream, channels: header.channels, size: header.size, windows, damaged: (headerOnly ? 0 : decoded.damaged) + wrongSize };
}

class StopReading extends Error {}
