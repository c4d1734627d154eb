// What every component receives: one context object (id, log, events, clock, abort signal) and its own frozen
// slice of config. The interfaces live in core so sources, sinks and the pipeline can depend on them without
// importing telemetry; telemetry implements them (one event function = one log line + its metrics).
import type { Clock } from './clock';
import type { AlertNotice } from './alert';

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Log {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Log;
}

/** Why a message or sample was not accepted; the label of anomalyd_messages_rejected_total{reason}. */
export type RejectReason =
  | 'oversize'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'invalid_csv'
  | 'invalid_number'
  | 'invalid_binary'
  | 'missing_channel'
  | 'bad_timestamp'
  | 'future_timestamp'
  | 'too_old'
  | 'unknown_stream'
  | 'stream_limit'
  | 'stream_not_allowed'
  | 'stream_rate'
  | 'out_of_order'
  | 'duplicate'
  | 'queue_full'
  | 'unknown_mode'
  // Sparkplug B (decoder sparkplug_b): not a Sparkplug payload or topic; data of an edge node or device that is
  // offline; an alias no birth defined; a metric of a type no channel can take; the will of an earlier connection.
  | 'invalid_sparkplug'
  | 'not_born'
  | 'unknown_alias'
  | 'unsupported_datatype'
  | 'stale_death'
  // A stream whose channels are learnt from Sparkplug births: a birth gave another set than the one its model learnt.
  | 'channels_changed';

/** What became of a wanted Sparkplug rebirth request (anomalyd_sparkplug_rebirth_requests_total{result}). */
export type RebirthResult = 'sent' | 'rate_limited' | 'disabled' | 'failed';

/** idle: it had completed windows; never_windowed: it never completed one (a made-up topic, a dead sender). */
export type EvictReason = 'idle' | 'never_windowed';

export type WebhookResult = 'success' | 'retry' | 'failed' | 'rejected';
export type SinkDropReason = 'rejected' | 'overflow' | 'spool_full' | 'spool_corrupt';

/**
 * Every notable occurrence, one function each. Implementations log (at the level the occurrence deserves,
 * nothing per message above debug) and update the matching Prometheus metrics.
 */
export interface Events {
  /** `at`: the arrival time when the caller has read the clock already (else the events read it). */
  messageReceived(topic: string, bytes: number, at?: number): void;
  messageRejected(reason: RejectReason, topic: string, detail: string): void;
  /** A message of a stream that another replica owns (`shard`): acknowledged, counted, not scored. */
  messageOtherShard(stream: string): void;
  /** At start: this replica scores the streams of shard `index` of `count`. */
  shardAssigned(index: number, count: number): void;
  samplesAccepted(stream: string, count: number): void;
  /**
   * A stream was forgotten after producing no window for its idle time (limits.stream_idle_evict_ms, or
   * limits.new_stream_idle_evict_ms for a stream that never completed one): its window buffer, alert state and
   * saved state are gone; a later message of it binds it again as a new stream.
   */
  streamEvicted(stream: string, reason: EvictReason, idleMs: number): void;
  windowScored(stream: string, model: string, score: number, threshold: number, anomalous: boolean): void;
  windowInsufficient(stream: string, completeness: number): void;
  inferenceBatch(model: string, windows: number, seconds: number): void;
  alertNotice(notice: AlertNotice): void;
  queueDropped(queue: string, count: number): void;
  sinkWritten(sink: string, points: number): void;
  sinkDropped(sink: string, reason: SinkDropReason, points: number, detail: string): void;
  sinkError(sink: string, retryable: boolean, detail: string): void;
  /**
   * A sink that keeps only the newest value per key (mqtt_out's retained score of a stream) replaced `points`
   * not sent yet by newer ones: not lost state, so counted apart from drops (which page through the alert rules).
   */
  scoresSuperseded(sink: string, points: number): void;
  webhookDelivery(receiver: string, result: WebhookResult, status: number | null, detail: string): void;
  mqttConnection(connected: boolean, detail: string): void;
  /**
   * The broker's own `$SYS` count of dropped messages rose by `increase` to `brokerCount`. `kind` 'new' is
   * counted; 'before_watch' (the first count read: drops from before anomalyd watched) and 'unknown_start' (a
   * change whose starting value was unknown) are logged, not counted (see sources/brokerDrops.ts).
   */
  brokerMessagesDropped(increase: number, brokerCount: number, kind: 'new' | 'before_watch' | 'unknown_start'): void;
  modelLoaded(model: string, version: string, backend: string, dir: string): void;
  modelFailed(model: string, dir: string, detail: string): void;
  /** Windows of a loaded model that could not be scored (dropped): what failed and why. */
  scoringFailed(model: string, windows: number, kind: ScoringFailure, detail: string): void;
  /**
   * A stream's operating mode changed (or became known: previous null) at `time` (sample time for a channel
   * condition, arrival for a mode message).
   */
  modeChanged(stream: string, mode: string, previous: string | null, time: number): void;
  /** A Sparkplug B message of `type` (NBIRTH, NDATA, ..., STATE) arrived. */
  sparkplugMessage(type: string): void;
  /** An edge node's message skipped or stepped back in seq (messages lost or reordered). */
  sparkplugSequenceGap(node: string, expected: number, got: number): void;
  /** The edge node `node` (group/edge) should send its births again (`why`); what became of the request. */
  sparkplugRebirth(node: string, why: string, result: RebirthResult, detail: string): void;
  /**
   * A stream went offline (its Sparkplug edge node or device died: nothing is scored or paged, no stall alarm) or
   * came back online (born again).
   */
  streamLiveness(stream: string, online: boolean, reason: string): void;
}

/** shape = the windows do not fit the model's input; nan = non-finite input or score; engine = the inference call failed. */
export type ScoringFailure = 'shape' | 'nan' | 'engine';

export interface ComponentContext {
  /** Component id for logs and metrics, e.g. 'sink.influx', 'source.mqtt'. */
  readonly id: string;
  readonly log: Log;
  readonly events: Events;
  readonly clock: Clock;
  /** Aborted when the daemon shuts down; long waits (retries, backoff) must end on it. */
  readonly signal: AbortSignal;
}
