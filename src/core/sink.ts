// The Sink interface every output implements (InfluxDB, webhook, Alertmanager, console, capture).
// Constructors do nothing; start() connects or loads persisted state; stop() flushes what it can, persists the
// rest and is idempotent and safe after a failed start. Writes never block the pipeline: a sink takes points
// into its own bounded buffer (spilling to disk where it promises durability) and counts what it drops.
import type { AlertNotice } from './alert';

/** One scored window, as written to InfluxDB (`anomaly_score`) and other score sinks. */
export interface ScorePoint {
  readonly stream: string;
  readonly model: string;
  /** The model's version that scored it (tag model_version); undefined where versions are not tracked (offline). */
  readonly modelVersion?: string | undefined;
  /** Window end (ms): the point's time, so a rewrite overwrites instead of duplicating. */
  readonly time: number;
  /** Time of the window's first sample (ms); not written by the InfluxDB sink (replay's scores CSV shows it). */
  readonly windowStart?: number;
  readonly score: number;
  readonly threshold: number;
  readonly pValue: number;
  readonly anomalous: boolean;
  readonly completeness: number;
  /** Channel name -> share of the reconstruction error. */
  readonly channelShares: Readonly<Record<string, number>>;
  /**
   * Channel name -> what the model expected (its reconstruction, in the channel's own units) for this window;
   * absent where the stream does not compute it. Which sample it stands for is in docs/design.md.
   */
  readonly expected?: Readonly<Record<string, number>>;
  /** With `expected`: channel name -> the window's last reading, the value the expected one stands beside. */
  readonly observed?: Readonly<Record<string, number>>;
  /**
   * With `expected`: channel name -> how far the channel alone may sit from its expected value before the window
   * scores at the threshold, own units (docs/design.md); absent where the model has no such figure.
   */
  readonly tolerance?: Readonly<Record<string, number>>;
  /** The stream's denoised signal, where it publishes one: the samples first covered by this window, oldest first. */
  readonly denoised?: readonly DenoisedSample[];
}

/** One sample of a stream's denoised signal: what the model expected of each channel at `time` (ms). */
export interface DenoisedSample {
  readonly time: number;
  readonly values: Readonly<Record<string, number>>;
}

/** Periodic health figures (`anomalyd_health`). */
export interface HealthPoint {
  readonly time: number;
  /** Which replica wrote it (`shard` under scale-out), so replicas' points form separate series. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, number>>;
}

/**
 * A maintenance window opening or closing (`anomaly_maintenance`, drawn as annotations by the dashboards), a
 * change an operator made through the API (`anomaly_audit`), an operator's label of an alert episode
 * (`anomaly_feedback`), a stream's operating mode change (`anomaly_mode`), a shadow model's score of a window
 * (`anomaly_shadow_score`) or a transition of an alert it would have fired (`anomaly_shadow_alert`; never a notice,
 * never paged).
 */
export interface EventPoint {
  readonly kind: 'maintenance' | 'audit' | 'feedback' | 'mode' | 'shadow_score' | 'shadow_alert';
  readonly time: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

export interface SinkStats {
  /** Points (or notices) held in memory awaiting delivery. */
  readonly buffered: number;
  /** Bytes held on disk (spool or outbox). */
  readonly spooledBytes: number;
  /** Whether its connection is up, for a sink that keeps one (mqtt_out); undefined for the others. */
  readonly connected?: boolean;
}

export interface SinkAdmission {
  readonly reason: string;
  /** True when an operator must act (a disk is full), false for ordinary backpressure (a slow disk). */
  readonly failure: boolean;
  readonly ready: Promise<void>;
}

export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  writeScores?(points: readonly ScorePoint[]): void;
  writeAlert?(notice: AlertNotice): void;
  writeHealth?(point: HealthPoint): void;
  writeEvent?(point: EventPoint): void;
  /**
   * Backpressure: null while the sink can take more; otherwise why not and a promise that resolves once it can
   * (e.g. its memory buffer is nearly full and its disk spool is behind or cannot write). The daemon then stops
   * taking input, so MQTT messages stay unacknowledged at the broker instead of being dropped.
   */
  admission?(): SinkAdmission | null;
  /**
   * The daemon no longer monitors `stream`: it was evicted after its idle time, or a config reload removed it. A
   * sink that announced the stream as alive somewhere says it is gone (mqtt_out's Sparkplug DDEATH).
   */
  streamGone?(stream: string): void;
  /**
   * The alerts firing now, told after a restart restored them, when a summary adopted a running one, or when this
   * sink was built by a reload: state, not transitions (they were sent before). A sink that keeps alert state
   * outside anomalyd re-asserts it (Alertmanager would let them expire; a Sparkplug birth must carry them).
   */
  reconcile?(active: readonly AlertNotice[]): void;
  /** Resolves when everything accepted so far is delivered or persisted. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  stats(): SinkStats;
}
