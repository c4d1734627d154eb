// Binary encoding of what the state checkpoint and the sample journal keep: delivered message batches
// (stream, subscription, labels, samples) and each stream's window buffer snapshot. Frames carry a length and a
// CRC-32, so a torn tail (kill -9 in the middle of a write) or a damaged record is recognised and skipped.
//
// Journal files, format 2 (group commit): an 8-byte magic, then one frame per write(2), each holding every batch
// delivered in one event-loop turn back to back; one CRC covers the group, so a write torn by a kill loses
// exactly the group whose PUBACKs had not left yet. Format 1 (no magic; one frame per batch) is still read.
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import type { Sample } from '../core/types';
import type { WindowBufferSnapshot } from '../core/window';
import type { RhythmState } from '../core/rhythm';
import type { StreamCheckpoint, StreamSnapshot } from '../core/streamCheckpoint';
import type { StreamSamples } from '../core/source';

const FRAME_HEADER = 8;
/** The files are little-endian; on such a machine typed arrays are copied as bytes. */
const LITTLE_ENDIAN = endianness() === 'LE';
/** A length beyond this is damage, not data. */
const MAX_FRAME = 256 * 1024 * 1024;

/** Scratch for Writer.f32s and .sample: float conversion of short arrays (a message's channel values). */
const F32_SCRATCH = new Float32Array(64);
const F32_SCRATCH_BYTES = new Uint8Array(F32_SCRATCH.buffer);
const F64_SCRATCH = new Float64Array(1);
const F64_SCRATCH_BYTES = new Uint8Array(F64_SCRATCH.buffer);

/** Appends to a growing byte buffer; one allocation per doubling (also the score filters' log, filterCheckpoint.ts). */
export class Writer {
  private buf: Buffer;
  private pos = 0;

  /** Starts with `into` when given (its content is overwritten), else with a new buffer of `initial` bytes. */
  constructor(initial = 256, into?: Buffer) {
    this.buf = into ?? Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Not from Node's shared pool: a buffer that outgrew its start is the writer's alone (encodeStreams's
    // callers reuse all of its memory).
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.pos = this.buf.writeUInt8(v, this.pos);
  }

  u16(v: number): void {
    this.room(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  u32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }

  f64(v: number): void {
    this.room(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    // TypedArray#set, not Buffer#copy: a builtin copy instead of a call into C++ (a journal header per message).
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  f32s(values: ArrayLike<number>): void {
    const n = values.length;
    this.room(n * 4);
    if (!LITTLE_ENDIAN) {
      for (let i = 0; i < n; i++) this.pos = this.buf.writeFloatLE(values[i], this.pos);
      return;
    }
    if (values instanceof Float32Array) {
      // The bytes as they are: one copy instead of a call per value.
      this.buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.pos);
      this.pos += values.byteLength;
      return;
    }
    if (n <= F32_SCRATCH.length) {
      this.fewF32s(values, n);
      return;
    }
    for (let i = 0; i < n; i++) this.pos = this.buf.writeFloatLE(values[i], this.pos);
  }

  /**
   * A message's few values (float64 from the decoder; little-endian machine, n <= F32_SCRATCH.length, room
   * made): rounded to float32 by one typed-array store each, as writeFloatLE rounds, then copied as bytes; a
   * writeFloatLE call per value showed in the ingest profile.
   */
  private fewF32s(values: ArrayLike<number>, n: number): void {
    for (let i = 0; i < n; i++) F32_SCRATCH[i] = values[i];
    const buf = this.buf;
    const at = this.pos;
    for (let b = 0; b < n * 4; b++) buf[at + b] = F32_SCRATCH_BYTES[b];
    this.pos = at + n * 4;
  }

  /**
   * One sample: time (f64), value count (u16), values (f32), as f64 + u16 + f32s write them. The journal writes
   * one per message, so the common case is one bounds check and byte stores instead of three calls into
   * Buffer's writers.
   */
  sample(ts: number, values: ArrayLike<number>): void {
    const n = values.length;
    if (!LITTLE_ENDIAN || n > F32_SCRATCH.length) {
      this.f64(ts);
      this.u16(n);
      this.f32s(values);
      return;
    }
    this.room(10 + n * 4);
    const buf = this.buf;
    let at = this.pos;
    F64_SCRATCH[0] = ts;
    for (let b = 0; b < 8; b++) buf[at++] = F64_SCRATCH_BYTES[b];
    buf[at++] = n & 0xff;
    buf[at++] = n >>> 8;
    this.pos = at;
    this.fewF32s(values, n);
  }

  f64s(values: ArrayLike<number>): void {
    this.room(values.length * 8);
    if (values instanceof Float64Array && LITTLE_ENDIAN) {
      this.buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.pos);
      this.pos += values.byteLength;
      return;
    }
    for (let i = 0; i < values.length; i++) this.pos = this.buf.writeDoubleLE(values[i], this.pos);
  }

  /** A string as u32 byte length + UTF-8, written in place (no intermediate Buffer). */
  string(s: string): void {
    this.room(4 + s.length * 3);
    const at = this.pos;
    const n = this.buf.write(s, at + 4, 'utf8');
    this.buf.writeUInt32LE(n, at);
    this.pos = at + 4 + n;
  }

  get length(): number {
    return this.pos;
  }

  /** Forgets what was written, keeping the buffer: the next group reuses the allocation. */
  truncate(pos: number): void {
    this.pos = pos;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Seals what was written since `start` (which began with a frame header's 8 bytes) as one frame. */
  seal(start: number): void {
    sealFrame(this.buf.subarray(start, this.pos));
  }
}

/** Reads what Writer wrote; throws a RangeError past the end (the caller treats the record as damaged). */
export class Reader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('record ends early');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  f32s(n: number): Float32Array {
    this.need(n * 4);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.buf.readFloatLE(this.pos + i * 4);
    this.pos += n * 4;
    return out;
  }

  f64s(n: number): Float64Array {
    this.need(n * 8);
    const out = new Float64Array(n);
    // Copied as bytes on a little-endian machine (into an aligned buffer of its own).
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(this.buf.subarray(this.pos, this.pos + n * 8));
    else for (let i = 0; i < n; i++) out[i] = this.buf.readDoubleLE(this.pos + i * 8);
    this.pos += n * 8;
    return out;
  }

  /** A string as Writer.string wrote it. */
  string(): string {
    return this.bytes(this.u32()).toString('utf8');
  }

  get end(): boolean {
    return this.pos === this.buf.length;
  }
}

function writeSamples(w: Writer, samples: readonly Sample[]): void {
  w.u32(samples.length);
  for (let i = 0; i < samples.length; i++) w.sample(samples[i].ts, samples[i].values);
}

function readSamples(r: Reader): Sample[] {
  const n = r.u32();
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const ts = r.f64();
    out.push({ ts, values: r.f32s(r.u16()) });
  }
  return out;
}

function writeString(w: Writer, s: string): void {
  w.string(s);
}

function readString(r: Reader): string {
  return r.bytes(r.u32()).toString('utf8');
}

/** One delivered message batch as a format-1 frame (length, CRC-32, payload): what older versions wrote. */
export function encodeBatch(batch: StreamSamples): Buffer {
  const w = new Writer(64 + batch.samples.length * 48);
  w.u32(0);
  w.u32(0);
  writeString(w, JSON.stringify([batch.stream, batch.subscription, batch.labels]));
  writeSamples(w, batch.samples);
  return sealFrame(w.done());
}

function sealFrame(frame: Buffer): Buffer {
  const payload = frame.subarray(FRAME_HEADER);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  return frame;
}

function decodeBatch(payload: Buffer): StreamSamples {
  const r = new Reader(payload);
  const batch = readBatch(r);
  if (!r.end) throw new RangeError('trailing bytes');
  return batch;
}

function readBatch(r: Reader): StreamSamples {
  const head: unknown = JSON.parse(readString(r));
  if (!Array.isArray(head) || typeof head[0] !== 'string' || typeof head[1] !== 'number' || typeof head[2] !== 'object' || head[2] === null) {
    throw new RangeError('bad batch header');
  }
  const samples = readSamples(r);
  return { stream: head[0], subscription: head[1], labels: head[2] as Record<string, string>, samples };
}

/** The first bytes of a format-2 journal file ("ADJ" + format 2 + 4 reserved). */
export const JOURNAL_MAGIC = Buffer.from([0x41, 0x44, 0x4a, 0x02, 0, 0, 0, 0]);

/** Streams whose journal header a group keeps encoded (about the stream limit of a large plant). */
const HEADER_CACHE_MAX = 20_000;

/**
 * Collects the batches of one group (one write) in a reused, growing buffer. `add` only encodes; `group()`
 * seals the frame (length, one CRC-32) and returns a view that stays valid until the next `clear()`.
 */
export class JournalGroup {
  private readonly w = new Writer(64 * 1024);
  private count = 0;
  /**
   * Encoded headers by stream id. Keyed by the stream's string, not the labels object: the pipeline looks the
   * same string up next, so its hash is at hand, where a labels key was one more object to fetch per message.
   * Bounded: cleared when it reaches HEADER_CACHE_MAX streams (they are encoded again when they next send).
   */
  private readonly headers = new Map<string, { readonly labels: object; readonly subscription: number; readonly bytes: Buffer }>();

  constructor() {
    this.w.u32(0);
    this.w.u32(0);
  }

  /** Batches added since the last clear(). */
  get size(): number {
    return this.count;
  }

  add(batch: StreamSamples): void {
    const w = this.w;
    w.bytes(this.header(batch));
    writeSamples(w, batch.samples);
    this.count++;
  }

  /**
   * The batch's encoded header (stream, subscription, labels). The MQTT source hands every message of a topic
   * the same frozen labels object, so the header is encoded once per topic instead of once per message.
   */
  private header(batch: StreamSamples): Buffer {
    const { labels } = batch;
    // Only frozen labels are ever cached, and a frozen object cannot change: an entry found is still right, so
    // isFrozen (which showed in the ingest profile) is asked on a miss only.
    const hit = this.headers.get(batch.stream);
    if (hit !== undefined && hit.labels === labels && hit.subscription === batch.subscription) return hit.bytes;
    const frozen = Object.isFrozen(labels);
    const json = Buffer.from(JSON.stringify([batch.stream, batch.subscription, labels]), 'utf8');
    const bytes = Buffer.allocUnsafe(4 + json.length);
    bytes.writeUInt32LE(json.length, 0);
    json.copy(bytes, 4);
    if (frozen) {
      if (this.headers.size >= HEADER_CACHE_MAX) this.headers.clear();
      this.headers.set(batch.stream, { labels, subscription: batch.subscription, bytes });
    }
    return bytes;
  }

  /** The sealed frame of everything added; empty when nothing was. */
  group(): Buffer {
    if (this.count === 0) return Buffer.alloc(0);
    return sealFrame(this.w.done());
  }

  clear(): void {
    this.w.truncate(FRAME_HEADER);
    this.count = 0;
  }
}

function decodeGroup(payload: Buffer): StreamSamples[] {
  const r = new Reader(payload);
  const out: StreamSamples[] = [];
  while (!r.end) out.push(readBatch(r));
  return out;
}

/**
 * Every intact batch of one journal file, format 2 or 1. `damaged` counts damaged frames (a torn group counts
 * once, whatever number of batches it held).
 */
export function decodeJournal(buf: Buffer): DecodedFrames<StreamSamples> {
  if (buf.length < JOURNAL_MAGIC.length || !buf.subarray(0, 3).equals(JOURNAL_MAGIC.subarray(0, 3))) return decodeBatches(buf);
  if (buf[3] !== JOURNAL_MAGIC[3]) throw new Error(`journal format ${buf[3]} is newer than this anomalyd reads (format ${JOURNAL_MAGIC[3]})`);
  const groups = decodeFrames(buf.subarray(JOURNAL_MAGIC.length), decodeGroup);
  return { items: groups.items.flat(), damaged: groups.damaged };
}

export interface DecodedFrames<T> {
  readonly items: T[];
  /** Frames found damaged (bad checksum or content), plus a torn tail as one. */
  readonly damaged: number;
}

/** Every intact frame of a file, in order; a damaged frame ends the scan (its length cannot be trusted). */
export function decodeFrames<T>(buf: Buffer, decode: (payload: Buffer) => T): DecodedFrames<T> {
  const items: T[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < FRAME_HEADER) return { items, damaged: 1 };
    const len = buf.readUInt32LE(pos);
    if (len > MAX_FRAME || pos + FRAME_HEADER + len > buf.length) return { items, damaged: 1 };
    const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len);
    if (crc32(payload) !== buf.readUInt32LE(pos + 4)) return { items, damaged: 1 };
    try {
      items.push(decode(payload));
    } catch {
      return { items, damaged: 1 };
    }
    pos += FRAME_HEADER + len;
  }
  return { items, damaged: 0 };
}

export function decodeBatches(buf: Buffer): DecodedFrames<StreamSamples> {
  return decodeFrames(buf, decodeBatch);
}

/**
 * Encodes streams one by one, one frame each, into one buffer: the state checkpoint hands each stream over as a
 * view on its live ring (see Pipeline.checkpoint) and the view is garbage as soon as it is written. Collecting
 * 10,000 views first kept them all alive across young-generation collections, which promoted them: about 5 MB of
 * old-generation garbage per checkpoint with the streams sending.
 *
 * With `into`, writes into it (the result is then a view on it) and grows by doubling beyond it; the buffer
 * returned is never a slice of Node's shared pool, so a caller can keep reusing all of its memory.
 */
export class StreamsEncoder {
  private readonly w: Writer;

  constructor(into?: Buffer, expectedBytes = 64 * 1024) {
    // allocUnsafeSlow: never a slice of Node's shared pool, whose other slices belong to other buffers.
    this.w = new Writer(0, into && into.length >= 64 ? into : Buffer.allocUnsafeSlow(Math.max(expectedBytes, 64)));
  }

  add(id: string, s: StreamSnapshot | StreamCheckpoint): void {
    const w = this.w;
    const win = s.window;
    const start = w.length;
    w.u32(0);
    w.u32(0);
    writeString(w, id);
    w.u32(win.size);
    w.u32(win.hop);
    w.u32(win.channels);
    w.u32(win.untilEmit);
    w.f64(win.lastTs);
    w.u32(blocksLength(win.ts));
    for (const block of blocks(win.ts)) w.f64s(block);
    for (const block of blocks(win.values)) w.f32s(block);
    w.f32s(win.beforeWindow);
    writeSamples(w, s.held);
    // The rhythm tracker's state after everything else, so a frame without it (one from before it existed)
    // reads as a stream without one.
    if (win.rhythm) writeRhythm(w, win.rhythm);
    w.seal(start);
  }

  /** The encoded frames (a view on the writer's buffer). */
  done(): Buffer {
    return this.w.done();
  }
}

/** Every stream's snapshot as one frame per stream, in one buffer (see StreamsEncoder for `into`). */
export function encodeStreams(streams: ReadonlyMap<string, StreamSnapshot | StreamCheckpoint>, into?: Buffer): Buffer {
  const encoder = new StreamsEncoder(into);
  for (const [id, s] of streams) encoder.add(id, s);
  return encoder.done();
}

/** A snapshot's steps are one array; a checkpoint view's are the ring's blocks, written back to back. */
function blocks<T extends Float32Array | Float64Array>(a: T | readonly T[]): readonly T[] {
  return Array.isArray(a) ? (a as readonly T[]) : [a as T];
}

function blocksLength(a: Float32Array | Float64Array | readonly (Float32Array | Float64Array)[]): number {
  let n = 0;
  for (const block of blocks(a)) n += block.length;
  return n;
}

function decodeStream(payload: Buffer): [string, StreamSnapshot] {
  const r = new Reader(payload);
  const id = readString(r);
  const size = r.u32();
  const hop = r.u32();
  const channels = r.u32();
  const untilEmit = r.u32();
  const lastTs = r.f64();
  const filled = r.u32();
  if (filled > size) throw new RangeError('more steps than the window holds');
  const ts = r.f64s(filled);
  const values = r.f32s(filled * channels);
  const beforeWindow = r.f32s(channels);
  const window: WindowBufferSnapshot = { size, hop, channels, untilEmit, lastTs, ts, values, beforeWindow };
  const held = readSamples(r);
  const rhythm = r.end ? undefined : readRhythm(r);
  if (!r.end) throw new RangeError('trailing bytes');
  return [id, { window: rhythm ? { ...window, rhythm } : window, held }];
}

/** Each ring of a rhythm tracker as a count and its values (core/rhythm.ts checks the sizes on restore). */
function writeRhythm(w: Writer, state: RhythmState): void {
  for (const a of [state.scalars, state.raw, state.squared, state.intervals]) {
    w.u32(a.length);
    w.f64s(a);
  }
}

/** Rings longer than this are not a tracker's (history_events and smoothing are bounded far below). */
const MAX_RHYTHM_RING = 1_000_000;

function readRhythm(r: Reader): RhythmState {
  const ring = (): Float64Array => {
    const n = r.u32();
    if (n > MAX_RHYTHM_RING) throw new RangeError('rhythm ring too long');
    return r.f64s(n);
  };
  return { scalars: ring(), raw: ring(), squared: ring(), intervals: ring() };
}

export function decodeStreams(buf: Buffer): DecodedFrames<[string, StreamSnapshot]> {
  return decodeFrames(buf, decodeStream);
}
