// The alert state machine of one stream: normal -> pending -> firing -> resolved (-> normal), a flapping hold,
// severity from the tail probability, and a separate insufficient-data alert. Pure and clock-free: time is the
// window time it is given, so replay, tests and the daemon get the same decisions. It returns the notices to
// emit; sinks decide how to deliver them.
import type { AlertKind, AlertNotice, AlertSeverity, ChannelReading, ChannelShare } from './alert';
import { EpisodeTracker } from './alertEpisode';
import { alertFingerprint } from './alertFingerprint';
import { retiredNotice } from './alertRetire';
import { ALERT_SNAPSHOT_VERSION, snapshotProblem, type AlertSnapshot, type HeldState } from './alertSnapshot';

export type { AlertSnapshot } from './alertSnapshot';

/** Label set on the notices of a flapping alert (its one firing notice, escalations and the final resolve). */
export const FLAPPING_LABEL = 'flapping';

export interface AlertStateOptions {
  readonly stream: string;
  readonly model: string;
  /** Extra labels on every notice (e.g. line and asset from the topic template). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly k: number;
  readonly n: number;
  readonly resetWindows: number;
  readonly resetRatio: number;
  readonly keepFiringForMs: number;
  /** pValue below this makes an alert critical, otherwise warning. */
  readonly severityCriticalPValue: number;
  /** Consecutive insufficient windows before the insufficient_data alert fires. */
  readonly insufficientWindows: number;
  /** More episode starts than this within flapPeriodMs hold the alert as flapping; 0 disables flap detection. */
  readonly flapMaxStarts: number;
  readonly flapPeriodMs: number;
  /** A flapping alert resolves once no episode has been active for this long. */
  readonly flapQuietMs: number;
  /** Channels (largest error share first) carried on every notice. */
  readonly topChannels: number;
  /** Daemon-wide monotonic sequence numbers (see SequenceCounter). */
  readonly nextSequence: () => number;
}

export interface WindowObservation {
  /** Window end (ms). */
  readonly time: number;
  readonly score: number;
  readonly threshold: number;
  readonly pValue: number;
  readonly anomalous: boolean;
  readonly channelShares: readonly ChannelShare[];
  /**
   * The reading of channel `index` (of channelShares) in this window, asked for the top channels of a notice only,
   * so the model's second look at the window is paid for notices alone. Absent: notices carry shares only.
   */
  readingOf?(index: number): ChannelReading | undefined;
}

export interface InsufficientObservation {
  readonly time: number;
  readonly completeness: number;
}

export type AlertPhase = 'normal' | 'pending' | 'firing' | 'flapping';

export class AlertStateMachine {
  private readonly episode: EpisodeTracker;
  private held: HeldState = 'none';
  private severity: AlertSeverity = 'warning';
  private starts: number[] = [];
  private quietSince: number | null = null;
  private anomaly: AlertNotice | null = null;
  private insufficientCount = 0;
  private insufficient: AlertNotice | null = null;
  private lastThreshold = 0;
  private changes = 0;

  constructor(private readonly options: AlertStateOptions) {
    if (!Number.isInteger(options.insufficientWindows) || options.insufficientWindows < 1) {
      throw new RangeError(`insufficientWindows must be an integer >= 1 (got ${options.insufficientWindows})`);
    }
    if (!Number.isInteger(options.flapMaxStarts) || options.flapMaxStarts < 0) {
      throw new RangeError(`flapMaxStarts must be an integer >= 0 (got ${options.flapMaxStarts})`);
    }
    this.episode = new EpisodeTracker(options);
  }

  /** One scored window. Returns the notices to emit, usually none. */
  observe(w: WindowObservation): AlertNotice[] {
    // A calm window on a calm stream changes nothing its snapshot holds; any other one counts as a change.
    const calmBefore = this.episode.quiet && this.held === 'none' && this.insufficient === null && this.insufficientCount === 0 && this.lastThreshold === w.threshold;
    if (!(calmBefore && !w.anomalous)) this.changes++;
    const out: AlertNotice[] = [];
    this.lastThreshold = w.threshold;
    this.insufficientCount = 0;
    if (this.insufficient) {
      out.push(this.resolveOf(this.insufficient, w.time, w));
      this.insufficient = null;
    }
    const event = this.episode.observe(w.time, w.score, w.threshold, w.anomalous);
    if (event === 'start') this.onStart(w, out);
    else if (event === 'end') this.onEnd(w, out);
    else if (this.anomaly && this.episode.active && this.severity === 'warning' && this.severityOf(w.pValue) === 'critical') {
      // Escalation is worth a new notice; de-escalation is not (it would page twice for one fault).
      this.severity = 'critical';
      this.anomaly = this.build('anomaly', this.anomaly.startsAt, w, this.held === 'flapping');
      out.push(this.anomaly);
    }
    if (this.held === 'flapping' && this.anomaly && this.quietSince !== null && w.time - this.quietSince >= this.options.flapQuietMs) {
      out.push(this.resolveOf(this.anomaly, w.time, w));
      this.clearAnomaly();
    }
    return out;
  }

  /** One window too incomplete to score: neither normal nor anomalous, so the anomaly state stays as it is. */
  observeInsufficient(w: InsufficientObservation): AlertNotice[] {
    this.changes++;
    this.insufficientCount += 1;
    if (this.insufficient || this.insufficientCount < this.options.insufficientWindows) return [];
    const noScore: ScoreOf = { score: 0, threshold: this.lastThreshold, pValue: 1, channelShares: [] };
    this.insufficient = this.build('insufficient_data', w.time, noScore, false);
    return [this.insufficient];
  }

  /**
   * The stream stopped being watched for a while (its machine went to the `off` operating mode): firing alerts
   * resolve now with `reason`, and the episode starts afresh, so the windows after the stop are judged on their
   * own rather than continuing an episode of before it.
   */
  retire(now: number, reason: string, sequence: () => number): AlertNotice[] {
    const out = this.active().map((n) => retiredNotice(n, now, reason, sequence()));
    this.changes++;
    this.episode.restore({ recent: [], active: false, since: 0, calm: 0 });
    this.clearAnomaly();
    this.starts = [];
    this.insufficient = null;
    this.insufficientCount = 0;
    return out;
  }

  get phase(): AlertPhase {
    if (this.held === 'flapping') return 'flapping';
    if (this.held === 'firing') return 'firing';
    return this.episode.pending ? 'pending' : 'normal';
  }

  /** Whether the insufficient_data alert is firing. */
  get insufficientData(): boolean {
    return this.insufficient !== null;
  }

  /** The firing alerts as last notified: what a restarted daemon re-asserts to Alertmanager (not to pagers). */
  active(): AlertNotice[] {
    return [this.anomaly, this.insufficient].filter((n): n is AlertNotice => n !== null);
  }

  /** Changes with everything snapshot() holds (not necessarily only then): the checkpoint copies changed machines only. */
  get revision(): number {
    return this.changes;
  }

  snapshot(): AlertSnapshot {
    return {
      version: ALERT_SNAPSHOT_VERSION,
      stream: this.options.stream,
      episode: this.episode.snapshot(),
      held: this.held,
      severity: this.severity,
      starts: [...this.starts],
      quietSince: this.quietSince,
      anomaly: this.anomaly,
      insufficientCount: this.insufficientCount,
      insufficient: this.insufficient,
      lastThreshold: this.lastThreshold,
    };
  }

  /**
   * Continues from a persisted snapshot (parsed JSON): a firing alert stays firing without a new notice, and
   * resolves with its original fingerprint, startsAt and labels. Throws (changing nothing) when the snapshot
   * is unusable.
   */
  restore(snapshot: unknown): void {
    const problem = snapshotProblem(snapshot, this.options.stream);
    if (problem !== null) throw new TypeError(`Alert state of stream '${this.options.stream}' not restored: ${problem}`);
    const s = snapshot as AlertSnapshot;
    this.changes++;
    this.episode.restore(s.episode);
    this.held = s.held;
    this.severity = s.severity;
    this.starts = [...s.starts];
    this.quietSince = s.quietSince;
    this.anomaly = s.held === 'none' ? null : s.anomaly;
    this.insufficientCount = s.insufficientCount;
    this.insufficient = s.insufficient;
    this.lastThreshold = s.lastThreshold;
  }

  private onStart(w: WindowObservation, out: AlertNotice[]): void {
    this.starts = this.starts.filter((t) => t > w.time - this.options.flapPeriodMs);
    this.starts.push(w.time);
    if (this.held === 'flapping') {
      // Held: the receivers already know this alert flaps; no page per flap, and it is no longer quiet.
      this.quietSince = null;
      if (this.severity === 'warning' && this.severityOf(w.pValue) === 'critical' && this.anomaly) {
        this.severity = 'critical';
        this.anomaly = this.build('anomaly', this.anomaly.startsAt, w, true);
        out.push(this.anomaly);
      }
      return;
    }
    const flapping = this.options.flapMaxStarts > 0 && this.starts.length > this.options.flapMaxStarts;
    this.held = flapping ? 'flapping' : 'firing';
    this.severity = this.severityOf(w.pValue);
    this.anomaly = this.build('anomaly', w.time, w, flapping);
    out.push(this.anomaly);
  }

  private onEnd(w: WindowObservation, out: AlertNotice[]): void {
    if (this.held === 'flapping') {
      this.quietSince = w.time;
      return;
    }
    if (this.anomaly) out.push(this.resolveOf(this.anomaly, w.time, w));
    this.clearAnomaly();
  }

  private clearAnomaly(): void {
    if (this.held === 'flapping') this.starts = [];
    this.held = 'none';
    this.severity = 'warning';
    this.quietSince = null;
    this.anomaly = null;
  }

  private severityOf(pValue: number): AlertSeverity {
    return pValue < this.options.severityCriticalPValue ? 'critical' : 'warning';
  }

  /** The resolve of a firing notice keeps its identity (fingerprint, startsAt, severity, labels, model). */
  private resolveOf(firing: AlertNotice, time: number, w: ScoreOf): AlertNotice {
    return {
      ...firing,
      status: 'resolved',
      endsAt: time,
      score: w.score,
      threshold: w.threshold,
      pValue: w.pValue,
      topChannels: firing.kind === 'anomaly' ? topShares(w.channelShares, this.options.topChannels, w) : [],
      sequence: this.options.nextSequence(),
    };
  }

  /** A firing notice; resolves are derived from it by resolveOf. */
  private build(kind: AlertKind, startsAt: number, w: ScoreOf, flapping: boolean): AlertNotice {
    const { stream, model } = this.options;
    return {
      fingerprint: alertFingerprint(stream, kind),
      stream,
      model,
      kind,
      status: 'firing',
      severity: kind === 'anomaly' ? this.severity : 'warning',
      startsAt,
      endsAt: null,
      score: w.score,
      threshold: w.threshold,
      pValue: w.pValue,
      topChannels: topShares(w.channelShares, this.options.topChannels, w),
      sequence: this.options.nextSequence(),
      labels: flapping ? { ...this.options.labels, [FLAPPING_LABEL]: 'true' } : { ...this.options.labels },
    };
  }
}

/** What a notice takes from the window that caused it. */
type ScoreOf = Omit<WindowObservation, 'time' | 'anomalous'>;

/** The `count` largest shares, largest first (ties keep channel order), each with its reading where `source` gives one. */
export function topShares(shares: readonly ChannelShare[], count: number, source?: Pick<WindowObservation, 'readingOf'>): ChannelShare[] {
  return shares
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.share - a.s.share || a.i - b.i)
    .slice(0, Math.max(0, count))
    .map(({ s, i }) => {
      const reading = source?.readingOf?.(i) ?? s.reading;
      return reading === undefined ? { channel: s.channel, share: s.share } : { channel: s.channel, share: s.share, reading };
    });
}
