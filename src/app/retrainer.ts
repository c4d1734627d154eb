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
import type { Window } from '../core/types';
import type { BackendPreference } from '../model/backend';
import type { DetectorSpec } from '../model/fitDetector';
import type { LearnJob, LearnResult, LearnScales } from '../model/learnWorker';
import type { StreamBinding } from '../pipeline/pipeline';
import { loadJsonState } from '../state/jsonStateFile';
import { writeAtomic } from '../state/stateStore';
import { recordFileName, type WindowRecorder } from '../state/windowRecorder';
import type { RetrainMetrics, RetrainOutcome, RetrainTrigger } from '../telemetry/retrainMetrics';
import { runWorker } from './autoLearner';
import { windowsHash } from './retrainData';
import { DriftMonitor, driftAllowed, scheduledDue } from './retrainDrift';
import { gatherInflux, gatherRecorded, recordCap, type InfluxWindows, type InfluxWindowsRequest } from './retrainGather';
import { JOBS_FILE, jobsFileText, parseJobsFile, type CandidateMeta, type RetrainJob, type StreamBook } from './retrainJobs';
import { promoteShadows, type ShadowStore } from './retrainPromotion';
import type { RetrainSettings } from './retrainSettings';

export type { RetrainTrigger } from '../telemetry/retrainMetrics';
export type { CandidateMeta, RetrainJob, RetrainState } from './retrainJobs';
export { JOBS_FILE, retrainJobJson } from './retrainJobs';
export type { InfluxWindows, InfluxWindowsRequest } from './retrainGather';
export { MIN_RECORD_CAP, recordCap } from './retrainGather';

export interface RetrainerOptions {
  readonly ctx: ComponentContext;
  readonly stateDir: string;
  readonly recorder: WindowRecorder;
  /** The stream's settings under the config in force (null: it does not retrain). */
  readonly settingsOf: (stream: string) => RetrainSettings | null;
  /** Training settings of a stream's model: the same spec auto-learning uses. */
  readonly specFor: (binding: StreamBinding) => DetectorSpec;
  readonly scalesFor?: (binding: StreamBinding) => LearnScales;
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
  /** The model version store's shadow judge and promotion, for `promotion: auto`. Absent: nothing is promoted here. */
  readonly shadows?: ShadowStore;
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

/** Share of the wall time a retrain's training thread sleeps between epochs (model/train.ts, pauseShare). */
export const RETRAIN_PAUSE_SHARE = 0.5;
export type RetrainRequest = RetrainJob | { readonly refused: 'unknown' | 'off' | 'running' | 'not_scored'; readonly reason: string };

export class Retrainer {
  readonly drift = new DriftMonitor();
  private readonly known = new Map<string, Known>();
  private readonly books = new Map<string, StreamBook>();
  private readonly lastJobs = new Map<string, RetrainJob>();
  private readonly queue: RetrainJob[] = [];
  private runningJob: RetrainJob | null = null;
  private promoting = false;
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
    // Waited for: a save still pending after start() could overwrite a file written since (a second daemon's
    // state, a test's fixture).
    if (this.dirty) {
      this.save();
      await this.saving;
    }
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

  /** Periodic: drift verdicts and due schedules start retrains; candidates under automatic promotion are judged. */
  tick(): void {
    const now = this.o.now();
    if (this.o.shadows && !this.promoting) {
      this.promoting = true;
      void promoteShadows(this.lastJobs.values(), this.o.settingsOf, this.o.shadows, this.o.ctx.log, now)
        .then((changed) => {
          if (changed) this.save();
        })
        .finally(() => (this.promoting = false));
    }
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
    const streams = this.streamsOf(job).map((stream) => ({ stream, binding: this.known.get(stream)?.binding }));
    const gathered = settings.source === 'influx' ? await gatherInflux(this.o, streams, k.binding, settings) : await gatherRecorded(this.o, streams, k.binding, settings);
    const { windows, from, to } = gathered;
    if (windows.length < settings.minCleanWindows) {
      const reason = `${windows.length} clean windows over the lookback, ${settings.minCleanWindows} needed (${gathered.leftOut})`;
      log.warn('Not retraining: too few clean windows.', { stream: job.stream, model: job.model, trigger: job.trigger, reason });
      return this.finish(job, 'refused', reason);
    }
    const dir = path.join(this.o.stateDir, 'retrain', 'candidates', `${recordFileName(job.model).replace(/\.rec$/, '')}-${new Date(job.startedAt).toISOString().replace(/[:.]/g, '')}-${job.id}`);
    const binding = k.binding;
    const scales = this.o.scalesFor?.(binding);
    const asWindows: Window[] = windows.map((w) => ({
      stream: job.stream, start: w.start, end: w.end, size: binding.window.size, channels: binding.spec.channels.length, values: w.values, completeness: 1,
      ...(w.prematurity !== undefined ? { prematurity: w.prematurity } : {}),
    }));
    const spec = this.o.specFor(binding);
    const learn: LearnJob = {
      // At most half a core: the daemon keeps scoring, and the broker on the same host keeps its share.
      spec: { ...spec, train: { ...spec.train, pauseShare: this.o.pauseShare ?? RETRAIN_PAUSE_SHARE } },
      windows: asWindows,
      outDir: dir,
      backend: this.o.backend,
      hop: binding.window.hop,
      nice: this.o.nice ?? 10,
      ...scales,
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
      try {
        await writeAtomic(this.file, jobsFileText(this.books, this.lastJobs.values()));
      } catch (err) {
        this.o.ctx.log.error('Cannot save the retrain jobs file; the schedule and last jobs are kept in memory until the next change saves them.', { file: this.file, error: errorMessage(err) });
      }
    });
  }
}

