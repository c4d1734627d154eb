// One lane per model: ready windows of every stream that shares the model wait in one bounded queue and are
// scored together in micro-batches, because one scorer call on 64 windows costs little more than a call on one.
// A batch is scored when it is full (maxBatch), when its oldest window has waited maxWaitMs, or as soon as the
// input pauses: a turn of the event loop that brought no new window means the source has read everything
// there was, and waiting longer would add latency without adding windows. Under load the input never pauses
// and batches fill; at a trickle each window is scored within a turn or two of its last sample arriving (the
// fixed wait alone was most of the alert latency at nominal load).
import type { ScoringFailure } from '../core/context';
import type { ScoredWindow, ScoringModel } from '../core/scoringModel';
import type { Window } from '../core/types';
import { BoundedQueue, type WhenFull } from './boundedQueue';
import { nonFiniteScores, scoringFailure } from './scoringFailure';

export interface LaneOptions {
  readonly capacity: number;
  readonly whenFull: WhenFull;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  /** Whether a window's stream writes what the model expected of it: a batch holding one is scored with expectations. */
  readonly wantsExpected?: (window: Window) => boolean;
}

/** `detector` is the one that scored the batch (a reload may replace the lane's before the next). */
export type LaneResults = (model: string, windows: readonly Window[], scored: readonly ScoredWindow[], seconds: number, detector: ScoringModel) => void;
export type LaneError = (model: string, windows: readonly Window[], kind: ScoringFailure, detail: string) => void;

export class ModelLane {
  readonly queue: BoundedQueue<Window>;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The end-of-turn check for a pause in the input; `arrived` says whether windows came in since the last one. */
  private pauseCheck: NodeJS.Immediate | undefined;
  private arrived = false;

  constructor(
    readonly model: string,
    private detector: ScoringModel,
    private readonly opts: LaneOptions,
    private readonly onResults: LaneResults,
    private readonly onError: LaneError,
  ) {
    this.queue = new BoundedQueue<Window>(opts.capacity, opts.whenFull);
  }

  get currentDetector(): ScoringModel {
    return this.detector;
  }

  /** Swap the model (reload) between batches; windows already queued are scored by the new one. */
  replaceDetector(detector: ScoringModel): void {
    this.detector = detector;
  }

  /** See BoundedQueue.push; schedules a flush either way. */
  push(window: Window): boolean | Promise<void> {
    const r = this.queue.push(window);
    this.arrived = true;
    this.schedule();
    return r;
  }

  /** Score everything queued now (shutdown, replay, tests). */
  drain(): void {
    this.clearTimers();
    while (this.queue.length > 0 || this.queue.blocked > 0) this.flushOnce();
  }

  stop(): void {
    this.clearTimers();
  }

  private schedule(): void {
    if (this.queue.length + this.queue.blocked >= this.opts.maxBatch) {
      // Full batch: score on the next turn of the event loop so messages already read can still join it.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.flushOnce();
        if (this.queue.length > 0 || this.queue.blocked > 0) this.schedule();
      });
    } else {
      if (!this.timer && this.opts.maxWaitMs >= 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flushOnce();
          if (this.queue.length > 0 || this.queue.blocked > 0) this.schedule();
        }, this.opts.maxWaitMs);
      }
      this.pauseCheck ??= setImmediate(this.onTurnEnd);
    }
  }

  /** Runs after each turn of the event loop while windows wait: scores them once a turn brought none. */
  private readonly onTurnEnd = (): void => {
    this.pauseCheck = undefined;
    if (this.queue.length === 0 && this.queue.blocked === 0) return;
    if (this.arrived) {
      this.arrived = false;
      this.pauseCheck = setImmediate(this.onTurnEnd);
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushOnce();
    if (this.queue.length > 0 || this.queue.blocked > 0) this.schedule();
  };

  private flushOnce(): void {
    const batch = this.queue.take(this.opts.maxBatch);
    if (batch.length === 0) return;
    const t0 = process.hrtime.bigint();
    let scored: ScoredWindow[];
    const detector = this.detector;
    try {
      const wants = this.opts.wantsExpected;
      scored = detector.score(batch, wants !== undefined && batch.some(wants));
    } catch (err) {
      const failure = scoringFailure(err, batch, this.detector);
      this.onError(this.model, batch, failure.kind, failure.detail);
      return;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // A NaN score would never cross the threshold and so hide a stream from alerting: reported and dropped.
    if (scored.every((s) => Number.isFinite(s.score))) {
      this.onResults(this.model, batch, scored, seconds, detector);
      return;
    }
    const good = scored.map((s) => Number.isFinite(s.score));
    const failed = batch.filter((_, i) => !good[i]);
    this.onError(this.model, failed, 'nan', nonFiniteScores(failed));
    this.onResults(this.model, batch.filter((_, i) => good[i]), scored.filter((_, i) => good[i]), seconds, detector);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.pauseCheck) clearImmediate(this.pauseCheck);
    this.timer = undefined;
    this.immediate = undefined;
    this.pauseCheck = undefined;
  }
}
