import assert from 'node:assert/strict';
import { test } from 'node:test';
import { register as globalRegister } from 'prom-client';
import { createMetrics, OTHER_STREAM, INFERENCE_BUCKETS, type Metrics } from '../../../src/telemetry/metrics';
import { parseExposition, sampleValue } from './expo';

/** The fixed metric contract of docs/design.md (Prometheus metrics): name -> [type, label names]. */
const CONTRACT: Record<string, [string, string[]]> = {
  anomalyd_messages_received_total: ['counter', []],
  anomalyd_messages_rejected_total: ['counter', ['reason']],
  anomalyd_samples_total: ['counter', []],
  anomalyd_windows_scored_total: ['counter', []],
  anomalyd_windows_insufficient_total: ['counter', []],
  anomalyd_anomalous_windows_total: ['counter', []],
  anomalyd_alerts_total: ['counter', ['state']],
  anomalyd_alerts_firing: ['gauge', []],
  anomalyd_inference_seconds: ['histogram', []],
  anomalyd_stream_score: ['gauge', ['stream']],
  anomalyd_stream_threshold: ['gauge', ['stream']],
  anomalyd_queue_depth: ['gauge', ['queue']],
  anomalyd_queue_dropped_total: ['counter', ['queue']],
  anomalyd_sink_points_written_total: ['counter', ['sink']],
  anomalyd_sink_points_dropped_total: ['counter', ['reason', 'sink']],
  anomalyd_sink_buffered_points: ['gauge', ['sink']],
  anomalyd_webhook_deliveries_total: ['counter', ['result']],
  anomalyd_mqtt_connected: ['gauge', []],
  anomalyd_model_info: ['gauge', ['backend', 'model', 'version']],
};

/** Touches every labelled metric once so each has a sample whose label set can be checked. */
function exercise(m: Metrics): void {
  m.streamScore.set({ stream: m.streamLabel('s1') }, 0.5);
  m.streamThreshold.set({ stream: m.streamLabel('s1') }, 0.7);
  m.queueDropped.inc({ queue: 'windows' }, 2);
  m.sinkWritten.inc({ sink: 'influx' }, 10);
  m.sinkDropped.inc({ sink: 'influx', reason: 'overflow' }, 3);
  m.modelInfo.set({ model: 'pump', version: '3', backend: 'wasm' }, 1);
  m.inferenceSeconds.observe(0.002);
  m.provide('queue_depth', () => [{ labels: { queue: 'windows' }, value: 7 }]);
  m.provideSink('influx', () => ({ buffered: 42, spooledBytes: 4096 }));
}

test('every contract metric exists with its exact type and label names', async () => {
  const m = createMetrics({ maxStreamLabels: 10, version: '1.2.3' });
  exercise(m);
  const families = parseExposition(await m.text());
  for (const [name, [type, labels]] of Object.entries(CONTRACT)) {
    const f = families.get(name);
    assert.ok(f, `missing ${name}`);
    assert.equal(f.type, type, name);
    assert.ok(f.help.length > 0, `${name} has help`);
    assert.ok(f.samples.length > 0, `${name} has samples`);
    for (const s of f.samples) {
      const keys = Object.keys(s.labels).filter((k) => k !== 'le').sort();
      assert.deepEqual(keys, labels, `${s.name} labels`);
    }
  }
  assert.equal(sampleValue(families, 'anomalyd_build_info', { version: '1.2.3', node: process.versions.node }), 1);
  assert.equal(sampleValue(families, 'anomalyd_sink_buffered_points', { sink: 'influx' }), 42);
  assert.equal(sampleValue(families, 'anomalyd_sink_spool_bytes', { sink: 'influx' }), 4096);
  assert.equal(sampleValue(families, 'anomalyd_queue_depth', { queue: 'windows' }), 7);
  assert.equal(sampleValue(families, 'anomalyd_sink_points_dropped_total', { sink: 'influx', reason: 'overflow' }), 3);
});

test('inference buckets span 0.1 ms to 1 s', async () => {
  const m = createMetrics({ maxStreamLabels: 1, defaultMetrics: false });
  m.inferenceSeconds.observe(0.00005);
  m.inferenceSeconds.observe(0.3);
  const f = parseExposition(await m.text()).get('anomalyd_inference_seconds');
  const les = f?.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.labels.le) ?? [];
  assert.equal(les[0], '0.0001');
  assert.equal(les[les.length - 2], '1');
  assert.equal(les[les.length - 1], '+Inf');
  assert.deepEqual(les.slice(0, -1).map(Number), INFERENCE_BUCKETS);
  assert.equal(sampleValue(parseExposition(await m.text()), 'anomalyd_inference_seconds_bucket', { le: '0.0001' }), 1);
  assert.equal(sampleValue(parseExposition(await m.text()), 'anomalyd_inference_seconds_count'), 2);
});

test('reasons, results and alert states exist at 0 before anything happens', async () => {
  const families = parseExposition(await createMetrics({ maxStreamLabels: 1, defaultMetrics: false }).text());
  const reasons = families.get('anomalyd_messages_rejected_total')?.samples.map((s) => s.labels.reason).sort();
  assert.deepEqual(reasons, ['bad_timestamp', 'channels_changed', 'duplicate', 'future_timestamp', 'invalid_binary', 'invalid_csv', 'invalid_json', 'invalid_number', 'invalid_sparkplug', 'invalid_utf8',
    'missing_channel', 'not_born', 'out_of_order', 'oversize', 'queue_full', 'stale_death', 'stream_limit', 'stream_not_allowed', 'stream_rate', 'too_old', 'unknown_alias', 'unknown_mode', 'unknown_stream',
    'unsupported_datatype']);
  for (const t of ['NBIRTH', 'NDATA', 'NDEATH', 'NCMD', 'DBIRTH', 'DDATA', 'DDEATH', 'DCMD', 'STATE']) assert.equal(sampleValue(families, 'anomalyd_sparkplug_messages_total', { type: t }), 0);
  for (const r of ['sent', 'rate_limited', 'disabled', 'failed']) assert.equal(sampleValue(families, 'anomalyd_sparkplug_rebirth_requests_total', { result: r }), 0);
  for (const r of ['idle', 'never_windowed']) assert.equal(sampleValue(families, 'anomalyd_streams_evicted_total', { reason: r }), 0);
  for (const r of ['success', 'retry', 'failed', 'rejected']) assert.equal(sampleValue(families, 'anomalyd_webhook_deliveries_total', { result: r }), 0);
  for (const s of ['firing', 'resolved']) assert.equal(sampleValue(families, 'anomalyd_alerts_total', { state: s }), 0);
  assert.equal(sampleValue(families, 'anomalyd_mqtt_connected'), 0, 'no provider: 0');
});

test('anomalyd_ingestion_paused reads the ingest gate\'s provider (0 before one is registered)', async () => {
  const m = createMetrics({ maxStreamLabels: 1, defaultMetrics: false });
  assert.equal(sampleValue(parseExposition(await m.text()), 'anomalyd_ingestion_paused'), 0);
  let paused = true;
  m.provide('ingestion_paused', () => (paused ? 1 : 0));
  assert.equal(sampleValue(parseExposition(await m.text()), 'anomalyd_ingestion_paused'), 1);
  paused = false;
  assert.equal(sampleValue(parseExposition(await m.text()), 'anomalyd_ingestion_paused'), 0);
});

test('per-message counters (received, samples) add up increments between scrapes and keep prom-client checks', async () => {
  const m = createMetrics({ maxStreamLabels: 1, defaultMetrics: false });
  m.messagesReceived.inc();
  m.messagesReceived.inc();
  m.samples.inc(5);
  m.samples.inc(0);
  let families = parseExposition(await m.text());
  assert.equal(sampleValue(families, 'anomalyd_messages_received_total'), 2);
  assert.equal(sampleValue(families, 'anomalyd_samples_total'), 5);
  m.messagesReceived.inc(3);
  m.samples.inc();
  families = parseExposition(await m.text());
  assert.equal(sampleValue(families, 'anomalyd_messages_received_total'), 5, 'counted once, not again at the next scrape');
  assert.equal(sampleValue(families, 'anomalyd_samples_total'), 6);
  assert.equal((await m.samples.get()).values[0]?.value, 6, 'get() sees increments made since the last scrape');
  assert.throws(() => m.samples.inc(-1), /decrease/);
  assert.throws(() => m.samples.inc(Number.POSITIVE_INFINITY), /not a valid number/);
  m.samples.inc(4);
  m.samples.reset();
  families = parseExposition(await m.text());
  assert.equal(sampleValue(families, 'anomalyd_samples_total'), 0, 'reset drops pending increments too');
});

test('only the first maxStreamLabels streams get their own label; the rest share _other and are counted', async () => {
  const m = createMetrics({ maxStreamLabels: 2, defaultMetrics: false });
  assert.deepEqual(['a', 'b', 'c', 'd', 'a', 'c'].map((s) => m.streamLabel(s)), ['a', 'b', OTHER_STREAM, OTHER_STREAM, 'a', OTHER_STREAM]);
  const families = parseExposition(await m.text());
  assert.equal(sampleValue(families, 'anomalyd_stream_labels_overflow_total'), 3);
});

test('providers are read at scrape time: labelled ones merge and sum, single-value ones take the latest', async () => {
  const m = createMetrics({ maxStreamLabels: 1, defaultMetrics: false });
  let depth = 3;
  m.provide('queue_depth', () => [{ labels: { queue: 'windows' }, value: depth }, { labels: { queue: 'scores' }, value: 1 }]);
  const offSecond = m.provide('queue_depth', () => [{ labels: { queue: 'scores' }, value: 4 }]);
  m.provide('alerts_firing', () => 9);
  const offLatest = m.provide('alerts_firing', () => 2);
  let f = parseExposition(await m.text());
  assert.equal(sampleValue(f, 'anomalyd_queue_depth', { queue: 'windows' }), 3);
  assert.equal(sampleValue(f, 'anomalyd_queue_depth', { queue: 'scores' }), 5);
  assert.equal(sampleValue(f, 'anomalyd_alerts_firing'), 2);

  depth = 8;
  offSecond();
  offSecond(); // idempotent: must not remove another provider
  offLatest();
  f = parseExposition(await m.text());
  assert.equal(sampleValue(f, 'anomalyd_queue_depth', { queue: 'windows' }), 8);
  assert.equal(sampleValue(f, 'anomalyd_queue_depth', { queue: 'scores' }), 1);
  assert.equal(sampleValue(f, 'anomalyd_alerts_firing'), 9);
});

test('a series whose provider went away disappears instead of going stale', async () => {
  const m = createMetrics({ maxStreamLabels: 1, defaultMetrics: false });
  const off = m.provideSink('influx', () => ({ buffered: 5, spooledBytes: 0 }));
  assert.equal(sampleValue(parseExposition(await m.text()), 'anomalyd_sink_buffered_points', { sink: 'influx' }), 5);
  off();
  const f = parseExposition(await m.text());
  assert.equal(f.get('anomalyd_sink_buffered_points')?.samples.length, 0);
  assert.equal(f.get('anomalyd_sink_spool_bytes')?.samples.length, 0);
});

test('a throwing provider is skipped and counted; the others still report', async () => {
  const m = createMetrics({ maxStreamLabels: 1, defaultMetrics: false });
  m.provide('queue_depth', () => {
    throw new Error('boom');
  });
  m.provide('queue_depth', () => [{ labels: { queue: 'windows' }, value: 6 }]);
  const f = parseExposition(await m.text());
  assert.equal(sampleValue(f, 'anomalyd_queue_depth', { queue: 'windows' }), 6);
  assert.equal(sampleValue(f, 'anomalyd_metrics_provider_errors_total', { gauge: 'anomalyd_queue_depth' }), 1);
});

test('process metrics carry the anomalyd_ prefix; the global registry is untouched', async () => {
  const a = createMetrics({ maxStreamLabels: 1 });
  const b = createMetrics({ maxStreamLabels: 1 }); // a second registry must not collide with the first
  a.messagesReceived.inc(3);
  const families = parseExposition(await a.text());
  assert.ok(families.has('anomalyd_process_cpu_user_seconds_total'));
  assert.ok(families.has('anomalyd_nodejs_heap_size_used_bytes'));
  assert.deepEqual([...families.keys()].filter((n) => !n.startsWith('anomalyd_')), []);
  // promtool's rule, checked here too so a prom-client upgrade that adds such a gauge fails fast.
  assert.deepEqual([...families.values()].filter((f) => f.type !== 'counter' && f.name.endsWith('_total')).map((f) => f.name), []);
  assert.equal(sampleValue(families, 'anomalyd_messages_received_total'), 3);
  assert.equal(sampleValue(parseExposition(await b.text()), 'anomalyd_messages_received_total'), 0);
  assert.equal((await globalRegister.getMetricsAsJSON()).filter((x) => x.name.startsWith('anomalyd_')).length, 0);
  assert.match(a.contentType, /^text\/plain; version=0\.0\.4/);
});
