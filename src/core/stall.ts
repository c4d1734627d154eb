// Ingestion-stall alerts: a stream that stops sending for longer than its silence is a problem of its own (a
// dead sensor, gateway or network path), distinct from an anomaly, and must page differently. Clock-driven: the
// pipeline calls check() with the current time and activity() whenever samples arrive. The firing alert is
// persisted (snapshot/restore), so a restart neither pages it again nor loses its resolve.
//
// A stream whose messages keep arriving but are all rejected for their sample times (timestamp.max_future_skew_ms,
// timestamp.max_age_ms: a sender's clock far ahead or reset to 1970) is silent for the pipeline too, and would
// page as a stall that sends the operator to the wrong place. The pipeline tells the detector of each such
// rejection (timeRejected); a silence with rejections in it fires as timestamps_rejected instead, naming the
// reason and the offset. It resolves after a run of RECOVERY_SAMPLES correctly timed samples, not the first one,
// so a clock that is right only now and then does not page and resolve over and over.
//
// Only a stream that had been healthy pages: one that completed at least one window. A topic that sent a
// message or two and nothing a model could score (a made-up topic, a sender switched off at once) is not a
// stream that stopped; 1,500 such topics paged 997 IngestionStalled alerts. Healthy is kept in the snapshot,
// so a stream restored after a restart pages when it stays silent. TimestampsRejected still pages before a
// first window: that sender is real (its messages decode into the stream's channels), only its clock is wrong.
import type { AlertNotice } from './alert';
import { alertFingerprint } from './alertFingerprint';
import { reviveFiringNotice } from './alertNoticeCheck';
import { retiredNotice } from './alertRetire';

export const STALL_SNAPSHOT_VERSION = 1;
/** Correctly timed samples, with no rejection among them, that resolve a timestamps_rejected alert. */
export const RECOVERY_SAMPLES = 10;

/** No notices; frozen, so a caller that tried to add to it fails loudly. */
const NONE: readonly AlertNotice[] = Object.freeze([]);

/** What the state file keeps of a stream's stall detector: the alert receivers were told is firing. */
export interface StallSnapshot {
  readonly version: typeof STALL_SNAPSHOT_VERSION;
  readonly firing: AlertNotice | null;
  /** It completed a window (absent in files written before this was kept: taken as healthy). */
  readonly healthy?: boolean;
}

export interface StallOptions {
  readonly stream: string;
  readonly model: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Silence (ms) after which the alert fires; 0 disables it. */
  readonly silenceMs: number;
  readonly nextSequence: () => number;
}

/** The latest message of a stream rejected for its sample time. */
export interface TimeRejection {
  readonly reason: 'future_timestamp' | 'too_old';
  /** The decoder's detail: which time, how far off, the limit. */
  readonly detail: string;
}

export class StallDetector {
  private lastActivity: number;
  private firing: AlertNotice | null = null;
  /** The latest time rejection since the last accepted samples (null: none). */
  private rejection: TimeRejection | null = null;
  /** Correctly timed samples since the last rejection, while timestamps_rejected fires. */
  private goodRun = 0;
  /** Counts changes of what snapshot() holds (the firing alert): the checkpoint copies changed streams only. */
  private changes = 0;
  /** It completed at least one window: only then does a silence page. */
  private wasHealthy = false;

  constructor(
    private readonly o: StallOptions,
    now: number,
  ) {
    this.lastActivity = now;
  }

  /** The same stream under new options (config reload): the last activity and a firing alert carry over. */
  reconfigured(o: StallOptions): StallDetector {
    const next = new StallDetector(o, this.lastActivity);
    next.firing = this.firing;
    next.rejection = this.rejection;
    next.goodRun = this.goodRun;
    next.wasHealthy = this.wasHealthy;
    return next;
  }

  /** It completed at least one window (now, or before a restart). */
  get healthy(): boolean {
    return this.wasHealthy;
  }

  /** The stream completed a window: from now on a silence pages. */
  windowCompleted(): void {
    if (this.wasHealthy) return;
    this.wasHealthy = true;
    this.changes++;
  }

  /** When the firing stall alert started, if it is summarised (stallSummary.ts); else null. */
  get summarisedSince(): number | null {
    return this.firing?.summarisedBy !== undefined ? this.firing.startsAt : null;
  }

  get stalled(): boolean {
    return this.firing !== null;
  }

  /** The firing alert, if any (re-asserted to Alertmanager after a restart). */
  active(): AlertNotice[] {
    return this.firing ? [this.firing] : [];
  }

  get revision(): number {
    return this.changes;
  }

  snapshot(): StallSnapshot {
    return { version: STALL_SNAPSHOT_VERSION, firing: this.firing, healthy: this.wasHealthy };
  }

  /**
   * Continues from a persisted snapshot (parsed JSON) after a restart: a firing alert stays firing without a new
   * notice and resolves, with its identity, when samples arrive. The silence is counted from construction (the
   * stream's first message after the restart). Throws, changing nothing, when the snapshot is unusable.
   */
  restore(snapshot: unknown): void {
    const s = snapshot as Partial<StallSnapshot> | null;
    if (typeof s !== 'object' || s === null || s.version !== STALL_SNAPSHOT_VERSION) throw new TypeError(`Stall state of stream '${this.o.stream}' not restored: unsupported content`);
    this.changes++;
    this.wasHealthy = s.healthy !== false;
    if (s.firing === null || s.firing === undefined) {
      this.firing = null;
      return;
    }
    const kind = (s.firing as { kind?: unknown }).kind === 'timestamps_rejected' ? 'timestamps_rejected' : 'ingestion_stalled';
    const firing = reviveFiringNotice(s.firing, kind, this.o.stream);
    if (typeof firing === 'string') throw new TypeError(`Stall state of stream '${this.o.stream}' not restored: ${firing}`);
    this.firing = firing;
  }

  /**
   * The firing alert pages through a summary of many stalls (stallSummary.ts): it is marked so, here and in the
   * state file, and its resolve carries the mark too. Returns the marked notice.
   */
  summarise(by: string): AlertNotice {
    if (!this.firing) throw new Error(`Stream '${this.o.stream}' has no stall alert firing to summarise`);
    this.firing = { ...this.firing, summarisedBy: by };
    this.changes++;
    return this.firing;
  }

  /** The stream is no longer monitored (removed by a config reload): resolves a firing alert with `reason`. */
  retire(now: number, reason: string): AlertNotice[] {
    if (!this.firing) return [];
    const resolved = retiredNotice(this.firing, now, reason, this.o.nextSequence());
    this.firing = null;
    this.changes++;
    return [resolved];
  }

  /**
   * The silence counts from `now` (the stream's machine left the `off` mode: a stopped machine whose gateway
   * stopped sending was not stalled). A firing alert stays until samples come.
   */
  restartClock(now: number): void {
    this.lastActivity = Math.max(this.lastActivity, now);
  }

  /** A message of the stream was rejected for its sample time (no samples taken, so no activity). */
  timeRejected(rejection: TimeRejection): void {
    this.rejection = rejection;
    this.goodRun = 0;
  }

  /** `samples` samples were accepted at `now`; resolves a firing stall alert (timestamps_rejected: after a run). */
  activity(now: number, samples = 1): readonly AlertNotice[] {
    this.lastActivity = now;
    // Called for every message: the usual answer allocates nothing.
    if (!this.firing) {
      this.rejection = null;
      return NONE;
    }
    if (this.firing.kind === 'timestamps_rejected') {
      this.goodRun += samples;
      if (this.goodRun < RECOVERY_SAMPLES) return NONE;
    }
    this.rejection = null;
    this.goodRun = 0;
    const resolved: AlertNotice = { ...this.firing, status: 'resolved', endsAt: now, sequence: this.o.nextSequence() };
    this.firing = null;
    this.changes++;
    return [resolved];
  }

  check(now: number): AlertNotice[] {
    if (this.o.silenceMs <= 0 || this.firing || now - this.lastActivity <= this.o.silenceMs) return [];
    // A sender whose every message was refused for its clock is a real sender (its messages parse, with the
    // stream's channels) that was never let in: that pages even before a first window.
    if (!this.wasHealthy && !this.rejection) return [];
    this.changes++;
    const kind = this.rejection ? 'timestamps_rejected' : 'ingestion_stalled';
    this.firing = {
      fingerprint: alertFingerprint(this.o.stream, kind),
      stream: this.o.stream,
      model: this.o.model,
      kind,
      status: 'firing',
      severity: 'warning',
      startsAt: this.lastActivity,
      endsAt: null,
      score: NaN,
      threshold: NaN,
      pValue: NaN,
      topChannels: [],
      sequence: this.o.nextSequence(),
      labels: this.o.labels,
      ...(this.rejection ? { detail: `${this.rejection.reason}: ${this.rejection.detail}` } : {}),
    };
    return [this.firing];
  }
}
