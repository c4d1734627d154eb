// A disk spool: an append-only FIFO of opaque records in segment files, for data that must outlive an outage of
// its destination and a restart of the daemon (the InfluxDB sink spills here when its memory buffer is full).
//
// Files: <dir>/<first sequence, 16 digits>.seg, <dir>/cursor (the last delivered sequence) and, for a damaged
// segment, <segment>.lost (how many of its records were already reported lost). Every record
// gets a sequence number that never restarts, and a segment holds consecutive numbers from the one in its name,
// so records lost to damage are counted exactly from the gaps, whatever the damage looks like. New data always
// goes to a new segment (a file found at start is never appended to, its tail may be torn).
//
// Frame (little endian): magic u32 | payload length u32 | sequence u32 lo, u32 hi | crc32 u32 | payload,
// the crc covering length, sequence and payload.
//
// Durability: append() writes each segment's share of a batch with one write and fdatasyncs it before it
// resolves; a new segment's directory entry is fsynced too. So what append() accepted survives kill -9 and
// power loss. The cursor is written without fsync: losing it only replays delivered records again.
// Size cap: the oldest whole segments are deleted (their undelivered records counted) so the files stay within
// maxBytes; a segment is maxBytes/8 (4 KiB..8 MiB), the granularity of that drop.
import { crc32 } from 'node:zlib';
import { mkdir, open, readFile, readdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';

const MAGIC = 0x31505341; // "ASP1"
export const FRAME_HEADER_BYTES = 20;
/** Larger lengths are damage, not data: keeps a flipped length bit from swallowing the rest of a file. */
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
const SEGMENT_RE = /^(\d{16})\.seg$/;

export interface SpoolOptions {
  readonly dir: string;
  /** Upper bound of the bytes in segment files; the oldest records are dropped beyond it. */
  readonly maxBytes: number;
  /** Segment size, the unit in which old data is dropped. Default maxBytes/8 within [4 KiB, 8 MiB]. */
  readonly segmentBytes?: number;
}

export interface SpoolOpenReport {
  /** Records waiting to be delivered. */
  readonly records: number;
  readonly bytes: number;
  /** Records found damaged (torn, bad checksum, missing from a sequence): lost. */
  readonly corrupt: number;
  /** Records dropped because the files exceeded maxBytes (e.g. after the cap was lowered). */
  readonly dropped: number;
}

export interface SpoolAppendResult {
  /** Payloads taken from the front of the input: on disk, or dropped because they alone exceed maxBytes. */
  readonly consumed: number;
  /** Records dropped to respect maxBytes: the oldest undelivered ones, or the front of this input. */
  readonly dropped: number;
  /** Set when a write failed (ENOSPC...): payloads from `consumed` on are not on disk; the caller keeps them. */
  readonly error: NodeJS.ErrnoException | null;
}

/** Records handed out by read(); give it back to commit() once delivered. */
export interface SpoolBatch {
  readonly payloads: readonly Buffer[];
  /** Records found damaged while reading (normally already counted by open()). */
  readonly corrupt: number;
}

export interface SpoolRecord {
  readonly seq: number;
  readonly payload: Buffer;
}

interface Segment {
  readonly firstSeq: number;
  readonly file: string;
  /** Sequence range [lo, hi) of the undelivered records this segment is expected to hold. */
  readonly lo: number;
  hi: number;
  bytes: number;
  /** Intact undelivered records in the file. */
  records: number;
  handedOut: number;
  committed: number;
  sealed: boolean;
  deleted: boolean;
  fd: FileHandle | null;
  loaded: SpoolRecord[] | null;
}

interface OwnedBatch extends SpoolBatch {
  readonly segment: Segment | null;
  readonly lastSeq: number;
}

export function encodeFrame(seq: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(MAGIC, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeUInt32LE(seq % 0x1_0000_0000, 8);
  frame.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), 12);
  payload.copy(frame, FRAME_HEADER_BYTES);
  frame.writeUInt32LE(crc32(payload, crc32(frame.subarray(4, 16))), 16);
  return frame;
}

export interface ParsedSegment {
  readonly records: SpoolRecord[];
  /** Bytes after the last intact frame that hold no intact frame (a torn write, or trailing damage). */
  readonly tailBytes: number;
}

function frameAt(buf: Buffer, pos: number): { seq: number; end: number } | null {
  if (buf.length - pos < FRAME_HEADER_BYTES || buf.readUInt32LE(pos) !== MAGIC) return null;
  const len = buf.readUInt32LE(pos + 4);
  const end = pos + FRAME_HEADER_BYTES + len;
  if (len > MAX_PAYLOAD_BYTES || end > buf.length) return null;
  const crc = crc32(buf.subarray(pos + FRAME_HEADER_BYTES, end), crc32(buf.subarray(pos + 4, pos + 16)));
  if (crc !== buf.readUInt32LE(pos + 16)) return null;
  return { seq: buf.readUInt32LE(pos + 8) + buf.readUInt32LE(pos + 12) * 0x1_0000_0000, end };
}

/** Every intact frame of a segment, in file order; damaged spans are skipped by searching for the next magic. */
export function parseSegment(buf: Buffer): ParsedSegment {
  const records: SpoolRecord[] = [];
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(MAGIC, 0);
  let pos = 0;
  let tailBytes = 0;
  while (pos < buf.length) {
    const frame = frameAt(buf, pos);
    if (frame) {
      records.push({ seq: frame.seq, payload: buf.subarray(pos + FRAME_HEADER_BYTES, frame.end) });
      pos = frame.end;
      continue;
    }
    let next = buf.indexOf(magic, pos + 1);
    while (next >= 0 && !frameAt(buf, next)) next = buf.indexOf(magic, next + 1);
    if (next < 0) {
      tailBytes = buf.length - pos;
      break;
    }
    pos = next;
  }
  return { records, tailBytes };
}

/** The records with sequence numbers in [lo, hi), first copy of each. */
function inRange(records: readonly SpoolRecord[], lo: number, hi: number): SpoolRecord[] {
  let next = lo;
  return records.filter((r) => {
    if (r.seq < next || r.seq >= hi) return false;
    next = r.seq + 1;
    return true;
  });
}

export class Spool {
  private segments: Segment[] = [];
  private nextSeq = 0;
  private cursor = -1;
  private total = 0;
  private readonly segmentBytes: number;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SpoolOptions) {
    this.segmentBytes = opts.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(4096, Math.floor(opts.maxBytes / 8)));
  }

  /** Bytes in segment files. */
  get bytes(): number {
    return this.total;
  }

  /** Records not yet handed out by read(). */
  get pending(): number {
    return this.segments.reduce((n, s) => n + s.records - s.handedOut, 0);
  }

  /** Scans the directory: counts intact and damaged records, deletes delivered and empty segments. */
  open(): Promise<SpoolOpenReport> {
    return this.exclusive(async () => {
      await mkdir(this.opts.dir, { recursive: true });
      this.cursor = await this.readCursor();
      const names = (await readdir(this.opts.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
      const firsts = names.map((n) => Number(SEGMENT_RE.exec(n)?.[1]));
      let corrupt = 0;
      this.nextSeq = this.cursor + 1;
      for (let i = 0; i < names.length; i++) {
        const file = path.join(this.opts.dir, names[i]);
        const buf = await readFile(file).catch(() => Buffer.alloc(0));
        const parsed = parseSegment(buf);
        const lo = Math.max(firsts[i], this.cursor + 1);
        const lastIntact = parsed.records.length ? parsed.records[parsed.records.length - 1].seq : firsts[i] - 1;
        // A segment ends where the next one starts; the newest ends after its last intact frame, plus one torn
        // record when bytes follow that frame.
        const hi = i + 1 < names.length ? firsts[i + 1] : Math.max(lastIntact + 1, firsts[i]) + (parsed.tailBytes > 0 ? 1 : 0);
        const intact = inRange(parsed.records, lo, hi).length;
        corrupt += await this.newlyLost(file, Math.max(0, hi - lo - intact));
        this.nextSeq = Math.max(this.nextSeq, hi);
        const seg = this.segment(firsts[i], file, lo, hi, buf.length, intact);
        seg.sealed = true;
        this.segments.push(seg);
        this.total += buf.length;
        if (intact === 0) await this.remove(seg);
      }
      const dropped = await this.makeRoom(0);
      return { records: this.pending, bytes: this.total, corrupt, dropped };
    });
  }

  /** Appends records durably (written and fdatasynced), dropping the oldest records to stay within maxBytes. */
  append(payloads: readonly Buffer[]): Promise<SpoolAppendResult> {
    return this.exclusive(async () => {
      let i = 0;
      let size = payloads.reduce((n, p) => n + FRAME_HEADER_BYTES + p.length, 0);
      while (i < payloads.length && size > this.opts.maxBytes) size -= FRAME_HEADER_BYTES + payloads[i++].length;
      let dropped = i;
      try {
        while (i < payloads.length) {
          const active = await this.activeSegment();
          const frames: Buffer[] = [];
          let groupBytes = 0;
          for (let j = i; j < payloads.length; j++) {
            const len = FRAME_HEADER_BYTES + payloads[j].length;
            if (frames.length > 0 && active.bytes + groupBytes + len > this.segmentBytes) break;
            frames.push(encodeFrame(this.nextSeq + frames.length, payloads[j]));
            groupBytes += len;
          }
          dropped += await this.makeRoom(groupBytes);
          if (active.deleted) continue; // it was the oldest segment itself: start a fresh one
          await this.writeFrames(active, frames, groupBytes);
          i += frames.length;
        }
      } catch (err) {
        return { consumed: i, dropped, error: err as NodeJS.ErrnoException };
      }
      return { consumed: payloads.length, dropped, error: null };
    });
  }

  /** Up to `max` records of the oldest segment, in order; null when nothing waits. One batch at a time. */
  read(max: number): Promise<SpoolBatch | null> {
    return this.exclusive(async () => {
      let corrupt = 0;
      for (;;) {
        const seg = this.segments.find((s) => s.handedOut < s.records);
        if (!seg) return corrupt > 0 ? ({ payloads: [], corrupt, segment: null, lastSeq: -1 } satisfies OwnedBatch) : null;
        if (!seg.sealed) await this.seal(seg);
        if (!seg.loaded) {
          const buf = await readFile(seg.file).catch(() => Buffer.alloc(0));
          seg.loaded = inRange(parseSegment(buf).records, seg.lo, seg.hi);
          // Damage that appeared after open() (the file changed under us) is counted here.
          corrupt += Math.max(0, seg.records - seg.loaded.length);
          seg.records = Math.min(seg.records, seg.loaded.length);
          if (seg.handedOut >= seg.records) {
            await this.dropIfDone(seg);
            continue;
          }
        }
        const records = seg.loaded.slice(seg.handedOut, seg.handedOut + max);
        seg.handedOut += records.length;
        const lastSeq = records[records.length - 1].seq;
        return { payloads: records.map((r) => r.payload), corrupt, segment: seg, lastSeq } satisfies OwnedBatch;
      }
    });
  }

  /** Marks a batch delivered; a segment whose records are all delivered is deleted. */
  commit(batch: SpoolBatch): Promise<void> {
    return this.exclusive(async () => {
      const { segment: seg, lastSeq } = batch as OwnedBatch;
      if (!seg || seg.deleted) return;
      seg.committed += batch.payloads.length;
      this.cursor = Math.max(this.cursor, lastSeq);
      await this.dropIfDone(seg);
      await writeFile(path.join(this.opts.dir, 'cursor'), `${this.cursor}\n`);
    });
  }

  /**
   * Gives back a batch that was not delivered; the next read() hands its records out again. Resolves false
   * when its segment was dropped meanwhile (size cap): the caller then still owns the records.
   */
  release(batch: SpoolBatch): Promise<boolean> {
    return this.exclusive(() => {
      const seg = (batch as OwnedBatch).segment;
      if (!seg) return Promise.resolve(true);
      if (!seg.deleted) seg.handedOut = Math.max(seg.committed, seg.handedOut - batch.payloads.length);
      return Promise.resolve(!seg.deleted);
    });
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      for (const seg of this.segments) {
        if (!seg.sealed) await this.seal(seg);
      }
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private segment(firstSeq: number, file: string, lo: number, hi: number, bytes: number, records: number): Segment {
    return { firstSeq, file, lo, hi, bytes, records, handedOut: 0, committed: 0, sealed: false, deleted: false, fd: null, loaded: null };
  }

  private async readCursor(): Promise<number> {
    try {
      const n = Number((await readFile(path.join(this.opts.dir, 'cursor'), 'utf8')).trim());
      return Number.isSafeInteger(n) && n >= -1 ? n : -1;
    } catch {
      return -1; // missing or unreadable: at worst delivered records are replayed again (rewrites are idempotent)
    }
  }

  /**
   * Damage is reported once: the count already reported for a segment is kept next to it (<segment>.lost),
   * so a restart before the segment is replayed does not count the same records again.
   */
  private async newlyLost(file: string, lost: number): Promise<number> {
    if (lost === 0) return 0;
    const before = Number((await readFile(`${file}.lost`, 'utf8').catch(() => '0')).trim()) || 0;
    if (lost > before) await writeFile(`${file}.lost`, `${lost}\n`).catch(() => undefined);
    return Math.max(0, lost - before);
  }

  private async activeSegment(): Promise<Segment> {
    const last = this.segments[this.segments.length - 1];
    if (last && !last.sealed && last.bytes < this.segmentBytes) return last;
    if (last && !last.sealed) await this.seal(last);
    if (last && last.records === 0 && last.firstSeq === this.nextSeq) {
      // Sealed empty after a failed write: its name is the one we need, and opening it below truncates it.
      this.segments.pop();
      this.total -= last.bytes;
    }
    const file = path.join(this.opts.dir, `${String(this.nextSeq).padStart(16, '0')}.seg`);
    const seg = this.segment(this.nextSeq, file, this.nextSeq, this.nextSeq, 0, 0);
    seg.fd = await open(file, 'w');
    await this.syncDir();
    this.segments.push(seg);
    return seg;
  }

  private async writeFrames(seg: Segment, frames: Buffer[], bytes: number): Promise<void> {
    const fd = seg.fd;
    if (!fd) throw new Error(`Spool segment '${seg.file}' is not open`);
    try {
      // A nearly full disk takes part of a write without an error (a short write); only the next one fails.
      const buf = Buffer.concat(frames, bytes);
      let done = 0;
      while (done < bytes) {
        const { bytesWritten } = await fd.write(buf, done, bytes - done, seg.bytes + done);
        if (bytesWritten === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
        done += bytesWritten;
      }
      await fd.datasync();
    } catch (err) {
      // Roll back a partial write so the file holds whole frames only; if even that fails, seal the segment:
      // frames beyond its sequence range [lo, hi) are ignored when it is read.
      await fd.truncate(seg.bytes).catch(() => this.seal(seg));
      throw err;
    }
    seg.bytes += bytes;
    seg.records += frames.length;
    seg.hi += frames.length;
    this.total += bytes;
    this.nextSeq += frames.length;
  }

  /** Deletes the oldest segments until `incoming` more bytes fit; returns the undelivered records dropped. */
  private async makeRoom(incoming: number): Promise<number> {
    let dropped = 0;
    while (this.segments.length > 0 && this.total + incoming > this.opts.maxBytes) {
      const oldest = this.segments[0];
      // Records already handed out stay with the reader's batch: it either delivers them or releases them.
      dropped += oldest.records - oldest.handedOut;
      await this.remove(oldest);
    }
    return dropped;
  }

  private async dropIfDone(seg: Segment): Promise<void> {
    if (seg.sealed && seg.committed >= seg.records && seg.handedOut >= seg.records) await this.remove(seg);
  }

  private async seal(seg: Segment): Promise<void> {
    seg.sealed = true;
    const fd = seg.fd;
    seg.fd = null;
    if (fd) await fd.close();
  }

  private async remove(seg: Segment): Promise<void> {
    await this.seal(seg);
    seg.deleted = true;
    seg.loaded = null;
    const idx = this.segments.indexOf(seg);
    if (idx >= 0) {
      this.segments.splice(idx, 1);
      this.total -= seg.bytes;
    }
    // A file that cannot be removed is counted as gone; it is scanned (and its records ignored) next start.
    await rm(seg.file, { force: true }).catch(() => undefined);
    await rm(`${seg.file}.lost`, { force: true }).catch(() => undefined);
  }

  private async syncDir(): Promise<void> {
    const dir = await open(this.opts.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
