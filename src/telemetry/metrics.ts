// The Prometheus metrics of the daemon on a non-global registry (several daemons or tests can live in one
// process). Names and labels are a contract (docs/design.md, "Prometheus metrics"): dashboards, rules and
// operators' scripts use them. Gauges whose value lives in a component are computed at scrape time from providers
// (see gaugeProviders.ts), never refreshed by timers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RejectReason, WebhookResult } from '../core/context';
import type { SinkStats } from '../core/sink';
import { GaugeProviders, type ProviderName, type ProviderFn } from './gaugeProviders';
import { createSparkplugMetrics, type SparkplugMetrics } from './sparkplugMetrics';

export type { ProviderName, ProviderFn, GaugeSample, ProviderLabels } from './gaugeProviders';

/** The label value that stands for every stream beyond the label cap. */
export const OTHER_STREAM = '_other';

// Record<..., true> makes the compiler insist every reason/result is listed: their series exist (at 0) from
// the first scrape, so rate() and absent() behave before anything has gone wrong.
const REJECT_REASONS: Record<RejectReason, true> = {
  oversize: true, invalid_utf8: true, invalid_json: true, invalid_csv: true, invalid_number: true,
  invalid_binary: true, missing_channel: true, bad_timestamp: true, future_timestamp: true, too_old: true, unknown_stream: true, stream_limit: true,
  stream_not_allowed: true, stream_rate: true,
  out_of_order: true, duplicate: true, queue_full: true, unknown_mode: true,
  invalid_sparkplug: true, not_born: true, unknown_alias: true, unsupported_datatype: true, stale_death: true, channels_changed: true,
};
const WEBHOOK_RESULTS: Record<WebhookResult, true> = { success: true, retry: true, failed: true, rejected: true };

/** 0.1 ms .. 1 s: a micro-batch on tfjs-node takes well under a millisecond, the cpu backend up to a second. */
export const INFERENCE_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
const BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export interface MetricsOptions {
  /** Streams that get their own `stream` label; later streams share stream="_other". */
  readonly maxStreamLabels: number;
  /** anomalyd version for anomalyd_build_info (default 'unknown'). */
  readonly version?: string;
  /** Node.js process metrics (anomalyd_process_*, anomalyd_nodejs_*); default true. */
  readonly defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type of `text()`. */
  readonly contentType: string;
  readonly messagesReceived: Counter;
  readonly messagesRejected: Counter<'reason'>;
  readonly samples: Counter;
  readonly windowsScored: Counter;
  readonly windowsInsufficient: Counter;
  readonly anomalousWindows: Counter;
  readonly alerts: Counter<'state'>;
  readonly inferenceSeconds: Histogram;
  readonly inferenceBatchSize: Histogram;
  readonly streamScore: Gauge<'stream'>;
  readonly streamThreshold: Gauge<'stream'>;
  readonly streamLabelsOverflow: Counter;
  readonly queueDropped: Counter<'queue'>;
  readonly sinkWritten: Counter<'sink'>;
  readonly sinkDropped: Counter<'sink' | 'reason'>;
  readonly sinkErrors: Counter<'sink' | 'kind'>;
  readonly sinkSuperseded: Counter<'sink'>;
  readonly webhookDeliveries: Counter<'result'>;
  readonly modelInfo: Gauge<'model' | 'version' | 'backend'>;
  readonly modelLoadFailures: Counter<'model'>;
  readonly scoringFailures: Counter<'model' | 'reason'>;
  readonly providerErrors: Counter<'gauge'>;
  readonly configReloads: Counter<'result'>;
  readonly operatorChanges: Counter<'action'>;
  readonly shadowWindows: Counter<'model'>;
  readonly shadowDropped: Counter<'model'>;
  readonly shadowAlerts: Counter<'model'>;
  readonly messagesOtherShard: Counter;
  readonly streamsEvicted: Counter<'reason'>;
  readonly alertsSuppressed: Counter<'reason'>;
  readonly shardInfo: Gauge<'index' | 'count'>;
  readonly brokerDropped: Counter;
  readonly modeChanges: Counter;
  readonly sparkplug: SparkplugMetrics;
  /**
   * A window of the stream (by its label, see streamLabel) was scored: anomalyd_stream_score and
   * anomalyd_stream_threshold take these values. Kept in a map and set on the gauges when they are read (a
   * scrape): a labelled set() per window hashed its label set every time, which showed in the ingest profile.
   */
  streamScored(label: string, score: number, threshold: number): void;
  /**
   * The `stream` label value for a stream: itself for the first maxStreamLabels distinct streams, else
   * OTHER_STREAM (and anomalyd_stream_labels_overflow_total counts the update).
   */
  streamLabel(stream: string): string;
  /**
   * Registers the source of a component-owned gauge, called on every scrape. Labelled gauges merge the
   * samples of all their providers (equal label sets are summed, e.g. two queues or sinks); single-value
   * gauges use the most recently registered provider. Returns a function that unregisters it.
   */
  provide<K extends ProviderName>(name: K, fn: ProviderFn<K>): () => void;
  /** anomalyd_sink_buffered_points and anomalyd_sink_spool_bytes of one sink from its stats(). */
  provideSink(sink: string, stats: () => SinkStats): () => void;
  /** The exposition text (what GET /metrics returns). */
  text(): Promise<string>;
}

/**
 * A counter without labels that is incremented for every message: inc() adds to a plain number, which is folded
 * into the prom-client counter whenever it is read (a scrape, get()). prom-client's own inc() builds and hashes
 * a label set on every call, which showed in the ingest profile. Calls with labels or an invalid value go to
 * prom-client unchanged (its checks and errors).
 */
function hotCounter(name: string, help: string, registers: Registry[]): Counter {
  let pending = 0;
  const counter: Counter = new Counter({
    name,
    help,
    registers,
    collect: () => {
      if (pending === 0) return;
      const n = pending;
      pending = 0;
      promInc(n);
    },
  });
  const promInc = counter.inc.bind(counter) as (labelsOrValue?: unknown, value?: unknown) => void;
  const inc = (labelsOrValue?: unknown, value?: unknown): void => {
    if (labelsOrValue === undefined) pending += 1;
    else if (typeof labelsOrValue === 'number' && value === undefined && labelsOrValue >= 0 && Number.isFinite(labelsOrValue)) pending += labelsOrValue;
    else promInc(labelsOrValue, value);
  };
  counter.inc = inc;
  const promReset = counter.reset.bind(counter);
  counter.reset = () => {
    pending = 0;
    promReset();
  };
  return counter;
}

/**
 * A gauge by stream whose latest values wait in `latest` until it is read (collect), then are set on the gauge
 * in one go. A direct set() on the gauge still works (tests); the waiting values win at the next read.
 */
function streamGauge(name: string, help: string, registers: Registry[], latest: Map<string, number>): Gauge<'stream'> {
  const gauge: Gauge<'stream'> = new Gauge<'stream'>({
    name,
    help,
    labelNames: ['stream'],
    registers,
    collect: () => {
      if (latest.size === 0) return;
      for (const [stream, value] of latest) promSet({ stream }, value);
      latest.clear();
    },
  });
  const promSet = gauge.set.bind(gauge) as (labels: { stream: string }, value: number) => void;
  const promReset = gauge.reset.bind(gauge);
  gauge.reset = () => {
    latest.clear();
    promReset();
  };
  return gauge;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const providers = new GaugeProviders();
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, registers });

  // Registered after the provider-backed gauges below: the registry collects in registration order, so errors
  // of this scrape's providers show in this scrape.
  const providerErrors = new Counter<'gauge'>({
    name: 'anomalyd_metrics_provider_errors_total',
    help: 'Scrapes where a component gauge provider threw; the gauge then lacks that component.',
    labelNames: ['gauge'], registers: [],
  });
  // A provider-backed gauge: reset and refilled on each scrape, so a component that went away leaves no
  // stale series behind.
  const provided = <K extends ProviderName>(key: K, name: string, help: string, labelNames: readonly string[]): void => {
    const g: Gauge<string> = new Gauge<string>({
      name, help, labelNames, registers,
      collect: () => providers.fill(key, g, () => providerErrors.inc({ gauge: name })),
    });
  };
  provided('queue_depth', 'anomalyd_queue_depth', 'Items waiting in an internal queue.', ['queue']);
  provided('sink_buffered_points', 'anomalyd_sink_buffered_points', 'Points (or alert notices) a sink holds in memory awaiting delivery.', ['sink']);
  provided('sink_spool_bytes', 'anomalyd_sink_spool_bytes', 'Bytes a sink holds on disk (spool or outbox).', ['sink']);
  provided('sink_connected', 'anomalyd_sink_connected', '1 while a sink that keeps a connection (mqtt_out) is connected, else 0; sinks without one have no series.', ['sink']);
  provided('alerts_firing', 'anomalyd_alerts_firing', 'Alerts currently firing.', []);
  provided('mqtt_connected', 'anomalyd_mqtt_connected', '1 while connected to the MQTT broker, else 0.', []);
  provided('streams_active', 'anomalyd_streams_active', 'Streams currently tracked (with a window buffer).', []);
  provided('ingestion_paused', 'anomalyd_ingestion_paused',
    '1 while input is held back (MQTT messages unacknowledged at the broker) because a sink or the state directory cannot keep more data.', []);
  provided('maintenance_windows_open', 'anomalyd_maintenance_windows_open', 'Maintenance windows open now (from the config file and the operator API).', []);
  provided('alert_precision', 'anomalyd_alert_precision',
    "Share of a stream's alert episodes labelled true_positive among those labelled (true_positive or false_positive) that started in the last 30 days; streams without labels have no series.", ['stream']);
  provided('stream_mode', 'anomalyd_stream_mode', "The operating mode each stream is in (value 1, one series per stream: its current mode); streams without `modes` have none.", ['stream', 'mode']);
  provided('streams_offline', 'anomalyd_streams_offline', 'Streams offline now: their Sparkplug B edge node or device died and was not born again (nothing is scored or paged for them, no stall alarm).', []);
  provided('alerts_held', 'anomalyd_alerts_held', 'Alerts firing that a maintenance window holds from the pagers; each pages when its window ends if it still fires.', []);
  provided('model_versions', 'anomalyd_model_version_info',
    'Model versions in use (value 1): each model\'s live version (role live) and the version scored beside it in shadow (role shadow).', ['model', 'version', 'role']);
  registry.registerMetric(providerErrors);

  const latestScore = new Map<string, number>();
  const latestThreshold = new Map<string, number>();
  const m = {
    registry,
    contentType: registry.contentType as string,
    messagesReceived: hotCounter('anomalyd_messages_received_total', 'MQTT (or replayed) messages received.', registers),
    messagesRejected: counter('anomalyd_messages_rejected_total', 'Messages or samples not accepted, by reason.', ['reason']),
    samples: hotCounter('anomalyd_samples_total', 'Samples accepted into stream windows.', registers),
    windowsScored: hotCounter('anomalyd_windows_scored_total', 'Windows scored by a model.', registers),
    windowsInsufficient: hotCounter('anomalyd_windows_insufficient_total', 'Windows too incomplete to score (insufficient data).', registers),
    anomalousWindows: hotCounter('anomalyd_anomalous_windows_total', 'Scored windows over their threshold.', registers),
    alerts: counter('anomalyd_alerts_total', 'Alert notices, by state (firing, resolved).', ['state']),
    inferenceSeconds: new Histogram({
      name: 'anomalyd_inference_seconds', help: 'Duration of one batched inference call.',
      buckets: [...INFERENCE_BUCKETS], registers,
    }),
    inferenceBatchSize: new Histogram({
      name: 'anomalyd_inference_batch_size', help: 'Windows scored in one inference call.',
      buckets: [...BATCH_BUCKETS], registers,
    }),
    streamScore: streamGauge('anomalyd_stream_score', 'Score (reconstruction error) of the stream\'s latest window.', registers, latestScore),
    streamThreshold: streamGauge('anomalyd_stream_threshold', 'Threshold the stream\'s latest window was compared with.', registers, latestThreshold),
    streamLabelsOverflow: counter('anomalyd_stream_labels_overflow_total',
      'Per-stream metric updates folded into stream="_other" because the stream label cap was reached.'),
    queueDropped: counter('anomalyd_queue_dropped_total', 'Items dropped because an internal queue was full.', ['queue']),
    sinkWritten: counter('anomalyd_sink_points_written_total', 'Points a sink delivered.', ['sink']),
    sinkDropped: counter('anomalyd_sink_points_dropped_total', 'Points a sink gave up on, by reason.', ['sink', 'reason']),
    sinkErrors: counter('anomalyd_sink_errors_total', 'Sink write errors, by kind (retryable, fatal).', ['sink', 'kind']),
    sinkSuperseded: counter('anomalyd_sink_points_superseded_total',
      'Points a sink that publishes only the latest value per stream (mqtt_out scores) replaced by a newer one before sending it (broker away or slower than the scores).', ['sink']),
    webhookDeliveries: counter('anomalyd_webhook_deliveries_total', 'Webhook delivery attempts, by result.', ['result']),
    modelInfo: gauge('anomalyd_model_info', 'Loaded models (value 1), with version and inference backend.', ['model', 'version', 'backend']),
    modelLoadFailures: counter('anomalyd_model_load_failures_total', 'Models that failed to load.', ['model']),
    scoringFailures: counter(
      'anomalyd_scoring_failures_total',
      'Windows of a loaded model that could not be scored and were dropped, by reason: shape (not the model input size), nan (non-finite input or score), engine (the inference call failed).',
      ['model', 'reason'],
    ),
    operatorChanges: counter('anomalyd_operator_changes_total', 'Changes made through the operator API (audited in the log), by action: maintenance_add, maintenance_end, feedback, model_promote, model_rollback.', ['action']),
    shadowWindows: counter('anomalyd_shadow_windows_total', 'Windows scored by a model\'s shadow version (beside its live version), by model.', ['model']),
    shadowDropped: counter('anomalyd_shadow_windows_dropped_total', 'Windows a model\'s shadow version had no room for in its queue and did not score (the live model scored them), by model.', ['model']),
    shadowAlerts: counter('anomalyd_shadow_alerts_total', 'Anomaly alerts a model\'s shadow version would have fired (never sent to any sink), by model.', ['model']),
    configReloads: counter('anomalyd_config_reloads_total', 'Configuration reloads (SIGHUP), by result: ok (applied) or error (refused, the previous config stays).', ['result']),
    streamsEvicted: counter('anomalyd_streams_evicted_total',
      'Streams forgotten after producing no window for their idle time, by reason: idle (it had completed windows), never_windowed (it never completed one).', ['reason']),
    alertsSuppressed: counter('anomalyd_alerts_suppressed_total',
      'Alerts that fired but paged nobody, by reason: summarised (a stream among many that stalled at once; one StreamsStalled alert paged for them), maintenance (a maintenance window covered the stream; one still firing when the window ends pages then).', ['reason']),
    messagesOtherShard: counter('anomalyd_messages_other_shard_total',
      'Messages of streams another replica owns (shard): acknowledged and dropped, not scored.'),
    shardInfo: gauge('anomalyd_shard_info', 'This replica\'s shard (value 1): index and count of shard.', ['index', 'count']),
    brokerDropped: counter('anomalyd_broker_dropped_messages_total',
      'Messages the MQTT broker reported dropping (its $SYS count, e.g. Mosquitto past max_queued_messages) while anomalyd watched; all clients, not only anomalyd.'),
    modeChanges: counter('anomalyd_mode_changes_total', 'Operating mode changes of the streams (each change, and each stream\'s first known mode).'),
    sparkplug: createSparkplugMetrics(registers),
    providerErrors,
  };
  for (const reason of Object.keys(REJECT_REASONS)) m.messagesRejected.inc({ reason }, 0);
  for (const result of Object.keys(WEBHOOK_RESULTS)) m.webhookDeliveries.inc({ result }, 0);
  for (const state of ['firing', 'resolved']) m.alerts.inc({ state }, 0);
  for (const reason of ['idle', 'never_windowed']) m.streamsEvicted.inc({ reason }, 0);
  for (const reason of ['summarised', 'maintenance']) m.alertsSuppressed.inc({ reason }, 0);
  for (const result of ['ok', 'error']) m.configReloads.inc({ result }, 0);
  for (const action of ['maintenance_add', 'maintenance_end', 'feedback', 'model_promote', 'model_rollback']) m.operatorChanges.inc({ action }, 0);

  gauge('anomalyd_build_info', 'Build information (value 1).', ['version', 'node'])
    .set({ version: opts.version ?? 'unknown', node: process.versions.node }, 1);
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'anomalyd_' });
    // prom-client names these gauges *_total, which promtool rejects (only counters may end in _total); the
    // same counts remain available, by type, as anomalyd_nodejs_active_{handles,requests,resources}.
    for (const kind of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`anomalyd_nodejs_active_${kind}_total`);
  }

  // Bounded: at most maxStreamLabels names are remembered.
  const labelled = new Set<string>();
  const streamLabel = (stream: string): string => {
    if (labelled.has(stream)) return stream;
    if (labelled.size < opts.maxStreamLabels) {
      labelled.add(stream);
      return stream;
    }
    m.streamLabelsOverflow.inc();
    return OTHER_STREAM;
  };

  return {
    ...m,
    streamLabel,
    streamScored: (label, score, threshold) => {
      latestScore.set(label, score);
      latestThreshold.set(label, threshold);
    },
    provide: (name, fn) => providers.add(name, fn),
    provideSink: (sink, stats) => {
      const offBuffered = providers.add('sink_buffered_points', () => [{ labels: { sink }, value: stats().buffered }]);
      const offSpool = providers.add('sink_spool_bytes', () => [{ labels: { sink }, value: stats().spooledBytes }]);
      const offConnected = providers.add('sink_connected', () => {
        const connected = stats().connected;
        return connected === undefined ? [] : [{ labels: { sink }, value: connected ? 1 : 0 }];
      });
      return () => {
        offBuffered();
        offSpool();
        offConnected();
      };
    },
    text: () => registry.metrics(),
  };
}
