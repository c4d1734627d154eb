// Auto-learning for streams without a model: collect the first N complete windows of the stream, train and
// calibrate a detector in a worker thread (ingestion and scoring of other streams go on), save it under
// state_dir/models/, then hand it to the pipeline, which scores the stream's later windows with it (its score
// filter's range check seeded with the learning range, see learnedRange, and the filter fed the learning windows
// as the new model scores them, see warmScoreFilter).
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ComponentContext } from '../core/context';
import type { Window } from '../core/types';
import type { BackendPreference } from '../model/backend';
import type { Detector } from '../model/detector';
import type { DetectorSpec } from '../model/fitDetector';
import { loadLearnedModel, scalesOfLearned, type LearnedScales } from '../model/learnedModel';
import type { LearnJob, LearnResult, LearnScales } from '../model/learnWorker';
import type { StreamBinding, WindowLearner } from '../pipeline/pipeline';
import type { StreamScoreFilter } from '../core/scoreFilter';
import { learnedModelDir } from './learnedDirs';
import { AUTO_PREFIX } from './models';

export interface AutoLearnerOptions {
  /** Complete windows collected before training. */
  readonly windows: number;
  readonly modelsDir: string;
  readonly backend: BackendPreference;
  /** The spec of `model` (the binding's, or one of its modes' `auto:<stream>@<mode>`). */
  readonly specFor: (binding: StreamBinding, model: string) => DetectorSpec;
  /** Networks per scale and the extra scales to learn for the binding (default: one network, one scale). */
  readonly scalesFor?: (binding: StreamBinding) => LearnScales;
  readonly onLearned: (model: string, detector: Detector, scales: LearnedScales) => void;
}

interface Collecting {
  readonly windows: Window[];
  training: boolean;
  /** The model learned, and the score filter whose range check starts from its learning range. */
  readonly model: string;
  readonly filter: StreamScoreFilter | undefined;
}

export class AutoLearner implements WindowLearner {
  private readonly collecting = new Map<string, Collecting>();
  private readonly queue: (() => Promise<void>)[] = [];
  private running = false;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly opts: AutoLearnerOptions,
  ) {}

  /** Streams currently collecting or training, for the status page. */
  progress(): { model: string; windows: number; target: number; training: boolean }[] {
    return [...this.collecting.entries()].map(([model, c]) => ({ model, windows: c.windows.length, target: this.opts.windows, training: c.training }));
  }

  /** The stream of `model` was evicted: the windows it collected go (a model being trained is still written). */
  forget(model: string): void {
    const c = this.collecting.get(model);
    if (c && !c.training) this.collecting.delete(model);
    // Its modes' own models (`<model>@<mode>`) too.
    for (const [name, m] of this.collecting) if (name.startsWith(`${model}@`) && !m.training) this.collecting.delete(name);
  }

  offer(binding: StreamBinding, window: Window, model = binding.model, filter = binding.scoreFilter): void {
    let c = this.collecting.get(model);
    if (!c) {
      c = { windows: [], training: false, model, filter };
      this.collecting.set(model, c);
      this.ctx.log.info('Collecting windows to learn a model.', { stream: binding.spec.id, model, windows: this.opts.windows });
    }
    if (c.training) return;
    c.windows.push(window);
    if (c.windows.length < this.opts.windows) return;
    c.training = true;
    const collected = c;
    this.queue.push(() => this.train(binding, collected));
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) await job();
    } finally {
      this.running = false;
    }
  }

  private async train(binding: StreamBinding, c: Collecting): Promise<void> {
    // `auto:<stream>` or, for a mode's own model, `auto:<stream>@<mode>`: the folder and the manifest's stream.
    const dir = learnedModelDir(this.opts.modelsDir, c.model.startsWith(AUTO_PREFIX) ? c.model.slice(AUTO_PREFIX.length) : binding.spec.id);
    const scales = this.opts.scalesFor?.(binding);
    const job: LearnJob = {
      spec: this.opts.specFor(binding, c.model),
      windows: c.windows,
      outDir: dir,
      backend: this.opts.backend,
      hop: binding.window.hop,
      ...scales,
    };
    this.ctx.log.info('Training a model for the stream in a worker thread.', { stream: binding.spec.id, windows: c.windows.length });
    const result = await runWorker(job, this.ctx.signal);
    if (!result.ok) {
      this.ctx.events.modelFailed(c.model, dir, `auto-learning failed: ${result.error}`);
      c.windows.length = 0;
      c.training = false;
      return;
    }
    const learned = await loadLearnedModel(dir, { channels: binding.spec.channels });
    const { detector } = learned;
    this.ctx.log.info('Learned a model; scoring starts.', {
      stream: binding.spec.id,
      threshold: result.threshold,
      epochs: result.epochs,
      seconds: result.seconds,
      coarse: result.coarse,
      transformed: result.transformed,
    });
    this.collecting.delete(c.model);
    this.opts.onLearned(c.model, detector, scalesOfLearned(learned));
    // The range check of the stream's score filter starts from the range the model learnt from.
    const range = learnedRange(detector, binding.spec.channels);
    c.filter?.seedRange?.(range.lo, range.hi);
    if (c.filter) {
      const warmed = warmScoreFilter(c.filter, detector, c.windows);
      this.ctx.log.info('Score filter warmed with the learning windows.', { stream: binding.spec.id, windows: warmed });
    }
  }
}

/**
 * Feeds a stream's learning windows, scored by the model just learnt from them, through its score filter (the
 * likelihood's history, the coarse scale's pooled stream, the range check), its judgements discarded: the filter
 * then starts as `evaluate` has it, which streams the learning rows through the pipeline once the model is
 * learnt. The learning windows score lower than later ones, yet the warm history did better than an empty one on
 * NAB (docs/benchmarks.md, "The default of auto-learning streams"). Returns the windows fed.
 */
export function warmScoreFilter(filter: StreamScoreFilter, detector: Pick<Detector, 'score'>, windows: readonly Window[], batch = 256): number {
  let fed = 0;
  for (let start = 0; start < windows.length; start += batch) {
    const part = windows.slice(start, start + batch);
    detector.score(part).forEach((s, i) => {
      filter.filter({
        time: s.end, score: s.score, threshold: s.threshold, pValue: s.pValue, anomalous: s.anomalous,
        window: { values: part[i].values, channels: part[i].channels },
        learn: true,
      });
      fed++;
    });
  }
  return fed;
}

/**
 * The raw range per channel (in `channels`' order, NaN where unknown) of a model's learning windows, from its
 * manifest. An auto-learning stream's score filter starts its range check from it, after learning and after a
 * restart (where the filter's checkpoint holds the rest of its state), instead of judging the first windows
 * against the range of one window.
 */
export function learnedRange(detector: Detector, channels: readonly string[]): { lo: number[]; hi: number[] } {
  const summary = detector.manifest.training.channelSummary;
  const of = (ch: string): { min: number; max: number } | undefined => summary.find((s) => s.name === ch);
  return { lo: channels.map((ch) => of(ch)?.min ?? Number.NaN), hi: channels.map((ch) => of(ch)?.max ?? Number.NaN) };
}

/** Runs one learning job in a worker thread (also the retrainer's); resolves with its result, never rejects. */
export function runWorker(job: LearnJob, signal: AbortSignal): Promise<LearnResult> {
  return new Promise((resolve) => {
    const worker = new Worker(path.join(__dirname, '..', 'model', 'learnWorker.js'), { workerData: job });
    const onAbort = (): void => void worker.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const done = (r: LearnResult): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    worker.once('message', (r: LearnResult) => done(r));
    worker.once('error', (err) => done({ ok: false, error: err.message }));
    worker.once('exit', (code) => done({ ok: false, error: `worker exited with code ${code}` }));
  });
}
