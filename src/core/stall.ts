// Ingestion-stall alerts: a stream that stops sending for longer than its silence is a problem of its own (a
// dead sensor, gateway or network path), distinct from an anomaly, and must page differently. Clock-driven: the
// pipeline calls check() with the current time and activity() whenever samples arrive. The firing alert is
// persisted (snapshot/restore), so a restart neither pages it again nor loses its resolve.
import type { AlertNotice } from './alert';
import { alertFingerprint } from './alertFingerprint';
import { reviveFiringNotice } from './alertNoticeCheck';
import { retiredNotice } from './alertRetire';

export const STALL_SNAPSHOT_VERSION = 1;

/** No notices; frozen, so a caller that tried to add to it fails loudly. */
const NONE: readonly AlertNotice[] = Object.freeze([]);

/** What the state file keeps of a stream's stall detector: the alert receivers were told is firing. */
export interface StallSnapshot {
  readonly version: typeof STALL_SNAPSHOT_VERSION;
  readonly firing: AlertNotice | null;
}

export interface StallOptions {
  readonly stream: string;
  readonly model: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Silence (ms) after which the alert fires; 0 disables it. */
  readonly silenceMs: number;
  readonly nextSequence: () => number;
}

export class StallDetector {
  private lastActivity: number;
  private firing: AlertNotice | null = null;
  /** Counts changes of what snapshot() holds (the firing alert): the checkpoint copies changed streams only. */
  private changes = 0;

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
    return next;
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
    return { version: STALL_SNAPSHOT_VERSION, firing: this.firing };
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
    if (s.firing === null || s.firing === undefined) {
      this.firing = null;
      return;
    }
    const firing = reviveFiringNotice(s.firing, 'ingestion_stalled', this.o.stream);
    if (typeof firing === 'string') throw new TypeError(`Stall state of stream '${this.o.stream}' not restored: ${firing}`);
    this.firing = firing;
  }

  /** The stream is no longer monitored (removed by a config reload): resolves a firing alert with `reason`. */
  retire(now: number, reason: string): AlertNotice[] {
    if (!this.firing) return [];
    const resolved = retiredNotice(this.firing, now, reason, this.o.nextSequence());
    this.firing = null;
    this.changes++;
    return [resolved];
  }

  /** Samples arrived at `now`; resolves a firing stall alert. */
  activity(now: number): readonly AlertNotice[] {
    this.lastActivity = now;
    // Called for every message: the usual answer allocates nothing.
    if (!this.firing) return NONE;
    const resolved: AlertNotice = { ...this.firing, status: 'resolved', endsAt: now, sequence: this.o.nextSequence() };
    this.firing = null;
    this.changes++;
    return [resolved];
  }

  check(now: number): AlertNotice[] {
    if (this.o.silenceMs <= 0 || this.firing || now - this.lastActivity <= this.o.silenceMs) return [];
    this.changes++;
    this.firing = {
      fingerprint: alertFingerprint(this.o.stream, 'ingestion_stalled'),
      stream: this.o.stream,
      model: this.o.model,
      kind: 'ingestion_stalled',
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
    };
    return [this.firing];
  }
}
