import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { createEvents, type TelemetryEvents } from '../../../src/telemetry/events';
import { createMetrics, type Metrics } from '../../../src/telemetry/metrics';
import { testContext, type TestContext } from '../../helpers/context';
import { parseExposition, sampleValue } from './expo';
import { notice } from '../../helpers/notices';

interface Rig {
  readonly clock: ManualClock;
  readonly metrics: Metrics;
  readonly events: TelemetryEvents;
  readonly tc: TestContext;
  value(name: string, labels?: Record<string, string>): Promise<number>;
  levels(): string[];
}

function rig(maxStreamLabels = 100): Rig {
  const clock = new ManualClock(1_700_000_000_000);
  const metrics = createMetrics({ maxStreamLabels, defaultMetrics: false });
  const tc = testContext('telemetry', clock);
  const events = createEvents(tc.ctx.log, metrics, { clock });
  return {
    clock, metrics, events, tc,
    value: async (name, labels = {}) => sampleValue(parseExposition(await metrics.text()), name, labels),
    levels: () => tc.logs.map((l) => l.level),
  };
}

test('per-message and per-window events count and log at debug only', async () => {
  const r = rig();
  for (let i = 0; i < 3; i++) {
    r.events.messageReceived('plant/l1/p1/telemetry', 120);
    r.events.samplesAccepted('l1/p1', 10);
    r.events.windowScored('l1/p1', 'pump', 0.2, 0.5, false);
    r.events.windowInsufficient('l1/p2', 0.4);
    r.events.inferenceBatch('pump', 4, 0.003);
    r.events.sinkWritten('influx', 4);
  }
  r.events.windowScored('l1/p1', 'pump', 0.8, 0.5, true);
  assert.deepEqual([...new Set(r.levels())], ['debug']);
  assert.equal(r.tc.logs.length, 19, 'one line per call');
  assert.equal(await r.value('anomalyd_messages_received_total'), 3);
  assert.equal(await r.value('anomalyd_samples_total'), 30);
  assert.equal(await r.value('anomalyd_windows_scored_total'), 4);
  assert.equal(await r.value('anomalyd_anomalous_windows_total'), 1);
  assert.equal(await r.value('anomalyd_windows_insufficient_total'), 3);
  assert.equal(await r.value('anomalyd_inference_seconds_count'), 3);
  assert.ok(Math.abs((await r.value('anomalyd_inference_seconds_sum')) - 0.009) < 1e-12);
  assert.equal(await r.value('anomalyd_inference_batch_size_sum'), 12);
  assert.equal(await r.value('anomalyd_sink_points_written_total', { sink: 'influx' }), 12);
  assert.equal(await r.value('anomalyd_stream_score', { stream: 'l1/p1' }), 0.8);
  assert.equal(await r.value('anomalyd_stream_threshold', { stream: 'l1/p1' }), 0.5);
  const s = r.events.status.snapshot();
  assert.deepEqual(s.streams.find((v) => v.stream === 'l1/p1')?.history, [0.2, 0.2, 0.2, 0.8]);
  assert.equal(s.streams.find((v) => v.stream === 'l1/p2')?.state, 'insufficient_data');
  assert.equal(s.messagesTotal, 3);
});

test('rejections: debug each, one WARN per reason per minute carrying the count', async () => {
  const r = rig();
  const warns = (): { msg: string; fields?: Record<string, unknown> }[] => r.tc.logs.filter((l) => l.level === 'warn');
  for (let i = 0; i < 5; i++) r.events.messageRejected('invalid_json', 't/1', `bad ${i}`);
  assert.equal(warns().length, 1);
  assert.equal(warns()[0].fields?.count, 1);
  assert.equal(warns()[0].fields?.reason, 'invalid_json');
  assert.equal(r.levels().filter((l) => l === 'debug').length, 4);

  r.events.messageRejected('oversize', 't/2', '2 MB'); // another reason has its own budget
  assert.equal(warns().length, 2);

  r.clock.advance(30_000);
  r.events.messageRejected('invalid_json', 't/1', 'bad 5');
  assert.equal(warns().length, 2, 'still inside the minute');
  r.clock.advance(30_001);
  r.events.messageRejected('invalid_json', 't/1', 'bad 6');
  assert.equal(warns().length, 3);
  assert.equal(warns()[2].fields?.count, 6, '5 held back + this one');
  assert.equal(warns()[2].fields?.detail, 'bad 6');

  assert.equal(await r.value('anomalyd_messages_rejected_total', { reason: 'invalid_json' }), 7);
  assert.equal(await r.value('anomalyd_messages_rejected_total', { reason: 'oversize' }), 1);
  const rej = r.events.status.snapshot().rejections;
  assert.deepEqual(rej.map((x) => [x.reason, x.count, x.lastDetail]), [['invalid_json', 7, 'bad 6'], ['oversize', 1, '2 MB']]);
});

test('the log line of an alert says what its top channels read against what the model expected', () => {
  const r = rig();
  r.events.alertNotice(notice({ topChannels: [{ channel: 'vib_x', share: 0.6, reading: { observed: 2.91, expected: 1.32, trainingMin: 0.739, trainingMax: 2.18 } }] }));
  assert.equal(r.tc.logs[0].fields?.readings, 'vib_x read 2.91, expected 1.32 (training 0.739 to 2.18)');
});

test('alert notices count by state, drive alerts_firing and log at info', async () => {
  const r = rig();
  r.events.alertNotice(notice());
  r.events.alertNotice(notice({ fingerprint: 'fp2', stream: 'line1/pump2', severity: 'warning' }));
  assert.equal(await r.value('anomalyd_alerts_firing'), 2);
  r.events.alertNotice(notice({ status: 'resolved', endsAt: 1_700_000_060_000 }));
  assert.equal(await r.value('anomalyd_alerts_firing'), 1);
  assert.equal(await r.value('anomalyd_alerts_total', { state: 'firing' }), 2);
  assert.equal(await r.value('anomalyd_alerts_total', { state: 'resolved' }), 1);
  assert.deepEqual(r.tc.logs.map((l) => [l.level, l.msg]), [['info', 'Alert firing.'], ['info', 'Alert firing.'], ['info', 'Alert resolved.']]);
  assert.equal(r.tc.logs[0].fields?.top_channels, 'vib_x:0.60,current:0.30');
  assert.equal(r.tc.logs[0].fields?.readings, undefined, 'no readings, no field');
  assert.deepEqual(r.events.status.snapshot().alerts.map((a) => a.stream), ['line1/pump2']);

  // The alert engine registers its own count later and wins over the notice-derived one.
  r.metrics.provide('alerts_firing', () => 5);
  assert.equal(await r.value('anomalyd_alerts_firing'), 5);
});

test('data loss is ERROR, summarised per key per minute with the number of items', async () => {
  const r = rig();
  r.events.queueDropped('windows', 10);
  r.events.queueDropped('windows', 5);
  r.events.sinkDropped('influx', 'spool_full', 100, 'spool at 256 MiB');
  r.events.sinkDropped('influx', 'rejected', 1, 'field type conflict');
  assert.deepEqual(r.levels(), ['error', 'error', 'error']);
  r.clock.advance(60_000);
  r.events.queueDropped('windows', 1);
  const queueLines = r.tc.logs.filter((l) => l.fields?.queue === 'windows');
  assert.deepEqual(queueLines.map((l) => l.fields?.count), [10, 6]);
  assert.equal(await r.value('anomalyd_queue_dropped_total', { queue: 'windows' }), 16);
  assert.equal(await r.value('anomalyd_sink_points_dropped_total', { sink: 'influx', reason: 'spool_full' }), 100);
  assert.equal(await r.value('anomalyd_sink_points_dropped_total', { sink: 'influx', reason: 'rejected' }), 1);
});

test('sink errors: retryable is WARN, fatal is ERROR', async () => {
  const r = rig();
  r.events.sinkError('influx', true, 'ECONNREFUSED');
  r.events.sinkError('influx', false, 'database not found');
  assert.deepEqual(r.levels(), ['warn', 'error']);
  assert.equal(await r.value('anomalyd_sink_errors_total', { sink: 'influx', kind: 'retryable' }), 1);
  assert.equal(await r.value('anomalyd_sink_errors_total', { sink: 'influx', kind: 'fatal' }), 1);
});

test('webhook deliveries: success INFO, retry WARN (limited), failed and rejected ERROR', async () => {
  const r = rig();
  r.events.webhookDelivery('ops', 'success', 200, '');
  r.events.webhookDelivery('ops', 'retry', 503, 'Service Unavailable');
  r.events.webhookDelivery('ops', 'retry', 503, 'Service Unavailable');
  r.events.webhookDelivery('ops', 'failed', null, 'timeout after 10 retries');
  r.events.webhookDelivery('ops', 'rejected', 400, 'Bad Request');
  assert.deepEqual(r.levels(), ['info', 'warn', 'error', 'error']);
  assert.equal(r.tc.logs[3].fields?.status, 400);
  for (const [result, n] of [['success', 1], ['retry', 2], ['failed', 1], ['rejected', 1]] as const) {
    assert.equal(await r.value('anomalyd_webhook_deliveries_total', { result }), n, result);
  }
});

test('MQTT connection: gauge follows, loss is WARN once, failed reconnects are summarised', async () => {
  const r = rig();
  r.events.mqttConnection(true, 'mqtt://127.0.0.1:1883');
  assert.equal(await r.value('anomalyd_mqtt_connected'), 1);
  r.events.mqttConnection(false, 'ECONNRESET');
  r.events.mqttConnection(false, 'ECONNREFUSED');
  r.events.mqttConnection(false, 'ECONNREFUSED');
  assert.equal(await r.value('anomalyd_mqtt_connected'), 0);
  assert.deepEqual(r.tc.logs.map((l) => [l.level, l.msg]), [['info', 'Connected to MQTT broker.'], ['warn', 'Lost connection to MQTT broker.']]);
  r.clock.advance(61_000);
  r.events.mqttConnection(false, 'ECONNREFUSED');
  assert.equal(r.tc.logs[2].msg, 'Cannot connect to MQTT broker.');
  assert.equal(r.tc.logs[2].fields?.attempts, 3);
});

test('model info keeps one series per model across reloads; a failure is ERROR', async () => {
  const r = rig();
  r.events.modelLoaded('pump', '1', 'wasm', 'models/pump');
  r.events.modelLoaded('pump', '2', 'tensorflow', 'models/pump');
  r.events.modelFailed('ecg', 'models/ecg', 'manifest.json: missing');
  const f = parseExposition(await r.metrics.text());
  assert.deepEqual(f.get('anomalyd_model_info')?.samples.map((s) => s.labels), [{ model: 'pump', version: '2', backend: 'tensorflow' }]);
  assert.equal(sampleValue(f, 'anomalyd_model_load_failures_total', { model: 'ecg' }), 1);
  assert.deepEqual(r.levels(), ['info', 'info', 'error']);
});

test('stream labels beyond the cap go to _other with one WARN', async () => {
  const r = rig(2);
  for (const s of ['a', 'b', 'c', 'd']) r.events.windowScored(s, 'pump', s.charCodeAt(0), 1, false);
  assert.equal(r.tc.logs.filter((l) => l.level === 'warn').length, 1);
  const f = parseExposition(await r.metrics.text());
  assert.deepEqual(f.get('anomalyd_stream_score')?.samples.map((s) => s.labels.stream), ['a', 'b', '_other']);
  assert.equal(sampleValue(f, 'anomalyd_stream_score', { stream: '_other' }), 'd'.charCodeAt(0));
  assert.equal(sampleValue(f, 'anomalyd_stream_labels_overflow_total'), 2, 'the windows of c and d');
});
