// The sample journal: every message batch the pipeline takes is appended here before its MQTT message is
// acknowledged, so samples acknowledged but not yet scored (the window being filled, windows queued) survive
// kill -9. No fsync: the page cache outlives the process, so kill -9 and OOM kills lose nothing; a power loss
// loses the unsynced tail (at most one checkpoint interval).
//
// Group commit: append() only encodes into a buffer; commit() writes everything appended since the last commit
// in one write(2). The ingest gate commits once per event-loop turn, before that turn's PUBACKs leave (the ack
// batcher asks it first), so no message is acknowledged whose frame is not written, at one system call per
// turn instead of one per message (which cost about a quarter of the daemon's CPU). A kill before the commit
// loses only batches whose messages were not acknowledged: the broker sends them again.
//
// Files: <dir>/<generation, 12 digits>.journal. Each state checkpoint (stateStore.ts) captures the pipeline's
// window buffers and alert state, then starts a new generation at the same instant; once that checkpoint is on
// disk the older generations are deleted. A start therefore restores the last checkpoint and replays every
// journal from its generation on, which rebuilds the window buffers exactly as they were at the kill: the same
// window grid, so re-scored windows rewrite the same InfluxDB points.
import { closeSync, ftruncateSync, fstatSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { StreamSamples } from '../core/source';
import { decodeJournal, JOURNAL_MAGIC, JournalGroup } from './sampleCodec';

const FILE_RE = /^(\d{12})\.journal$/;

export interface JournalReplay {
  readonly batches: StreamSamples[];
  /** Journal files read. */
  readonly files: number;
  /** Damaged or torn records (a kill in the middle of a write leaves at most one per file). */
  readonly damaged: number;
}

export class SampleJournal {
  private fd: number | null = null;
  private gen = 0;
  /** Batches appended to the current generation. */
  private appended = 0;
  /** Bytes in the current file (appends write at this offset). */
  private bytes = 0;
  /** Batches appended and not yet committed, encoded as one frame. */
  private readonly pending = new JournalGroup();

  constructor(readonly dir: string) {}

  get generation(): number {
    return this.gen;
  }

  /** True when something was appended since the last rotate(). */
  get dirty(): boolean {
    return this.appended > 0 || this.pending.size > 0;
  }

  /** Batches appended but not yet written (commit() writes them). */
  get uncommitted(): number {
    return this.pending.size;
  }

  /**
   * Reads every journal of generation `from` or later (what the last checkpoint does not cover), then opens a
   * new generation after the newest found for appending.
   */
  async open(from: number): Promise<JournalReplay> {
    await mkdir(this.dir, { recursive: true });
    const gens = (await readdir(this.dir))
      .map((n) => FILE_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const batches: StreamSamples[] = [];
    let damaged = 0;
    let files = 0;
    for (const g of gens) {
      if (g < from) continue;
      const decoded = decodeJournal(await readFile(this.file(g)));
      for (const b of decoded.items) batches.push(b);
      damaged += decoded.damaged;
      files++;
    }
    this.gen = Math.max(from, (gens.at(-1) ?? 0) + 1);
    this.fd = openSync(this.file(this.gen), 'a');
    this.bytes = fstatSync(this.fd).size;
    return { batches, files, damaged };
  }

  /** Appends one batch to the group being collected (memory only: commit() writes it). */
  append(batch: StreamSamples): void {
    if (this.fd === null) throw new Error('the sample journal is not open');
    this.pending.add(batch);
  }

  /**
   * Writes the batches appended since the last commit in one write (synchronously: they are in the page cache
   * when this returns). Throws on a write error; the batches stay pending, and a later commit writes them.
   */
  commit(): void {
    if (this.pending.size === 0) return;
    if (this.fd === null) throw new Error('the sample journal is not open');
    const frame = this.pending.group();
    const head = this.bytes === 0 ? JOURNAL_MAGIC.length : 0;
    this.write(head > 0 ? Buffer.concat([JOURNAL_MAGIC, frame]) : frame);
    this.appended += this.pending.size;
    this.pending.clear();
  }

  private write(data: Buffer): void {
    if (this.fd === null) throw new Error('the sample journal is not open');
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (err) {
      // Take a partial frame back, so later frames are readable; failing that, they go to a new file.
      if (off > 0) {
        try {
          ftruncateSync(this.fd, this.bytes);
        } catch {
          this.rotateFile();
        }
      }
      throw err;
    }
    this.bytes += data.length;
  }

  /**
   * Starts the next generation now (synchronously, so it pairs exactly with a state capture) and returns its
   * number. What is pending is committed to the current generation first (the checkpoint taken with this
   * rotation covers it, but its acks may leave before that checkpoint is on disk). When that write fails or the
   * new file cannot be created, the current one stays in use and the error is thrown.
   */
  rotate(): number {
    this.commit();
    return this.rotateFile();
  }

  private rotateFile(): number {
    const next = openSync(this.file(this.gen + 1), 'a');
    if (this.fd !== null) closeSync(this.fd);
    this.fd = next;
    this.gen++;
    this.appended = 0;
    this.bytes = fstatSync(next).size;
    return this.gen;
  }

  /** Deletes the journals older than `gen` (a checkpoint of generation `gen` is on disk). */
  async removeBefore(gen: number): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const n of names) {
      const m = FILE_RE.exec(n);
      if (m && Number(m[1]) < gen) await rm(path.join(this.dir, n), { force: true });
    }
  }

  /** Commits what is pending (best effort: a failed write leaves those messages unacknowledged) and closes. */
  close(): void {
    try {
      this.commit();
    } catch {
      // Their messages were not acknowledged: the broker sends them again.
    }
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private file(gen: number): string {
    return path.join(this.dir, `${String(gen).padStart(12, '0')}.journal`);
  }
}
