// The persisted outbox of the webhook and mqtt_out sinks: an append-only file of JSON lines per receiver, so a
// page accepted by the daemon is delivered even across a crash or kill -9 (at least once; the idempotency key lets
// receivers dedupe).
//
// Line format: `<16 hex of sha256(json)> <json>\n`, json being one of
//   {"op":"add","key":"<fingerprint>-<sequence>","notice":{...}}   a notice to deliver
//   {"op":"done","key":"...","result":"delivered"|"rejected"|"evicted"}   it needs no further attempt
// A line whose checksum or JSON does not match (a torn write at the end, a damaged sector) is skipped and
// counted; a lost "done" only causes a duplicate delivery, which the idempotency key absorbs. The file is
// rewritten with only the pending notices at open and whenever finished records dominate it (compaction).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AlertNotice } from '../core/alert';
import { tmpNameFor } from '../core/tmpName';

export type DoneResult = 'delivered' | 'rejected' | 'evicted';

export interface OutboxEntry {
  /** `<fingerprint>-<sequence>`: the Idempotency-Key, the same on every attempt and after restarts. */
  readonly key: string;
  readonly notice: AlertNotice;
}

export interface OutboxOptions {
  readonly dir: string;
  readonly receiver: string;
  /** The file's name in `dir`; default `webhook-<receiver>.outbox` (another sink names its own). */
  readonly fileName?: string;
  /** Pending notices kept at most; beyond that the oldest is evicted (and reported by the caller). */
  readonly maxNotices: number;
  /** Compact once this many finished records are in the file (and they outnumber the pending ones). */
  readonly compactAfter?: number;
  /** Disk write failures: the outbox keeps the notices in memory and retries with the next write. */
  readonly onWriteError?: (error: Error) => void;
}

export interface OutboxLoadResult {
  readonly pending: number;
  readonly corrupt: number;
}

type OutboxRecord = { op: 'add'; key: string; notice: AlertNotice } | { op: 'done'; key: string; result: DoneResult };

export function idempotencyKey(notice: AlertNotice): string {
  return `${notice.fingerprint}-${notice.sequence}`;
}

export class Outbox {
  readonly file: string;
  private readonly pending = new Map<string, AlertNotice>();
  private unwritten: string[] = [];
  private handle: fs.FileHandle | null = null;
  private writing: Promise<void> = Promise.resolve();
  private finishedInFile = 0;
  private fileBytes = 0;

  constructor(private readonly options: OutboxOptions) {
    this.file = path.join(options.dir, options.fileName ?? `webhook-${options.receiver.replace(/[^A-Za-z0-9_.-]/g, '_')}.outbox`);
  }

  /** Loads what a previous run left, compacts it, and opens the file for appending. */
  async open(): Promise<OutboxLoadResult> {
    await fs.mkdir(this.options.dir, { recursive: true });
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const corrupt = this.replay(text);
    await this.rewrite();
    return { pending: this.pending.size, corrupt };
  }

  /**
   * Adds a notice (in memory now, on disk with the next write; call after open()); returns the entries evicted
   * to stay bounded.
   */
  add(notice: AlertNotice): OutboxEntry[] {
    const key = idempotencyKey(notice);
    if (this.pending.has(key)) return [];
    this.pending.set(key, notice);
    this.enqueue({ op: 'add', key, notice });
    const evicted: OutboxEntry[] = [];
    for (const [oldKey, oldNotice] of this.pending) {
      if (this.pending.size <= this.options.maxNotices) break;
      evicted.push({ key: oldKey, notice: oldNotice });
      this.markDone(oldKey, 'evicted');
    }
    return evicted;
  }

  markDone(key: string, result: DoneResult): void {
    if (!this.pending.delete(key)) return;
    this.enqueue({ op: 'done', key, result });
  }

  /** The oldest pending notice: delivery is in order per receiver. */
  first(): OutboxEntry | undefined {
    for (const [key, notice] of this.pending) return { key, notice };
    return undefined;
  }

  entries(): OutboxEntry[] {
    return [...this.pending].map(([key, notice]) => ({ key, notice }));
  }

  get size(): number {
    return this.pending.size;
  }

  get bytes(): number {
    return this.fileBytes;
  }

  /** Resolves once everything added or marked so far is on disk (or its write failed and was reported). */
  async flush(): Promise<void> {
    this.schedule();
    await this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }

  private replay(text: string): number {
    let corrupt = 0;
    const lines = text.split('\n');
    // Text after the last newline is a line whose write never completed.
    const torn = lines.pop();
    if (torn !== undefined && torn !== '') corrupt++;
    for (const line of lines) {
      if (line === '') continue;
      const record = parseLine(line);
      if (!record) corrupt++;
      else if (record.op === 'add') this.pending.set(record.key, record.notice);
      else this.pending.delete(record.key);
    }
    return corrupt;
  }

  private enqueue(record: OutboxRecord): void {
    if (record.op === 'done') this.finishedInFile++;
    this.unwritten.push(formatLine(record));
    this.schedule();
  }

  /** Chains one write of everything buffered; a single writer keeps the file's record order. */
  private schedule(): void {
    this.writing = this.writing.then(() => this.writeBuffered());
  }

  private async writeBuffered(): Promise<void> {
    if (!this.handle || this.unwritten.length === 0) return;
    const chunk = this.unwritten.join('');
    const lines = this.unwritten;
    this.unwritten = [];
    try {
      await this.handle.appendFile(chunk, 'utf8');
      // datasync: a page the daemon acknowledged must survive a power cut, not only a process kill.
      await this.handle.datasync();
      this.fileBytes += Buffer.byteLength(chunk);
    } catch (error) {
      // A full disk may have taken part of the chunk: cut it off, or the retry would append after a torn line
      // and its first line would read as damaged after a restart.
      await this.handle.truncate(this.fileBytes).catch(() => undefined);
      this.unwritten = [...lines, ...this.unwritten];
      this.options.onWriteError?.(error as Error);
      return;
    }
    const compactAfter = this.options.compactAfter ?? 1000;
    if (this.finishedInFile >= compactAfter && this.finishedInFile > this.pending.size) await this.rewrite();
  }

  /** Replaces the file with the pending notices only: write a temporary file, sync, rename over the old one. */
  private async rewrite(): Promise<void> {
    const text = [...this.pending].map(([key, notice]) => formatLine({ op: 'add', key, notice })).join('');
    // Records buffered so far are folded into `text`; ones added while the rewrite runs stay buffered.
    const folded = this.unwritten;
    const finished = this.finishedInFile;
    this.unwritten = [];
    this.finishedInFile = 0;
    const tmp = tmpNameFor(this.file);
    try {
      const out = await fs.open(tmp, 'w');
      try {
        await out.writeFile(text, 'utf8');
        await out.datasync();
      } finally {
        await out.close();
      }
      await fs.rename(tmp, this.file);
      await this.handle?.close();
      this.handle = await fs.open(this.file, 'a');
      this.fileBytes = Buffer.byteLength(text);
    } catch (error) {
      // The old file is still in place: what it lacks must be appended to it after all.
      this.unwritten = [...folded, ...this.unwritten];
      this.finishedInFile += finished;
      this.options.onWriteError?.(error as Error);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      this.handle ??= await fs.open(this.file, 'a');
    }
  }
}

function checksum(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

function formatLine(record: OutboxRecord): string {
  const json = JSON.stringify(record);
  return `${checksum(json)} ${json}\n`;
}

function parseLine(line: string): OutboxRecord | null {
  const space = line.indexOf(' ');
  if (space !== 16) return null;
  const json = line.slice(17);
  if (checksum(json) !== line.slice(0, 16)) return null;
  try {
    const value = JSON.parse(json) as unknown;
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is OutboxRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  if (typeof r['key'] !== 'string') return false;
  if (r['op'] === 'done') return true;
  const n = r['notice'] as Record<string, unknown> | null | undefined;
  return r['op'] === 'add' && typeof n === 'object' && n !== null && typeof n['fingerprint'] === 'string' && typeof n['sequence'] === 'number';
}
