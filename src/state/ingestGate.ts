// What stands between the MQTT source and the pipeline: a message's samples are appended to the sample journal
// (so they survive kill -9) and then delivered, and nothing is taken while the daemon could not keep what it
// takes: a sink asks for backpressure (its memory buffer is nearly full and its disk spool is behind or cannot
// write) or the journal or state file cannot be written (disk full). While paused, deliver() waits, so the
// source does not acknowledge and MQTT messages stay at the broker (QoS 1, persistent session) until the
// daemon can keep them: no data is dropped for lack of disk, and the log and anomalyd_ingestion_paused say so.
//
// The common case stays synchronous: the batch is appended to the journal's group (memory), then the pipeline's
// own deliver. `commit` writes the group once per event-loop turn; the MQTT source calls it before that turn's
// PUBACKs leave, so an ack is never sent for a message whose journal frame is not written. A failed commit
// holds those acks back (the source retries) and pauses input until a commit succeeds.
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { Sink, SinkAdmission } from '../core/sink';
import type { Deliver, StreamSamples } from '../core/source';
import type { SampleJournal } from './sampleJournal';

/** A paused delivery checks again this often (a journal write is retried, a cleared problem noticed). */
const RECHECK_MS = 1000;
/** Backpressure without a failure (a slow disk) is logged at most this often. */
const SLOW_LOG_MS = 60_000;

export interface IngestGateDeps {
  readonly ctx: ComponentContext;
  readonly journal: SampleJournal;
  /** The sinks in force (a reload may swap them). */
  readonly sinks: () => readonly Sink[];
}

export class IngestGate {
  /** Storage that cannot be written, by name (state file...): the problem text. */
  private readonly problems = new Map<string, string>();
  private problemCleared: (() => void) | null = null;
  private problemClearedP: Promise<void> | null = null;
  private waiting = 0;
  private pausedSince: number | null = null;
  private pausedForFailure = false;
  private lastSlowLog = 0;
  private readonly closed = new AbortController();
  private commitScheduled = false;
  /**
   * The sinks in force, asked for once per turn of the event loop rather than per message (the daemon builds
   * the list on each call); a turn's first message asks again, so a reload's sinks are asked from then on.
   */
  private sinksThisTurn: readonly Sink[] | null = null;

  constructor(private readonly deps: IngestGateDeps) {}

  /** Stop: deliveries still waiting give up (their messages stay unacknowledged). Idempotent. */
  close(): void {
    this.closed.abort();
  }

  /** True while input is held back (anomalyd_ingestion_paused, which the daemon reads from here). */
  get paused(): boolean {
    return this.waiting > 0;
  }

  /** Readiness: not ready while input is held back for a storage failure (an operator must act). */
  check(): { ok: boolean; detail?: string } {
    const why = this.failureReason();
    return why ? { ok: false, detail: `input paused: ${why}` } : { ok: true };
  }

  /** Records that a storage (by name) cannot be written (`problem`) or works again (null). */
  set(storage: string, problem: string | null): void {
    if (problem === null) {
      if (!this.problems.delete(storage)) return;
      if (this.problems.size === 0 && this.problemCleared) {
        this.problemCleared();
        this.problemCleared = null;
        this.problemClearedP = null;
      }
      return;
    }
    this.problems.set(storage, problem);
  }

  /** Delivers the batches a previous run left in the journal (before any new input; not journaled again). */
  async replay(batches: readonly StreamSamples[], deliver: Deliver): Promise<void> {
    for (const b of batches) await deliver(b);
  }

  /**
   * Writes the journal group collected so far; true once everything delivered is in the journal. The MQTT
   * source calls it before it sends acknowledgements and holds them while it returns false. Never throws.
   */
  readonly commit = (): boolean => {
    this.commitScheduled = false;
    try {
      this.deps.journal.commit();
    } catch (err) {
      this.set('journal', journalProblem(err));
      return false;
    }
    if (this.problems.size > 0) this.set('journal', null);
    return true;
  };

  /** `deliver` behind the journal and the pause. The source must call `commit` before it acknowledges. */
  guard(deliver: Deliver): Deliver {
    return (batch) => {
      // A message rejected for its sample times carries no samples: nothing to keep, nothing to hold back.
      if (batch.samples.length === 0) return deliver(batch);
      // The first message since the last commit (a new turn of the event loop) asks the sinks in force afresh.
      if (!this.commitScheduled) this.sinksThisTurn = null;
      // Any storage problem (the journal's too) goes the slow way; so does a sink's backpressure.
      if (this.waiting > 0 || this.problems.size > 0 || this.blocker() !== null) return this.deliverLater(batch, deliver);
      this.deps.journal.append(batch);
      if (!this.commitScheduled) {
        // Also without acknowledgements to wait for (QoS 0): the group is written at the end of this turn.
        this.commitScheduled = true;
        setImmediate(this.commit);
      }
      return deliver(batch);
    };
  }

  /** Waits until input may be taken and the journal holds `batch` (appended once, however often retried). */
  private async deliverLater(batch: StreamSamples, deliver: Deliver): Promise<void> {
    let appended = false;
    const signal = AbortSignal.any([this.deps.ctx.signal, this.closed.signal]);
    this.waiting++;
    try {
      for (;;) {
        if (signal.aborted) throw new Error('the daemon is stopping');
        this.sinksThisTurn = null;
        const blocker = this.blocker();
        if (blocker === null) {
          if (!appended) this.deps.journal.append(batch);
          appended = true;
          if (this.commit()) break;
        }
        this.notePause(blocker);
        await Promise.race([blocker?.ready ?? new Promise<void>(() => undefined), delay(RECHECK_MS, signal)]);
      }
    } finally {
      this.waiting--;
      if (this.waiting === 0) this.noteResume();
    }
    await deliver(batch);
  }

  /** Why input must wait now (a storage problem first, then a sink's backpressure), or null. */
  private blocker(): SinkAdmission | null {
    if (this.problems.size > 0) {
      const stored = [...this.problems].filter(([name]) => name !== 'journal');
      if (stored.length > 0) {
        this.problemClearedP ??= new Promise<void>((resolve) => (this.problemCleared = resolve));
        return { reason: stored.map(([, p]) => p).join('; '), failure: true, ready: this.problemClearedP };
      }
    }
    const sinks = (this.sinksThisTurn ??= this.deps.sinks());
    for (let i = 0; i < sinks.length; i++) {
      const a = sinks[i].admission?.();
      if (a) return a;
    }
    return null;
  }

  private failureReason(): string | null {
    if (this.problems.size > 0) return [...this.problems.values()].join('; ');
    const b = this.waiting > 0 ? this.blocker() : null;
    return b?.failure ? b.reason : null;
  }

  private notePause(blocker: SinkAdmission | null): void {
    const journal = this.problems.get('journal');
    const reason = blocker?.reason ?? journal ?? 'storage unavailable';
    const failure = blocker?.failure ?? journal !== undefined;
    const now = Date.now();
    if (this.pausedSince === null) this.pausedSince = now;
    const { log } = this.deps.ctx;
    if (failure && !this.pausedForFailure) {
      this.pausedForFailure = true;
      log.error(`Input paused: ${reason}. MQTT messages stay unacknowledged at the broker until this clears; nothing is dropped.`);
    } else if (!failure && now - this.lastSlowLog >= SLOW_LOG_MS) {
      this.lastSlowLog = now;
      log.warn(`Input held back: ${reason}.`);
    }
  }

  private noteResume(): void {
    if (this.pausedSince === null) return;
    const ms = Date.now() - this.pausedSince;
    if (this.pausedForFailure) this.deps.ctx.log.info('Input resumed.', { paused_ms: ms });
    else this.deps.ctx.log.debug('Input resumed.', { paused_ms: ms });
    this.pausedSince = null;
    this.pausedForFailure = false;
  }
}

function journalProblem(err: unknown): string {
  const full = (err as NodeJS.ErrnoException).code === 'ENOSPC';
  return `${full ? 'Disk full: cannot' : 'Cannot'} write the sample journal (${errorMessage(err)})`;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
