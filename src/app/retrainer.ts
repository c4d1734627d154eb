// Retraining: records each retraining stream's windows (state/windowRecorder.ts), watches its drift and its
// schedule (retrainDrift.ts), and runs retrain jobs one at a time, queued: gather the clean windows of the
// lookback (retrainData.ts), train and calibrate a detector with the stream's detection settings in a niced worker
// thread (the same worker auto-learning uses), into a fresh directory, and hand it on as a candidate
// (onCandidate: the model version store starts it in shadow). A job ends in `shadow` (handed on), `refused` (too
// few clean windows: said in the log, the metrics and the API) or `failed`.
//
// Which model a stream's retrain produces: a version of the stream's model. A model shared by several streams is
// trained on the clean windows of all its streams that retrain (each stream's share evenly thinned to the cap),
// not only the triggering one: the model must stay normal for every stream it scores, and a version learned on
// one would page on the others.
//
// The last job of each stream, and each stream's first sight, last retrain and last drift retrain, are kept in
// state_dir/retrain/jobs.json: the schedule counts across restarts, and a job cut short by one shows `failed`.
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { AlertEpisode } from '../core/alertHistory';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { FeedbackLabel } from '../core/feedback';
import type { StreamSpec, Window } from '../core/types';
import type { WindowOptions } from '../core/window';
import type { BackendPreference } from '../model/backend';
import type { DetectorSpec } from '../model/fitDetector';
import type { LearnJob, LearnResult } from '../model/learnWorker';
import type { StreamBinding } from '../pipeline/pipeline';
import { loadJsonState } from '../state/jsonStateFile';
import { writeAtomic } from '../state/stateStore';
import { recordFileName, thinEvenly, type RecordedWindow, type WindowRecorder } from '../state/windowRecorder';
import type { RetrainMetrics, RetrainOutcome, RetrainTrigger } from '../telemetry/retrainMetrics';
import { runWorker } from './autoLearner';
import { alertLeadMs, recordedSamplePeriod, selectClean, streamQuery, windowsHash } from './retrainData';
import { DriftMonitor, driftAllowed, scheduledDue } from './retrainDrift';
import type { RetrainSettings } from './retrainSettings';

export type { RetrainTrigger } from '../telemetry/retrainMetrics';

/** What a candidate is handed on with (the model version store keeps it in the version's manifest). */
export interface CandidateMeta {
  readonly trigger: RetrainTrigger;
  readonly stream: string;
  readonly dataHash: string;
  readonly windows: number;
  readonly from: number;
  readonly to: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export type RetrainState = 'queued' | 'training' | 'shadow' | 'refused' | 'failed';

export interface RetrainJob {
  readonly id: string;
  readonly stream: string;
  readonly model: string;
  readonly trigger: RetrainTrigger;
  state: RetrainState;
  /** Why it was refused or failed. */
  reason?: string;
  readonly requestedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** The candidate's version (from the version store) and directory. */
  version?: string;
  dir?: string;
  meta?: CandidateMeta;
}

export interface InfluxWindowsRequest {
  readonly query: string;
  readonly stream: StreamSpec;
  readonly window: WindowOptions;
  /** alerting.n of the stream: how far before an alert its lead-in windows reach. */
  readonly alertWindows: number;
}

export interface InfluxWindows {
  readonly windows: readonly Window[];
  /** Complete windows left out: alerts (not labelled false_positive) and maintenance windows. */
  readonly excluded: number;
  /** Alert periods taken back as training data because they were labelled false_positive. */
  readonly falsePositives: number;
  readonly insufficient: number;
}

export interface RetrainerOptions {
  readonly ctx: ComponentContext;
  readonly stateDir: string;
  readonly recorder: WindowRecorder;
  /** The stream's settings under the config in force (null: it does not retrain). */
  readonly settingsOf: (stream: string) => RetrainSettings | null;
  /** Training settings of a stream's model: the same spec auto-learning uses. */
  readonly specFor: (binding: StreamBinding) => DetectorSpec;
  readonly scalesFor?: (binding: StreamBinding) => { readonly ensemble: number; readonly coarsePool: number };
  /** alerting.n of the stream: how many windows led to an alert. */
  readonly alertWindowsOf: (binding: StreamBinding) => number;
  /** The alert episodes the daemon knows (firing and the last ones). */
  readonly episodes: () => readonly AlertEpisode[];
  readonly labelOf: (fingerprint: string, startsAt: number) => FeedbackLabel | undefined;
  readonly backend: BackendPreference;
  /** Hands a trained candidate on (the model version store starts it in shadow). */
  readonly onCandidate: (model: string, dir: string, meta: CandidateMeta) => Promise<{ readonly version: string }>;
  /**
   * The windows of a stream's history in InfluxDB (source influx: `train --influx-query`'s reader, alerts,
   * maintenance and true positives left out). Absent: source influx jobs fail saying so.
   */
  readonly influxWindows?: (request: InfluxWindowsRequest) => Promise<InfluxWindows>;
  /** Whether the pipeline knows the stream (for the operator: 404 or not). */
  readonly isStream: (stream: string) => boolean;
  readonly metrics?: RetrainMetrics;
  readonly now: () => number;
  /** Niceness of the training thread (default 10). */
  readonly nice?: number;
  /** Share of the wall time the training thread pauses between epochs (default RETRAIN_PAUSE_SHARE). */
  readonly pauseShare?: number;
  /**
   * The operating-mode hook: false while the stream's machine is in mode `off` (nothing of it is recorded or
   * judged for drift). Absent: every stream is always on.
   */
  readonly modeAllowsLearning?: (stream: string) => boolean;
}

interface Known {
  binding: StreamBinding;
  /** Sample time of its newest scored window. */
  lastEnd: number;
}

interface StreamBook {
  firstSeenAt: number;
  lastRetrainAt: number | null;
  lastDriftRetrainAt: number | null;
}

/** Share of the wall time a retrain's training thread sleeps between epochs (model/train.ts, pauseShare). */
export const RETRAIN_PAUSE_SHARE = 0.5;
/** The least windows a stream's record keeps (its cap is twice min_clean_windows, at least this). */
export const MIN_RECORD_CAP = 2000;
const MAX_RECORD_CAP = 200_000;
const FORMAT = 1;
export const JOBS_FILE = path.join('retrain', 'jobs.json');

/** How many windows a stream records over its lookback (and a job trains on at most). */
export function recordCap(s: RetrainSettings): number {
  return Math.min(MAX_RECORD_CAP, Math.max(MIN_RECORD_CAP, 2 * s.minCleanWindows));
}

export type RetrainRequest = RetrainJob | { readonly refused: 'unknown' | 'off' | 'running' | 'not_scored'; readonly reason: string };

export class Retrainer {
  readonly drift = new DriftMonitor();
  private readonly known = new Map<string, Known>();
  private readonly books = new Map<string, StreamBook>();
  private readonly lastJobs = new Map<string, RetrainJob>();
  private readonly queue: RetrainJob[] = [];
  private runningJob: RetrainJob | null = null;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private seq = 0;
  private readonly file: string;

  constructor(private readonly o: RetrainerOptions) {
    this.file = path.join(o.stateDir, JOBS_FILE);
  }

  get running(): number {
    return this.runningJob ? 1 : 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  async start(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const saved = await loadJsonState(this.file, parseJobsFile, { jobs: [], streams: {} }, this.o.ctx.log, 'The retrain jobs file is damaged; starting without its schedule and last jobs (kept the file aside).');
    for (const [stream, book] of Object.entries(saved.streams)) this.books.set(stream, book);
    for (const job of saved.jobs) {
      if (job.state === 'queued' || job.state === 'training') {
        job.state = 'failed';
        job.reason = 'interrupted by a restart of the daemon';
        job.finishedAt = this.o.now();
        this.dirty = true;
      }
      this.lastJobs.set(job.stream, job);
    }
    this.save();
  }

  /**
   * The pipeline's hook: a window of `binding`'s stream was scored, with the detector's raw p-value (before the
   * score filter); `learn` is false inside a maintenance window.
   */
  observe(binding: StreamBinding, window: Window, pValue: number, learn: boolean): void {
    const stream = binding.spec.id;
    if (!learn || this.o.modeAllowsLearning?.(stream) === false) return;
    const settings = this.o.settingsOf(stream);
    if (!settings) return;
    let k = this.known.get(stream);
    if (!k) {
      k = { binding, lastEnd: window.end };
      this.known.set(stream, k);
      if (!this.books.has(stream)) {
        this.books.set(stream, { firstSeenAt: this.o.now(), lastRetrainAt: null, lastDriftRetrainAt: null });
        this.save();
      }
    }
    k.binding = binding;
    if (window.end > k.lastEnd) k.lastEnd = window.end;
    if (settings.source === 'recorded') this.o.recorder.record(window, binding.spec.channels, { lookbackMs: settings.lookbackMs, cap: recordCap(settings) });
    if (settings.drift) this.drift.add(stream, window.end, pValue, settings.drift.overMs);
  }

  /** A stream was evicted: its drift counts and its place here go (its record and book stay on disk). */
  forget(stream: string): void {
    this.known.delete(stream);
    this.drift.forget(stream);
    this.o.metrics?.forget(stream);
  }

  /** Periodic: drift verdicts and due schedules start retrains. */
  tick(): void {
    const now = this.o.now();
    for (const [stream, k] of this.known) {
      const settings = this.o.settingsOf(stream);
      if (!settings) continue;
      const book = this.books.get(stream);
      if (!book) continue;
      if (settings.drift) {
        const verdict = this.drift.judge(stream, k.lastEnd, settings.drift);
        this.o.metrics?.driftShare(stream, verdict.share);
        if (verdict.drift && driftAllowed(book.lastDriftRetrainAt, settings.drift.overMs, now) && !this.busy(k.binding.model)) {
          this.o.ctx.log.info('The stream drifted: retraining its model.', {
            stream, model: k.binding.model, share: Number(verdict.share.toFixed(4)), windows: verdict.windows, allowed: settings.drift.factor * 0.01,
          });
          book.lastDriftRetrainAt = now;
          this.drift.reset(stream);
          this.enqueue(stream, k.binding.model, 'drift');
          continue;
        }
      }
      if (scheduledDue(settings.everyMs, book.lastRetrainAt, book.firstSeenAt, now) && !this.busy(k.binding.model)) {
        this.o.ctx.log.info('Scheduled retrain of the stream\'s model.', { stream, model: k.binding.model });
        this.enqueue(stream, k.binding.model, 'schedule');
      }
    }
  }

  /** The operator's retrain (POST /api/v1/streams/{id}/retrain). */
  request(stream: string): RetrainRequest {
    const k = this.known.get(stream);
    if (!k) {
      if (!this.o.isStream(stream)) return { refused: 'unknown', reason: `no stream '${stream}'` };
      if (!this.o.settingsOf(stream)) return { refused: 'off', reason: `retraining is off for stream '${stream}' (no retrain section covers it)` };
      return { refused: 'not_scored', reason: `stream '${stream}' has had no window scored since the daemon started; its model is not known yet` };
    }
    if (!this.o.settingsOf(stream)) return { refused: 'off', reason: `retraining is off for stream '${stream}' (no retrain section covers it)` };
    const busy = this.busyJob(k.binding.model);
    if (busy) return { refused: 'running', reason: `a retrain of model '${busy.model}' is already ${busy.state} (job ${busy.id}, stream ${busy.stream})` };
    return this.enqueue(stream, k.binding.model, 'operator');
  }

  /** The stream's last job, or null (none since its first retrain setting). */
  lastJob(stream: string): RetrainJob | null {
    return this.lastJobs.get(stream) ?? null;
  }

  knows(stream: string): boolean {
    return this.known.has(stream) || this.lastJobs.has(stream) || this.o.isStream(stream);
  }

  /** Waits for the running job and the queue (tests, stop). */
  async idle(): Promise<void> {
    while (this.runningJob || this.queue.length > 0) await new Promise((r) => setTimeout(r, 50));
    await this.saving;
  }

  private busy(model: string): boolean {
    return this.busyJob(model) !== null;
  }

  private busyJob(model: string): RetrainJob | null {
    if (this.runningJob?.model === model) return this.runningJob;
    return this.queue.find((j) => j.model === model) ?? null;
  }

  private enqueue(stream: string, model: string, trigger: RetrainTrigger): RetrainJob {
    const now = this.o.now();
    const job: RetrainJob = { id: `${now.toString(36)}-${(++this.seq).toString(36)}`, stream, model, trigger, state: 'queued', requestedAt: now };
    this.lastJobs.set(stream, job);
    const book = this.books.get(stream);
    if (book) book.lastRetrainAt = now;
    this.queue.push(job);
    this.save();
    void this.pump();
    return job;
  }

  private async pump(): Promise<void> {
    if (this.runningJob) return;
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      this.runningJob = job;
      try {
        await this.run(job);
      } catch (err) {
        this.finish(job, 'failed', errorMessage(err));
      } finally {
        this.runningJob = null;
      }
    }
  }

  private async run(job: RetrainJob): Promise<void> {
    const { log } = this.o.ctx;
    const k = this.known.get(job.stream);
    const settings = this.o.settingsOf(job.stream);
    if (!k || !settings) return this.finish(job, 'failed', 'the stream no longer retrains (configuration changed)');
    job.state = 'training';
    job.startedAt = this.o.now();
    this.save();
    const gathered = settings.source === 'influx' ? await this.gatherInflux(job, k.binding, settings) : await this.gather(job, k.binding, settings);
    const { windows, from, to } = gathered;
    if (windows.length < settings.minCleanWindows) {
      const reason = `${windows.length} clean windows over the lookback, ${settings.minCleanWindows} needed (${gathered.leftOut})`;
      log.warn('Not retraining: too few clean windows.', { stream: job.stream, model: job.model, trigger: job.trigger, reason });
      return this.finish(job, 'refused', reason);
    }
    const dir = path.join(this.o.stateDir, 'retrain', 'candidates', `${recordFileName(job.model).replace(/\.rec$/, '')}-${new Date(job.startedAt).toISOString().replace(/[:.]/g, '')}-${job.id}`);
    const binding = k.binding;
    const scales = this.o.scalesFor?.(binding);
    const asWindows: Window[] = windows.map((w) => ({ stream: job.stream, start: w.start, end: w.end, size: binding.window.size, channels: binding.spec.channels.length, values: w.values, completeness: 1 }));
    const spec = this.o.specFor(binding);
    const learn: LearnJob = {
      // At most half a core: the daemon keeps scoring, and the broker on the same host keeps its share.
      spec: { ...spec, train: { ...spec.train, pauseShare: this.o.pauseShare ?? RETRAIN_PAUSE_SHARE } },
      windows: asWindows,
      outDir: dir,
      backend: this.o.backend,
      hop: binding.window.hop,
      nice: this.o.nice ?? 10,
      ...(scales ? { ensemble: scales.ensemble, coarsePool: scales.coarsePool } : {}),
    };
    log.info('Retraining a model in a worker thread.', { stream: job.stream, model: job.model, trigger: job.trigger, windows: windows.length });
    const result: LearnResult = await runWorker(learn, this.o.ctx.signal);
    if (!result.ok) {
      log.error('A retrain failed.', { stream: job.stream, model: job.model, error: result.error });
      return this.finish(job, 'failed', result.error);
    }
    const meta: CandidateMeta = {
      trigger: job.trigger,
      stream: job.stream,
      dataHash: windowsHash(windows),
      windows: windows.length,
      from,
      to,
      metrics: { threshold: result.threshold, epochs: result.epochs, train_seconds: result.seconds, ...gathered.metrics },
    };
    job.dir = dir;
    job.meta = meta;
    const { version } = await this.o.onCandidate(job.model, dir, meta);
    job.version = version;
    log.info('Retrained a candidate model; it shadows the live one.', { stream: job.stream, model: job.model, version, windows: windows.length, threshold: result.threshold, seconds: result.seconds });
    this.finish(job, 'shadow');
  }

  /** The streams a job of `model` learns from: the triggering one, then the model's other streams that retrain. */
  private streamsOf(job: RetrainJob): string[] {
    return [job.stream, ...[...this.known.entries()].filter(([s, k]) => s !== job.stream && k.binding.model === job.model && this.o.settingsOf(s) !== null).map(([s]) => s)];
  }

  /** The clean windows of every retraining stream of the job's model, each evenly thinned to its share of the cap. */
  private async gather(job: RetrainJob, binding: StreamBinding, settings: RetrainSettings): Promise<Gathered> {
    const streams = this.streamsOf(job);
    const cap = recordCap(settings);
    const share = Math.max(1, Math.floor(cap / streams.length));
    const episodes = this.o.episodes();
    const counts = { recorded: 0, outsideLookback: 0, unlabelledAlert: 0, truePositive: 0, falsePositiveKept: 0 };
    const out: RecordedWindow[] = [];
    let from = Infinity;
    let to = -Infinity;
    let thinned = 0;
    for (const stream of streams) {
      const record = await this.o.recorder.read(stream);
      if (!record || record.size !== binding.window.size || record.channels.join() !== binding.spec.channels.join()) continue;
      const newest = record.windows.at(-1)?.end ?? 0;
      const k = this.known.get(stream);
      const periodMs = binding.window.samplePeriodMs ?? recordedSamplePeriod(record.windows, record.size);
      const selection = selectClean({
        windows: record.windows,
        episodes: episodes.filter((e) => e.stream === stream),
        labelOf: this.o.labelOf,
        leadMs: alertLeadMs(k ? this.o.alertWindowsOf(k.binding) : 1, binding.window.hop, binding.window.size, periodMs),
        from: newest - settings.lookbackMs,
        to: newest,
      });
      for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] += selection.counts[key];
      const kept = thinEvenly(selection.clean, share);
      thinned += selection.clean.length - kept.length;
      for (const w of kept) {
        out.push(w);
        if (w.end < from) from = w.end;
        if (w.end > to) to = w.end;
      }
    }
    return {
      windows: out,
      from: Number.isFinite(from) ? from : 0,
      to: Number.isFinite(to) ? to : 0,
      leftOut: `recorded ${counts.recorded}; left out: ${counts.unlabelledAlert} in unlabelled alerts, ${counts.truePositive} in true positives, ${counts.outsideLookback} outside the lookback`,
      metrics: {
        streams: streams.length,
        recorded_windows: counts.recorded,
        left_out_outside_lookback: counts.outsideLookback,
        left_out_unlabelled_alert: counts.unlabelledAlert,
        left_out_true_positive: counts.truePositive,
        kept_false_positive: counts.falsePositiveKept,
        thinned_to_cap: thinned,
      },
    };
  }

  /** Source influx: each stream's history from its query (the same reader as `train --influx-query`). */
  private async gatherInflux(job: RetrainJob, binding: StreamBinding, settings: RetrainSettings): Promise<Gathered> {
    const read = this.o.influxWindows;
    if (!read || settings.influxQuery === null) throw new Error('source influx: no InfluxDB reader is available to this daemon');
    const streams = this.streamsOf(job);
    const share = Math.max(1, Math.floor(recordCap(settings) / streams.length));
    const out: RecordedWindow[] = [];
    let excluded = 0;
    let falsePositives = 0;
    let insufficient = 0;
    let readCount = 0;
    let thinned = 0;
    for (const stream of streams) {
      const k = this.known.get(stream);
      const b = k?.binding ?? binding;
      const h = await read({ query: streamQuery(settings.influxQuery, stream, b.labels, settings.lookbackMs), stream: b.spec, window: b.window, alertWindows: this.o.alertWindowsOf(b) });
      excluded += h.excluded;
      falsePositives += h.falsePositives;
      insufficient += h.insufficient;
      readCount += h.windows.length;
      const kept = thinEvenly(h.windows, share);
      thinned += h.windows.length - kept.length;
      for (const w of kept) out.push({ start: w.start, end: w.end, values: w.values });
    }
    const ends = out.map((w) => w.end);
    return {
      windows: out,
      from: ends.length ? Math.min(...ends) : 0,
      to: ends.length ? Math.max(...ends) : 0,
      leftOut: `read ${readCount + excluded} complete windows from InfluxDB; left out: ${excluded} in alerts and maintenance windows`,
      metrics: { streams: streams.length, influx_windows: readCount + excluded, left_out_alert_or_maintenance: excluded, kept_false_positive_alerts: falsePositives, insufficient_windows: insufficient, thinned_to_cap: thinned },
    };
  }

  private finish(job: RetrainJob, state: 'shadow' | 'refused' | 'failed', reason?: string): void {
    job.state = state;
    job.finishedAt = this.o.now();
    if (reason !== undefined) job.reason = reason;
    const outcome: RetrainOutcome = state === 'shadow' ? 'candidate' : state;
    this.o.metrics?.retrained(job.trigger, outcome);
    this.save();
  }

  /** Saves the books and last jobs (one write at a time; a later change writes again). */
  private save(): void {
    this.dirty = true;
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const json = { format: FORMAT, streams: Object.fromEntries(this.books), jobs: [...this.lastJobs.values()] };
      try {
        await writeAtomic(this.file, JSON.stringify(json) + '\n');
      } catch (err) {
        this.o.ctx.log.error('Cannot save the retrain jobs file; the schedule and last jobs are kept in memory until the next change saves them.', { file: this.file, error: errorMessage(err) });
      }
    });
  }
}

interface Gathered {
  readonly windows: RecordedWindow[];
  readonly from: number;
  readonly to: number;
  /** What was left out, for a refusal's reason. */
  readonly leftOut: string;
  readonly metrics: Readonly<Record<string, number>>;
}

interface JobsFile {
  jobs: RetrainJob[];
  streams: Record<string, StreamBook>;
}

function parseJobsFile(json: unknown): JobsFile {
  const v = json as { format?: unknown; jobs?: unknown; streams?: unknown };
  if (v.format !== FORMAT || !Array.isArray(v.jobs) || typeof v.streams !== 'object' || v.streams === null) throw new Error(`unexpected content (format ${String(v.format)})`);
  const jobs = (v.jobs as unknown[]).filter((j): j is RetrainJob => typeof j === 'object' && j !== null && typeof (j as RetrainJob).stream === 'string' && typeof (j as RetrainJob).id === 'string');
  const streams: Record<string, StreamBook> = {};
  for (const [s, b] of Object.entries(v.streams as Record<string, unknown>)) {
    const book = b as Partial<StreamBook>;
    if (typeof book.firstSeenAt === 'number') streams[s] = { firstSeenAt: book.firstSeenAt, lastRetrainAt: book.lastRetrainAt ?? null, lastDriftRetrainAt: book.lastDriftRetrainAt ?? null };
  }
  return { jobs, streams };
}

/** The job as the API shows it: times in RFC 3339. */
export function retrainJobJson(job: RetrainJob): Record<string, unknown> & { id: string; stream: string; model: string; state: string } {
  const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());
  return {
    id: job.id,
    stream: job.stream,
    model: job.model,
    trigger: job.trigger,
    state: job.state,
    ...(job.reason !== undefined ? { reason: job.reason } : {}),
    requested_at: iso(job.requestedAt),
    ...(job.startedAt !== undefined ? { started_at: iso(job.startedAt) } : {}),
    ...(job.finishedAt !== undefined ? { finished_at: iso(job.finishedAt) } : {}),
    ...(job.version !== undefined ? { version: job.version } : {}),
    ...(job.meta ? { windows: job.meta.windows, data_hash: job.meta.dataHash, data_from: iso(job.meta.from), data_to: iso(job.meta.to), metrics: job.meta.metrics } : {}),
  };
}
