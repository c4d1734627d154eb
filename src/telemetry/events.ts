// The internal events (Vector's pattern): each notable occurrence is one function that writes one log line and
// updates its metrics, so what the log says and what Prometheus counts cannot drift apart. Levels: anything
// per message or per window is DEBUG; ERROR only when data is lost or an operator must act; floods (rejected
// messages, drops, retries) become one WARN/ERROR summary per key per interval with the count.
import type { AlertNotice } from '../core/alert';
import { formatReadings } from '../core/channelReading';
import { systemClock, type Clock } from '../core/clock';
import type { EvictReason, Events, Log, LogFields, RebirthResult, RejectReason, ScoringFailure, SinkDropReason, WebhookResult } from '../core/context';
import type { CalendarChanges, OpenWindow } from '../core/maintenance';
import { LogLimiter } from './logLimiter';
import type { AuditEvent } from './operatorApi';
import { OTHER_STREAM, type Metrics } from './metrics';
import { StatusModel, type StatusOptions } from './status';

export interface EventsOptions {
  readonly clock?: Clock;
  /** The status page's model; created (with `statusLimits`) when not given. */
  readonly status?: StatusModel;
  readonly statusLimits?: StatusOptions;
  /** Shortest time between two summary lines of the same kind and key (default 60 000 ms). */
  readonly summaryIntervalMs?: number;
}

export interface TelemetryEvents extends Events {
  /** What the status page renders. */
  readonly status: StatusModel;
  /**
   * A config reload (SIGHUP) was applied (`applied`: the changed settings now in force, `restartNeeded`: the
   * changed settings that keep their running values until a restart, `details`: what was swapped) or refused
   * (`error`: the previous config stays in force).
   */
  configReloaded(outcome: ConfigReloadOutcome): void;
  /** Maintenance windows opened or closed (core/maintenance.ts). */
  maintenanceChanged(changes: CalendarChanges): void;
  /** A change through the operator API: who made it and what (the audit trail). */
  operatorChange(event: AuditEvent): void;
}

export type ConfigReloadOutcome =
  | { readonly ok: true; readonly file: string; readonly applied: readonly string[]; readonly restartNeeded: readonly string[]; readonly details: LogFields }
  | { readonly ok: false; readonly file: string; readonly error: string };

export function createEvents(log: Log, metrics: Metrics, opts: EventsOptions = {}): TelemetryEvents {
  const clock = opts.clock ?? systemClock;
  const status = opts.status ?? new StatusModel(clock, opts.statusLimits);
  const limiter = new LogLimiter(clock, opts.summaryIntervalMs ?? 60_000);
  const modelLabels = new Map<string, { model: string; version: string; backend: string }>();
  let labelCapWarned = false;
  let mqttWasConnected = false;

  // Fallbacks derived from the events themselves; a component that knows better (the alert engine after
  // restoring its state) registers its own provider later and replaces these.
  metrics.provide('alerts_firing', () => status.firingCount());
  metrics.provide('mqtt_connected', () => (status.mqttState().connected ? 1 : 0));

  const streamLabel = (stream: string): string => {
    const label = metrics.streamLabel(stream);
    if (label === OTHER_STREAM && !labelCapWarned) {
      labelCapWarned = true;
      log.warn('Stream label cap reached; further streams are reported as stream="_other".', { stream, label: OTHER_STREAM });
    }
    return label;
  };

  return {
    status,

    messageReceived(topic: string, bytes: number, at?: number): void {
      metrics.messagesReceived.inc();
      status.recordMessage(at);
      log.debug('Received message.', { topic, bytes });
    },

    messageRejected(reason: RejectReason, topic: string, detail: string): void {
      metrics.messagesRejected.inc({ reason });
      status.recordRejection(reason, topic, detail);
      const count = limiter.hit(`rejected:${reason}`);
      if (count > 0) log.warn('Rejected messages.', { reason, count, topic, detail, interval_ms: opts.summaryIntervalMs ?? 60_000 });
      else log.debug('Rejected message.', { reason, topic, detail });
    },

    messageOtherShard(stream: string): void {
      metrics.messagesOtherShard.inc();
      status.recordAccepted(1);
      log.debug('Skipped a message of another shard.', { stream });
    },

    shardAssigned(index: number, count: number): void {
      metrics.shardInfo.set({ index: String(index), count: String(count) }, 1);
      if (count > 1) log.info('Scoring only the streams of this shard; the other shards belong to other replicas.', { shard_index: index, shard_count: count });
    },

    samplesAccepted(stream: string, count: number): void {
      metrics.samples.inc(count);
      status.recordAccepted(count);
      log.debug('Accepted samples.', { stream, count });
    },

    streamEvicted(stream: string, reason: EvictReason, idleMs: number): void {
      metrics.streamsEvicted.inc({ reason });
      const count = limiter.hit(`evicted:${reason}`);
      if (count > 0) log.info('Evicted idle streams.', { reason, count, stream, idle_ms: idleMs, interval_ms: opts.summaryIntervalMs ?? 60_000 });
      else log.debug('Evicted an idle stream.', { stream, reason, idle_ms: idleMs });
    },

    windowScored(stream: string, model: string, score: number, threshold: number, anomalous: boolean): void {
      metrics.windowsScored.inc();
      if (anomalous) metrics.anomalousWindows.inc();
      metrics.streamScored(streamLabel(stream), score, threshold);
      status.recordScore(stream, model, score, threshold, anomalous);
      log.debug('Scored window.', { stream, model, score, threshold, anomalous });
    },

    windowInsufficient(stream: string, completeness: number): void {
      metrics.windowsInsufficient.inc();
      status.recordInsufficient(stream, completeness);
      log.debug('Window has insufficient data.', { stream, completeness });
    },

    inferenceBatch(model: string, windows: number, seconds: number): void {
      metrics.inferenceSeconds.observe(seconds);
      metrics.inferenceBatchSize.observe(windows);
      log.debug('Scored batch.', { model, windows, seconds });
    },

    alertNotice(n: AlertNotice): void {
      metrics.alerts.inc({ state: n.status });
      if (n.status === 'firing') {
        if (n.summarisedBy !== undefined) metrics.alertsSuppressed.inc({ reason: 'summarised' });
        else if (n.maintenance !== undefined) metrics.alertsSuppressed.inc({ reason: 'maintenance' });
      }
      status.recordAlert(n);
      const fields = {
        stream: n.stream, model: n.model, kind: n.kind, severity: n.severity, score: n.score, threshold: n.threshold,
        p_value: n.pValue, top_channels: n.topChannels.map((c) => `${c.channel}:${c.share.toFixed(2)}`).join(','),
        fingerprint: n.fingerprint, sequence: n.sequence,
        ...(n.summarisedBy !== undefined ? { summarised_by: n.summarisedBy } : {}),
        ...(n.maintenance !== undefined ? { maintenance: n.maintenance } : {}),
        ...(n.maintenanceEnded !== undefined ? { maintenance_ended: n.maintenanceEnded } : {}),
        // What the top channels read against what the model expected, for whoever reads the journal, not a pager.
        ...(n.topChannels.some((c) => c.reading) ? { readings: formatReadings(n.topChannels) } : {}),
      };
      // INFO, not WARN: the daemon is doing its job; the page reaches people through the alert sinks.
      log.info(n.status === 'firing' ? 'Alert firing.' : 'Alert resolved.', fields);
    },

    queueDropped(queue: string, count: number): void {
      metrics.queueDropped.inc({ queue }, count);
      const total = limiter.hit(`queue:${queue}`, count);
      if (total > 0) log.error('Dropped items because queue is full.', { queue, count: total });
    },

    sinkWritten(sink: string, points: number): void {
      metrics.sinkWritten.inc({ sink }, points);
      log.debug('Sink wrote points.', { sink, points });
    },

    sinkDropped(sink: string, reason: SinkDropReason, points: number, detail: string): void {
      metrics.sinkDropped.inc({ sink, reason }, points);
      const total = limiter.hit(`sinkdrop:${sink}:${reason}`, points);
      if (total > 0) log.error('Sink dropped points.', { sink, reason, points: total, detail });
    },

    scoresSuperseded(sink: string, points: number): void {
      metrics.sinkSuperseded.inc({ sink }, points);
    },

    sinkError(sink: string, retryable: boolean, detail: string): void {
      const kind = retryable ? 'retryable' : 'fatal';
      metrics.sinkErrors.inc({ sink, kind });
      const count = limiter.hit(`sinkerror:${sink}:${kind}`);
      if (count === 0) return;
      // A retryable error loses nothing yet (points stay buffered); a fatal one needs someone to look.
      if (retryable) log.warn('Sink write failed, will retry.', { sink, count, detail });
      else log.error('Sink write failed.', { sink, count, detail });
    },

    webhookDelivery(receiver: string, result: WebhookResult, httpStatus: number | null, detail: string): void {
      metrics.webhookDeliveries.inc({ result });
      const fields = { receiver, result, status: httpStatus, detail };
      if (result === 'success') log.info('Delivered alert webhook.', fields);
      else if (result === 'retry') {
        const count = limiter.hit(`webhook:${receiver}`);
        if (count > 0) log.warn('Alert webhook delivery failed, will retry.', { ...fields, count });
      } else if (result === 'failed') log.error('Gave up delivering alert webhook.', fields);
      else log.error('Alert webhook receiver rejected the notice.', fields);
    },

    mqttConnection(connected: boolean, detail: string): void {
      status.setMqtt(connected, detail);
      if (connected) {
        mqttWasConnected = true;
        log.info('Connected to MQTT broker.', { detail });
      } else if (mqttWasConnected) {
        // The transition is always logged; failed reconnect attempts after it are summarised.
        mqttWasConnected = false;
        limiter.hit('mqtt');
        log.warn('Lost connection to MQTT broker.', { detail });
      } else {
        const count = limiter.hit('mqtt');
        if (count > 0) log.warn('Cannot connect to MQTT broker.', { detail, attempts: count });
      }
    },

    brokerMessagesDropped(increase: number, brokerCount: number, kind: 'new' | 'before_watch' | 'unknown_start'): void {
      const fields = {
        broker_count: brokerCount,
        likely_cause: 'a client session had the broker\'s max_queued_messages (or max_queued_bytes) waiting: a slow or disconnected consumer, e.g. anomalyd while it was down or falling behind',
        fix: 'raise max_queued_messages / max_queued_bytes in the broker config (mosquitto.conf), or find the consumer that does not keep up; watch anomalyd_broker_dropped_messages_total',
      };
      if (kind === 'before_watch') {
        log.warn('The MQTT broker has dropped messages since it started (before anomalyd read its count).', { dropped: increase, ...fields });
        return;
      }
      if (kind === 'unknown_start') {
        // Mosquitto's retained count expires a minute after its last change: how many of these are new is unknown.
        log.warn('The MQTT broker dropped messages (how many of its count are new is unknown: it had not changed for a minute when anomalyd started reading it).', fields);
        return;
      }
      metrics.brokerDropped.inc(increase);
      const count = limiter.hit('broker_dropped', increase);
      if (count > 0) log.warn('The MQTT broker dropped messages.', { dropped: count, ...fields, interval_ms: opts.summaryIntervalMs ?? 60_000 });
    },

    modelLoaded(model: string, version: string, backend: string, dir: string): void {
      // A reload with a new version or backend replaces the model's series instead of adding a second one.
      const prev = modelLabels.get(model);
      if (prev) metrics.modelInfo.remove(prev);
      const labels = { model, version, backend };
      modelLabels.set(model, labels);
      metrics.modelInfo.set(labels, 1);
      status.recordModel(model, version, backend, dir);
      log.info('Loaded model.', { model, version, backend, dir });
    },

    maintenanceChanged(changes: CalendarChanges): void {
      const fields = (o: OpenWindow): LogFields => ({
        window: o.window.id,
        reason: o.window.reason,
        origin: o.window.origin,
        streams: (o.window.selector.streams ?? ['**']).join(','),
        ...(o.window.selector.labels ? { labels: Object.entries(o.window.selector.labels).map(([k, v]) => `${k}=${v}`).join(',') } : {}),
        start: new Date(o.start).toISOString(),
        end: new Date(o.end).toISOString(),
      });
      for (const o of changes.closed) log.info('Maintenance window closed.', fields(o));
      for (const o of changes.opened) log.info('Maintenance window opened: alerts of the streams it covers page nobody until it closes.', fields(o));
    },

    modeChanged(stream: string, mode: string, previous: string | null, time: number): void {
      metrics.modeChanges.inc();
      const what = mode === 'off' ? 'The stream\'s machine is off: nothing is scored or paged until it runs again.' : 'Operating mode changed; the stream starts fresh windows.';
      log.info(what, { stream, mode, previous: previous ?? undefined, at: new Date(time).toISOString() });
    },

    sparkplugMessage(type: string): void {
      metrics.sparkplug.messages.inc({ type });
      log.debug('Received Sparkplug B message.', { type });
    },

    sparkplugSequenceGap(node: string, expected: number, got: number): void {
      metrics.sparkplug.sequenceGaps.inc();
      const count = limiter.hit('sparkplug_seq');
      if (count > 0) log.warn('Sparkplug B messages were lost or reordered (seq skipped).', { node, expected, got, count });
    },

    sparkplugRebirth(node: string, why: string, result: RebirthResult, detail: string): void {
      metrics.sparkplug.rebirths.inc({ result });
      const fields = { node, why, result, detail };
      if (result === 'sent') log.info('Asked a Sparkplug B edge node for its births (NCMD Node Control/Rebirth).', fields);
      else if (result === 'rate_limited') log.debug('Not asking the Sparkplug B edge node for its births again yet.', fields);
      else {
        const count = limiter.hit(`sparkplug_rebirth:${result}`);
        const what = result === 'disabled' ? 'A Sparkplug B edge node should send its births again; rebirth requests are off (sparkplug.rebirth_requests).' : 'Could not ask a Sparkplug B edge node for its births.';
        if (count > 0) log.warn(what, { ...fields, count });
      }
    },

    streamLiveness(stream: string, online: boolean, reason: string): void {
      metrics.sparkplug.liveness.inc({ state: online ? 'online' : 'offline' });
      log.info(online ? 'Stream is online again: its edge node or device was born.' : 'Stream is offline: nothing is scored or paged, and no stall alarm, until it is born again.', { stream, reason });
    },

    operatorChange(event: AuditEvent): void {
      metrics.operatorChanges.inc({ action: event.action });
      log.info('Operator change.', { who: event.who, action: event.action, target: event.target, detail: event.detail });
    },

    configReloaded(outcome: ConfigReloadOutcome): void {
      metrics.configReloads.inc({ result: outcome.ok ? 'ok' : 'error' });
      if (!outcome.ok) {
        log.error('Reload refused: the configuration is invalid; still running with the previous one.', { file: outcome.file, error: outcome.error });
        return;
      }
      log.info('Reloaded the configuration.', { file: outcome.file, applied: outcome.applied.join(',') || 'nothing changed', ...outcome.details });
      if (outcome.restartNeeded.length > 0) {
        log.warn('Changed settings need a restart; they keep their running values until then.', { needs_restart: outcome.restartNeeded.join(',') });
      }
    },

    modelFailed(model: string, dir: string, detail: string): void {
      metrics.modelLoadFailures.inc({ model });
      status.recordModelFailure(model, dir, detail);
      log.error('Cannot load model.', { model, dir, detail });
    },

    scoringFailed(model: string, windows: number, kind: ScoringFailure, detail: string): void {
      metrics.scoringFailures.inc({ model, reason: kind }, windows);
      status.recordScoringFailure(model, `${kind}: ${detail}`);
      // Windows are lost: ERROR, but one line per model and kind per interval with the count (every batch fails alike).
      const count = limiter.hit(`scoring:${model}:${kind}`, windows);
      if (count > 0) log.error('Windows could not be scored and were dropped.', { model, failure: kind, windows: count, detail });
      else log.debug('Windows could not be scored and were dropped.', { model, failure: kind, windows, detail });
    },
  };
}
