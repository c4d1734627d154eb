// InfluxDB 1.x sink for scores, alerts and health (schema in sinks/influx/points.ts).
//
// Queue model, oldest first: the batch being written (`head`) < the disk spool < points being spilled < the
// memory buffer. New points go to memory; one loop writes batches (batch_size points, or whatever waited
// flush_interval_ms), the spool before memory so replay keeps the order. While InfluxDB is unreachable the
// loop retries with capped, jittered back-off; the spool drops its oldest segments beyond spool_max_bytes
// (counted).
//
// Memory bound (buffer_max_points counts memory, the batch being written from memory and points being spilled):
// from half full the oldest points are spilled to the spool; from three quarters full admission() asks the
// daemon to stop taking input (MQTT messages then wait at the broker) until a spill or a write made room, so a
// slow spool or a full disk holds data back upstream instead of dropping it. The last quarter takes what is
// already inside the pipeline when input stops. Should that not suffice, or without a spool (disabled: the
// operator chose memory only, and alerting must go on while InfluxDB is down), the oldest points beyond
// buffer_max_points are dropped and counted: memory never exceeds it.
//
// A point is "settled" once written, rejected by InfluxDB (counted) or fdatasynced to the spool. flush() waits
// for everything accepted before it to settle and spills to the spool when InfluxDB is down, so flush() and
// stop() return promptly during an outage. Points in memory are lost on kill -9 or power loss; the spool is not.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AlertNotice } from '../../core/alert';
import type { ComponentContext } from '../../core/context';
import { recordOf, type PendingPoint } from './line';
import { alertRecord, decodeRecord, denoisedRecords, encodeRecord, eventRecord, expectedRecord, healthRecord } from './points';
import { backoffDelay, Waker } from './retry';
import { InfluxWriter, resolveTarget, type WriteOutcome } from './writer';
import type { EventPoint, HealthPoint, ScorePoint, Sink, SinkAdmission, SinkStats } from '../sink';
import { Spool, type SpoolBatch } from '../spool';

export interface InfluxSinkOptions {
  /** Sink name in metrics and logs. Default 'influx'. */
  readonly name?: string;
  /** http://host:8086/database; user:password@ in the URL is accepted but the options below are preferred. */
  readonly url: string;
  /** Database, when the URL path does not end with it (the whole path is then a proxy prefix). */
  readonly database?: string;
  readonly username?: string;
  readonly password?: string;
  /** Points per write request (also per spool replay request). Default 5000. */
  readonly batchSize?: number;
  /** Longest time a point waits in memory before it is written. Default 1000. */
  readonly flushIntervalMs?: number;
  /** Timeout of one write request. Default 10000. */
  readonly timeoutMs?: number;
  /** Points held in memory; beyond it the oldest half is spilled (or, without a spool, dropped). Default 100000. */
  readonly bufferMaxPoints?: number;
  /** Directory of the disk spool (created when missing). Unset: memory only. */
  readonly spoolDir?: string;
  /** Disk spool size cap; the oldest points are dropped beyond it. 0 disables the spool. Default 256 MiB. */
  readonly spoolMaxBytes?: number;
  /** First retry delay after a failed write; doubles per failure. Default 500. */
  readonly retryMinDelayMs?: number;
  /** Upper bound of the retry delay, so recovery is noticed within it. Default 10000. */
  readonly retryMaxDelayMs?: number;
}

export const influxSinkDefaults = {
  batchSize: 5_000,
  flushIntervalMs: 1_000,
  timeoutMs: 10_000,
  bufferMaxPoints: 100_000,
  spoolMaxBytes: 268_435_456,
  retryMinDelayMs: 500,
  retryMaxDelayMs: 10_000,
} as const;

/** A point and its acceptance number (for flush watermarks); -1 for points read back from the spool. */
interface Entry {
  readonly id: number;
  /** Score points stay as the pipeline made them: a record is built only to spool one (sinks/influx/line.ts). */
  readonly rec: PendingPoint;
}

/** The batch being written: from memory (batch null) or from the spool. */
interface Head {
  readonly entries: Entry[];
  readonly batch: SpoolBatch | null;
  /** Spills started before it was taken: if still the same, nothing newer is in the spool. */
  readonly spills: number;
}

const ERROR_REPEAT_MS = 60_000;
/** After a failed spool write (disk full), spilling is retried after this pause. */
const SPOOL_RETRY_MS = 5_000;
/** Points encoded between event-loop yields while spilling, so a large spill does not stall ingestion. */
const ENCODE_CHUNK = 1_000;

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

export class InfluxSink implements Sink {
  readonly name: string;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly bufferMax: number;
  private readonly spoolMaxBytes: number;
  private readonly waker: Waker;
  private writer: InfluxWriter | null = null;
  private spool: Spool | null = null;
  private memory: Entry[] = [];
  private nextId = 0;
  private head: Head | null = null;
  private spilling: Entry[] | null = null;
  private spillTask: Promise<boolean> | null = null;
  private spills = 0;
  private spoolBlockedUntil = 0;
  /** The spool failed (disk full...) and has not taken points since: said once at error level, not per retry. */
  private spoolFailing = false;
  private loop: Promise<void> | null = null;
  private idle = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushDue = false;
  private flushWaiters: { target: number; resolve: () => void }[] = [];
  private failures = 0;
  private downSince: number | null = null;
  private lastErrorAt = 0;
  private stopping = false;
  private stopped = false;
  private stopTask: Promise<void> | null = null;
  private stopDeadline = Infinity;
  /** Waiting admission() callers, released once memory is below the admission mark again. */
  private roomWaiters: (() => void)[] = [];
  private roomReady: Promise<void> | null = null;
  private lastSpoolError = '';

  constructor(
    private readonly ctx: ComponentContext,
    private readonly opts: InfluxSinkOptions,
  ) {
    this.name = opts.name ?? 'influx';
    this.batchSize = opts.batchSize ?? influxSinkDefaults.batchSize;
    this.flushIntervalMs = opts.flushIntervalMs ?? influxSinkDefaults.flushIntervalMs;
    this.bufferMax = opts.bufferMaxPoints ?? influxSinkDefaults.bufferMaxPoints;
    this.spoolMaxBytes = opts.spoolDir === undefined ? 0 : (opts.spoolMaxBytes ?? influxSinkDefaults.spoolMaxBytes);
    this.waker = new Waker(ctx.signal);
  }

  async start(): Promise<void> {
    if (this.writer || this.stopping) return;
    const target = resolveTarget(this.opts.url, this.opts.database, this.opts.username, this.opts.password);
    if (this.opts.spoolDir !== undefined && this.spoolMaxBytes > 0) await this.openSpool(this.opts.spoolDir);
    const writer = new InfluxWriter(target, this.opts.timeoutMs ?? influxSinkDefaults.timeoutMs);
    try {
      await writer.createDatabase();
    } catch (err) {
      // Not fatal: points wait in memory and the spool, and a write that finds the database missing creates it.
      this.downSince = this.lastErrorAt = Date.now();
      this.ctx.events.sinkError(this.name, true, `Cannot create database '${target.database}' at '${target.display}' yet, points are kept and writes retried: ${describe(err)}`);
    }
    this.writer = writer;
    this.ensureLoop();
  }

  writeScores(points: readonly ScorePoint[]): void {
    if (!points.some((p) => p.expected !== undefined || p.denoised !== undefined)) {
      this.accept(points, (p) => p);
      return;
    }
    // Each score point with its expected values (anomaly_expected) and denoised samples (anomaly_denoised) after it.
    const all: PendingPoint[] = [];
    for (const p of points) {
      all.push(p);
      const expected = expectedRecord(p);
      if (expected) all.push(expected);
      for (const d of denoisedRecords(p)) all.push(d);
    }
    this.accept(all, (p) => p);
  }

  writeAlert(notice: AlertNotice): void {
    this.accept([notice], alertRecord);
  }

  writeHealth(point: HealthPoint): void {
    this.accept([point], healthRecord);
  }

  writeEvent(point: EventPoint): void {
    this.accept([point], eventRecord);
  }

  flush(): Promise<void> {
    if (!this.writer) return Promise.resolve();
    const target = this.nextId;
    if (this.oldestUnsettled() >= target) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.flushWaiters.push({ target, resolve }));
    this.ensureLoop();
    this.waker.wake();
    return done;
  }

  stop(): Promise<void> {
    this.stopTask ??= this.shutdown();
    return this.stopTask;
  }

  admission(): SinkAdmission | null {
    if (!this.spool || this.stopping || this.bufferedPoints() < this.admissionMark()) return null;
    this.roomReady ??= new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    const ready = this.roomReady;
    const held = `${this.bufferedPoints()} of ${this.bufferMax} points`;
    if (this.spoolFailing) {
      return { reason: `InfluxDB sink '${this.name}' holds ${held} in memory and its spool cannot write (${this.lastSpoolError})`, failure: true, ready };
    }
    return { reason: `InfluxDB sink '${this.name}' holds ${held} in memory while its spool catches up`, failure: false, ready };
  }

  stats(): SinkStats {
    return { buffered: this.bufferedPoints(), spooledBytes: this.spool?.bytes ?? 0 };
  }

  private async openSpool(dir: string): Promise<void> {
    const spool = new Spool({ dir, maxBytes: this.spoolMaxBytes });
    let report;
    try {
      report = await spool.open();
    } catch (err) {
      throw new Error(`Cannot open the InfluxDB spool directory '${dir}': ${describe(err)}`);
    }
    this.spool = spool;
    const ev = this.ctx.events;
    if (report.corrupt > 0) ev.sinkDropped(this.name, 'spool_corrupt', report.corrupt, `Spool '${dir}' held damaged records; the intact ones are replayed`);
    if (report.dropped > 0) ev.sinkDropped(this.name, 'spool_full', report.dropped, `Spool '${dir}' exceeded ${this.spoolMaxBytes} bytes; the oldest points were dropped`);
    if (report.records > 0) this.ctx.log.info('Replaying spooled points.', { dir, points: report.records, bytes: report.bytes });
  }

  private accept<T>(items: readonly T[], build: (item: T) => PendingPoint | null): void {
    if (this.stopped) {
      this.ctx.events.sinkDropped(this.name, 'overflow', items.length, 'Points arrived after the InfluxDB sink stopped');
      return;
    }
    const wasEmpty = this.memory.length === 0;
    let bad = 0;
    for (const item of items) {
      try {
        const rec = build(item);
        if (rec) this.memory.push({ id: this.nextId++, rec });
      } catch {
        bad++;
      }
    }
    if (bad > 0) this.ctx.events.sinkDropped(this.name, 'rejected', bad, 'Input could not be turned into an InfluxDB point');
    if (wasEmpty && this.memory.length > 0) this.armFlushTimer();
    this.enforceCap();
    if (this.memory.length >= this.batchSize) this.wakeIfIdle();
  }

  private bufferedPoints(): number {
    const head = this.head && !this.head.batch ? this.head.entries.length : 0;
    return this.memory.length + (this.spilling?.length ?? 0) + head;
  }

  private draining(): boolean {
    return this.stopping || this.ctx.signal.aborted;
  }

  private spoolUsable(): boolean {
    return this.spool !== null && Date.now() >= this.spoolBlockedUntil;
  }

  /** From here admission() holds input back (a quarter of the buffer stays for what the pipeline holds). */
  private admissionMark(): number {
    return Math.max(1, Math.floor((this.bufferMax * 3) / 4));
  }

  /**
   * Keeps memory within buffer_max_points. With a spool, the oldest points are spilled from half full (one
   * spill at a time: the spool appends in order). Beyond the cap, whether a spill is running or no spool can
   * take points, the oldest points in memory are dropped and counted.
   */
  private enforceCap(): void {
    const buffered = this.bufferedPoints();
    if (!this.spilling && this.spoolUsable() && buffered > Math.floor(this.bufferMax / 2)) {
      const n = Math.min(this.memory.length, buffered - Math.floor(this.bufferMax / 4));
      if (n > 0) void this.spill(this.memory.splice(0, n));
      return;
    }
    if (buffered <= this.bufferMax) return;
    const n = Math.min(this.memory.length, buffered - this.bufferMax);
    if (n <= 0) return;
    this.memory.splice(0, n);
    const why = this.spilling ? 'a spill to disk is still running' : this.spool ? 'the spool cannot take points' : 'no disk spool is configured';
    this.ctx.events.sinkDropped(this.name, 'overflow', n, `Memory buffer of ${this.bufferMax} points is full and ${why}; the oldest points were dropped`);
    this.settle();
  }

  /** Appends entries to the spool; what it cannot take goes back to the front of memory. Never rejects. */
  private spill(entries: Entry[]): Promise<boolean> {
    const spool = this.spool as Spool;
    this.spills++;
    const task = (async (): Promise<boolean> => {
      this.spilling = entries;
      let failure: { err: NodeJS.ErrnoException; kept: Entry[] } | null = null;
      try {
        const payloads: Buffer[] = [];
        for (let i = 0; i < entries.length; i += ENCODE_CHUNK) {
          if (i > 0) await yieldToLoop();
          for (const e of entries.slice(i, i + ENCODE_CHUNK)) payloads.push(encodeRecord(recordOf(e.rec)));
        }
        const res = await spool.append(payloads);
        if (res.dropped > 0) {
          this.ctx.events.sinkDropped(this.name, 'spool_full', res.dropped, `Spool '${this.opts.spoolDir}' reached ${this.spoolMaxBytes} bytes; the oldest points were dropped`);
        }
        if (res.error) failure = { err: res.error, kept: entries.slice(res.consumed) };
      } catch (err) {
        failure = { err: err as NodeJS.ErrnoException, kept: entries };
      }
      this.spilling = null;
      if (failure) this.spoolFailed(failure.err, failure.kept);
      else if (this.spoolFailing) {
        this.spoolFailing = false;
        this.ctx.log.info('The InfluxDB spool takes points again.', { sink: this.name, dir: this.opts.spoolDir });
      }
      return failure === null;
    })();
    this.spillTask = task;
    void task.then(() => {
      if (this.spillTask === task) this.spillTask = null;
      this.settle();
      this.wakeIfIdle();
    });
    return task;
  }

  private spoolFailed(err: NodeJS.ErrnoException, kept: Entry[]): void {
    this.memory = kept.concat(this.memory);
    this.spoolBlockedUntil = Date.now() + SPOOL_RETRY_MS;
    this.lastSpoolError = describe(err);
    const what = err.code === 'ENOSPC' ? 'Disk full' : 'Spool write failed';
    const detail = `${what}: spool '${this.opts.spoolDir}' cannot take points (${describe(err)}); ${this.memory.length} points stay in memory and input is held back (MQTT messages stay unacknowledged) until the spool or InfluxDB takes points again`;
    this.ctx.events.sinkError(this.name, true, detail);
    // The event's log line is rate-limited per sink and kind, so an earlier "InfluxDB unreachable" would hide
    // this one for a minute: data loss is imminent, say it now (once per failure episode).
    if (!this.spoolFailing) this.ctx.log.error(`${detail}.`, { sink: this.name });
    this.spoolFailing = true;
    this.enforceCap();
  }

  private ensureLoop(): void {
    if (this.loop || !this.writer) return;
    this.loop = this.run()
      .catch((err) => this.ctx.log.error('InfluxDB sink loop failed.', { error: describe(err) }))
      .finally(() => (this.loop = null));
  }

  private async run(): Promise<void> {
    const writer = this.writer as InfluxWriter;
    for (;;) {
      const head = this.head ?? (this.head = await this.take());
      if (!head) return;
      const outcome = await writer.write(head.entries.map((e) => e.rec));
      if (outcome.ok) {
        await this.delivered(head, outcome);
        continue;
      }
      this.failed(outcome);
      if (!head.batch && head.spills === this.spills && !this.draining() && this.spoolUsable()) {
        // Nothing newer is spooled yet, so the failed batch can lead the spool: memory stays free for new
        // points, and the outage has one replay path.
        this.head = null;
        await this.spill(head.entries);
      }
      if (this.draining() || this.flushWaiters.length > 0) {
        const persisted = await this.persistAll();
        if (this.draining()) {
          if (persisted) return;
          // stop() retries for at most one request timeout, so shutdown stays bounded.
          if (this.ctx.signal.aborted || Date.now() >= this.stopDeadline) {
            return this.dropAll('Shut down while InfluxDB is unreachable and no spool can take the points');
          }
        }
      }
      await this.waker.wait(backoffDelay(this.failures, this.opts.retryMinDelayMs ?? influxSinkDefaults.retryMinDelayMs, this.opts.retryMaxDelayMs ?? influxSinkDefaults.retryMaxDelayMs));
    }
  }

  /** The next batch to write; waits while there is none. Null when draining and nothing is left in memory. */
  private async take(): Promise<Head | null> {
    for (;;) {
      // A spill in progress holds points older than memory: let it land first.
      if (this.spillTask) {
        await this.spillTask;
        continue;
      }
      if (this.draining()) {
        if (this.memory.length === 0) return null;
        // During an outage, or behind a spool backlog, shutdown persists memory instead of writing it.
        if (this.spoolUsable() && (this.downSince !== null || (this.spool?.pending ?? 0) > 0) && (await this.persistAll())) continue;
        if (this.spilling) continue;
        return this.fromMemory();
      }
      if (this.spool && this.spool.pending > 0) {
        // A flush behind a backlog is satisfied by spooling memory, which also keeps the order.
        if (this.flushWaiters.length > 0 && this.memory.length > 0 && this.spoolUsable()) await this.persistAll();
        const head = await this.fromSpool(this.spool);
        if (head) return head;
        continue;
      }
      if (this.memory.length > 0 && (this.memory.length >= this.batchSize || this.flushDue || this.flushWaiters.length > 0)) return this.fromMemory();
      this.idle = true;
      await this.waker.wait(null);
      this.idle = false;
    }
  }

  private fromMemory(): Head {
    // At most half the buffer, so a spill always moves a sizeable chunk (see enforceCap).
    const n = Math.min(this.batchSize, Math.max(1, Math.floor(this.bufferMax / 2)), this.memory.length);
    const entries = this.memory.splice(0, n);
    if (this.memory.length === 0) this.clearFlushTimer();
    return { entries, batch: null, spills: this.spills };
  }

  private async fromSpool(spool: Spool): Promise<Head | null> {
    const batch = await spool.read(this.batchSize);
    if (!batch) return null;
    const entries: Entry[] = [];
    for (const payload of batch.payloads) {
      const rec = decodeRecord(payload);
      if (rec) entries.push({ id: -1, rec });
    }
    const bad = batch.corrupt + batch.payloads.length - entries.length;
    if (bad > 0) this.ctx.events.sinkDropped(this.name, 'spool_corrupt', bad, `Spool '${this.opts.spoolDir}' held damaged records; the intact ones are replayed`);
    if (entries.length > 0) return { entries, batch, spills: this.spills };
    await spool.commit(batch);
    return null;
  }

  private async delivered(head: Head, outcome: Extract<WriteOutcome, { ok: true }>): Promise<void> {
    const ev = this.ctx.events;
    if (outcome.written > 0) ev.sinkWritten(this.name, outcome.written);
    if (outcome.rejected > 0) ev.sinkDropped(this.name, 'rejected', outcome.rejected, `InfluxDB rejected points, they are not retried: ${outcome.detail}`);
    if (head.batch && this.spool) {
      // A cursor that cannot be saved only means these points may be replayed (rewritten) after a restart.
      await this.spool.commit(head.batch).catch((err) => this.ctx.log.warn('Cannot record spool progress.', { error: describe(err) }));
    }
    this.head = null;
    if (this.downSince !== null) {
      this.ctx.log.info('InfluxDB writes resumed.', { sink: this.name, down_ms: Date.now() - this.downSince, spooled_bytes: this.spool?.bytes ?? 0 });
      this.downSince = null;
    }
    this.failures = 0;
    this.settle();
  }

  private failed(outcome: Extract<WriteOutcome, { ok: false }>): void {
    this.failures++;
    const now = Date.now();
    const target = this.writer?.target.display ?? '';
    if (this.downSince === null) {
      this.downSince = this.lastErrorAt = now;
      this.ctx.events.sinkError(this.name, true, `InfluxDB write to '${target}' failed, retrying with back-off: ${outcome.detail}`);
    } else if (now - this.lastErrorAt >= ERROR_REPEAT_MS) {
      this.lastErrorAt = now;
      const s = Math.round((now - this.downSince) / 1000);
      this.ctx.events.sinkError(
        this.name,
        true,
        `InfluxDB at '${target}' still failing after ${s} s and ${this.failures} attempts (${this.bufferedPoints()} points in memory, ${this.spool?.bytes ?? 0} bytes spooled): ${outcome.detail}`,
      );
    } else {
      this.ctx.log.debug('InfluxDB write failed.', { sink: this.name, attempt: this.failures, status: outcome.status, error: outcome.detail });
    }
  }

  /** Moves the unwritten batch and all of memory to the spool. False when something stays in memory. */
  private async persistAll(): Promise<boolean> {
    const head = this.head;
    const onDisk = head?.batch && this.spool ? await this.spool.release(head.batch) : false;
    // No await from here to spill(): a spill started meanwhile by enforceCap holds older points, so wait for
    // it, and none can start between the check and ours. The head stays visible to flush() until then.
    while (this.spillTask) await this.spillTask;
    this.head = null;
    let entries: Entry[] = head && !onDisk ? head.entries : [];
    if (!this.spoolUsable()) {
      this.memory = entries.concat(this.memory);
      this.settle();
      return this.memory.length === 0;
    }
    entries = entries.concat(this.memory.splice(0));
    this.clearFlushTimer();
    const ok = entries.length === 0 || (await this.spill(entries));
    this.settle();
    return ok;
  }

  private dropAll(detail: string): void {
    const entries = this.head && !this.head.batch ? this.head.entries.length : 0;
    const n = entries + this.memory.length;
    this.head = null;
    this.memory = [];
    if (n > 0) this.ctx.events.sinkDropped(this.name, 'overflow', n, detail);
    this.settle();
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.stopDeadline = Date.now() + (this.opts.timeoutMs ?? influxSinkDefaults.timeoutMs);
    this.clearFlushTimer();
    this.waker.wake();
    if (this.writer) {
      // Points that arrive while the loop drains are taken by another pass.
      while (this.loop || this.memory.length > 0 || this.head) {
        this.ensureLoop();
        await this.loop;
      }
    } else {
      this.dropAll('The InfluxDB sink stopped without having started');
    }
    this.stopped = true;
    if (this.spillTask) await this.spillTask;
    if (this.spool) await this.spool.close().catch((err) => this.ctx.log.warn('Cannot close the spool.', { error: describe(err) }));
    for (const w of this.flushWaiters) w.resolve();
    this.flushWaiters = [];
    for (const w of this.roomWaiters) w();
    this.roomWaiters = [];
    this.roomReady = null;
  }

  private oldestUnsettled(): number {
    let oldest = this.nextId;
    if (this.head && !this.head.batch && this.head.entries.length > 0) oldest = Math.min(oldest, this.head.entries[0].id);
    if (this.spilling && this.spilling.length > 0) oldest = Math.min(oldest, this.spilling[0].id);
    if (this.memory.length > 0) oldest = Math.min(oldest, this.memory[0].id);
    return oldest;
  }

  private settle(): void {
    if (this.roomWaiters.length > 0 && this.bufferedPoints() < this.admissionMark()) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      this.roomReady = null;
      for (const w of waiters) w();
    }
    if (this.flushWaiters.length === 0) return;
    const oldest = this.oldestUnsettled();
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (oldest < w.target) return true;
      w.resolve();
      return false;
    });
  }

  private wakeIfIdle(): void {
    if (this.idle) this.waker.wake();
  }

  private armFlushTimer(): void {
    if (this.flushTimer || this.stopping) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.memory.length === 0) return;
      this.flushDue = true;
      this.wakeIfIdle();
    }, this.flushIntervalMs);
    this.flushTimer.unref();
  }

  private clearFlushTimer(): void {
    this.flushDue = false;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }
}
