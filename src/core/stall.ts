// Ingestion-stall alerts: a stream that stops sending for longer than its silence is a problem of its own (a
// dead sensor, gateway or network path), distinct from an anomaly, and must page differently. Clock-driven: the
// pipeline calls check() with the current time and activity() whenever samples arrive.
import type { AlertNotice } from './alert';
import { alertFingerprint } from './alertFingerprint';

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

  /** Samples arrived at `now`; resolves a firing stall alert. */
  activity(now: number): AlertNotice[] {
    this.lastActivity = now;
    if (!this.firing) return [];
    const resolved: AlertNotice = { ...this.firing, status: 'resolved', endsAt: now, sequence: this.o.nextSequence() };
    this.firing = null;
    return [resolved];
  }

  check(now: number): AlertNotice[] {
    if (this.o.silenceMs <= 0 || this.firing || now - this.lastActivity <= this.o.silenceMs) return [];
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
