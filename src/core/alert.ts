// The data of one alert transition, independent of how a sink formats it (webhook v4 body, Alertmanager
// API, InfluxDB point, console line).

export type AlertSeverity = 'warning' | 'critical';
/**
 * anomaly: scores over the threshold; insufficient_data: windows too incomplete to score; ingestion_stalled:
 * the stream stopped sending for longer than its configured silence (a dead sensor or gateway, not a fault);
 * sensor_flatline / sensor_spikes: a channel repeats one value or glitches (sensorCheck.ts), a measurement fault;
 * timestamps_rejected: the stream sends, but every message was rejected for its sample times (a sender's clock
 * far ahead or reset), for as long as a stall takes (stall.ts); streams_refused: messages of new streams keep
 * being refused (allow_streams, new_streams_per_minute, limits.max_streams), one alert for all of them
 * (refusalAlert.ts); streams_stalled: many streams stopped sending at once, one alert for all of them
 * (stallSummary.ts).
 */
export type AlertKind =
  | 'anomaly'
  | 'insufficient_data'
  | 'ingestion_stalled'
  | 'sensor_flatline'
  | 'sensor_spikes'
  | 'timestamps_rejected'
  | 'streams_refused'
  | 'streams_stalled';

/** The alertname label of each kind (what Alertmanager routes and people search by). */
const ALERT_NAMES = {
  anomaly: 'AnomalyDetected',
  insufficient_data: 'InsufficientData',
  ingestion_stalled: 'IngestionStalled',
  sensor_flatline: 'SensorFlatline',
  sensor_spikes: 'SensorSpikes',
  timestamps_rejected: 'TimestampsRejected',
  streams_refused: 'StreamsRefused',
  streams_stalled: 'StreamsStalled',
} as const satisfies Record<AlertKind, string>;

export function alertName<K extends AlertKind>(kind: K): (typeof ALERT_NAMES)[K] {
  return ALERT_NAMES[kind];
}

export interface ChannelShare {
  readonly channel: string;
  /** Fraction of the window's reconstruction error, 0..1. */
  readonly share: number;
  /**
   * What the channel read against what the model expected, on anomaly notices; absent where no model judged the
   * window (sensor checks, stalls) and on notices saved by versions that did not record it.
   */
  readonly reading?: ChannelReading;
}

/**
 * One channel of a scored window in the channel's own units: the observed value and the model's expected value
 * (its reconstruction mapped back through the scaler and the window transform) at the sample of the window where
 * they differ most (see channelReading.ts), and the range of the channel in the model's training data.
 */
export interface ChannelReading {
  readonly observed: number;
  readonly expected: number;
  readonly trainingMin: number;
  readonly trainingMax: number;
}

export interface AlertNotice {
  /** Stable id of the alert (stream + kind): the same across its firing and resolved notices. */
  readonly fingerprint: string;
  readonly stream: string;
  readonly model: string;
  readonly kind: AlertKind;
  readonly status: 'firing' | 'resolved';
  readonly severity: AlertSeverity;
  /** When the alert started firing (ms). */
  readonly startsAt: number;
  /** When it resolved (ms); null while firing. */
  readonly endsAt: number | null;
  /** Score, threshold and tail probability of the window that caused this notice. */
  readonly score: number;
  readonly threshold: number;
  readonly pValue: number;
  readonly topChannels: readonly ChannelShare[];
  /** Monotonic over all notices of this daemon's state (persisted), so receivers can order and dedupe. */
  readonly sequence: number;
  /** Extra labels (e.g. line, asset from the topic template). */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Why a resolve was sent although the condition was not seen to clear (a config reload stopped monitoring the
   * stream); absent on ordinary notices.
   */
  readonly reason?: string;
  /** What was seen, in words, where the kind has more to say than its name (timestamps_rejected: the reason and offset). */
  readonly detail?: string;
  /**
   * The fingerprint of the summary that pages for this alert (a stall among many at once, stallSummary.ts): it is
   * recorded (InfluxDB, status history, log) but sent to no pager (webhooks, Alertmanager, console).
   */
  readonly summarisedBy?: string;
  /**
   * The maintenance window that holds this alert (maintenanceGate.ts): recorded, sent to no pager; an alert
   * still firing when its window ends pages then without the mark.
   */
  readonly maintenance?: string;
  /** On the page sent when a held alert outlasted its window: which window ended, and its reason, in words. */
  readonly maintenanceEnded?: string;
}

/**
 * Whether a notice goes to the pagers (webhooks, Alertmanager, console): not when it is summarised by another
 * alert that pages for it, nor while a maintenance window holds it. Such notices are still recorded (InfluxDB,
 * the status page's history, the log).
 */
export function reachesPagers(notice: AlertNotice): boolean {
  return notice.summarisedBy === undefined && notice.maintenance === undefined;
}
