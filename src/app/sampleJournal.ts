// The sample journal: every message batch the pipeline takes is appended here before its MQTT message is
// acknowledged, so samples acknowledged but not yet scored (the window being filled, windows queued) survive
// kill -9. One write(2) per batch and no fsync: the page cache outlives the process, so kill -9 and OOM kills
// lose nothing; a power loss loses the unsynced tail (at most one checkpoint interval).
//
// Files: <dir>/<generation, 12 digits>.journal. Each state checkpoint (stateStore.ts) captures the pipeline's
// window buffers and alert state, then starts a new generation at the same instant; once that checkpoint is on
// disk the older generations are deleted. A start therefore restores the last checkpoint and replays every
// journal from its generation on, which rebuilds the window buffers exactly as they were at the kill: the same
// window grid, so re-scored windows rewrite the same InfluxDB points.
import { closeSync, ftruncateSync, fstatSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { StreamSamples } from '../sources/source';
import { decodeBatches, encodeBatch } from './sampleCodec';

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

  constructor(readonly dir: string) {}

  get generation(): number {
    return this.gen;
  }

  /** True when something was appended since the last rotate(). */
  get dirty(): boolean {
    return this.appended > 0;
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
      const decoded = decodeBatches(await readFile(this.file(g)));
      for (const b of decoded.items) batches.push(b);
      damaged += decoded.damaged;
      files++;
    }
    this.gen = Math.max(from, (gens.at(-1) ?? 0) + 1);
    this.fd = openSync(this.file(this.gen), 'a');
    this.bytes = fstatSync(this.fd).size;
    return { batches, files, damaged };
  }

  /** Appends one batch (synchronously: it is in the page cache when this returns). Throws on a write error. */
  append(batch: StreamSamples): void {
    if (this.fd === null) throw new Error('the sample journal is not open');
    const frame = encodeBatch(batch);
    let off = 0;
    try {
      while (off < frame.length) off += writeSync(this.fd, frame, off, frame.length - off);
    } catch (err) {
      // Take a partial frame back, so later frames are readable; failing that, they go to a new file.
      if (off > 0) {
        try {
          ftruncateSync(this.fd, this.bytes);
        } catch {
          this.rotate();
        }
      }
      throw err;
    }
    this.bytes += frame.length;
    this.appended++;
  }

  /**
   * Starts the next generation now (synchronously, so it pairs exactly with a state capture) and returns its
   * number. When the new file cannot be created the current one stays in use and the error is thrown.
   */
  rotate(): number {
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

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private file(gen: number): string {
    return path.join(this.dir, `${String(gen).padStart(12, '0')}.journal`);
  }
}
