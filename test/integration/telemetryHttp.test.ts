// The telemetry HTTP server on a real loopback port, scraped with fetch and linted with Prometheus's promtool.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { createEvents, type TelemetryEvents } from '../../src/telemetry/events';
import { createTelemetryServer, type BoundAddress, type TelemetryServer } from '../../src/telemetry/http';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics';
import { modelsLoadedCheck, mqttConnectedCheck } from '../../src/telemetry/readiness';
import { testContext } from '../helpers/context';
import { checkMetrics } from '../helpers/promtool';
import { parseExposition, sampleValue } from '../unit/telemetry/expo';
import { notice } from '../helpers/notices';

const EVIL_STREAM = 'line"1/<pump>&';

let metrics: Metrics;
let events: TelemetryEvents;
let server: TelemetryServer;
let addr: BoundAddress;

before(async () => {
  metrics = createMetrics({ maxStreamLabels: 3, version: '0.1.0' });
  const tc = testContext('telemetry');
  events = createEvents(tc.ctx.log, metrics);
  server = createTelemetryServer({
    host: '127.0.0.1', port: 0, metrics, status: events.status, log: tc.ctx.log, page: { version: '0.1.0' },
    readiness: [mqttConnectedCheck(events.status)],
  });
  server.addReadinessCheck(modelsLoadedCheck(events.status, ['pump']));
  addr = await server.start();
});

after(() => server.stop());

/** Feeds what a running daemon would: messages, scores (one over the cap), an alert, rejections, sinks. */
function feed(): void {
  events.mqttConnection(true, 'mqtt://127.0.0.1:1883');
  events.modelLoaded('pump', '3', 'wasm', 'models/pump');
  for (let i = 0; i < 30; i++) {
    events.messageReceived('plant/l1/p1/telemetry', 200);
    events.samplesAccepted('line1/pump1', 10);
    for (const s of ['line1/pump1', 'line1/pump2', EVIL_STREAM, 'line9/pump9']) events.windowScored(s, 'pump', 0.1 + i / 100, 0.35, i > 25);
  }
  events.inferenceBatch('pump', 4, 0.0012);
  events.alertNotice(notice({ stream: 'line1/pump1' }));
  events.messageRejected('invalid_json', 'plant/l1/p1/telemetry', 'Unexpected token');
  events.queueDropped('windows', 2);
  events.sinkWritten('influx', 120);
  events.sinkDropped('influx', 'overflow', 5, 'buffer full');
  events.webhookDelivery('ops', 'success', 200, '');
  metrics.provide('queue_depth', () => [{ labels: { queue: 'windows' }, value: 12 }]);
  metrics.provideSink('influx', () => ({ buffered: 33, spooledBytes: 2048 }));
  metrics.provide('streams_active', () => 4);
}

test('/readyz is 503 with the failing checks and why, then 200 once connected and loaded', async () => {
  const res = await fetch(`${addr.url}/readyz`);
  assert.equal(res.status, 503);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as { status: string; failing: { name: string; detail: string }[] };
  assert.equal(body.status, 'not ready');
  assert.deepEqual(body.failing.map((f) => f.name), ['mqtt', 'models']);
  assert.match(body.failing[0].detail, /not connected to the broker/);
  assert.equal(body.failing[1].detail, "'pump' not loaded yet");

  assert.equal((await fetch(`${addr.url}/healthz`)).status, 200, 'alive while not ready');
  feed();
  const ready = await fetch(`${addr.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
});

test('/metrics serves the exposition format with the fed values, and promtool finds no problems', async () => {
  const res = await fetch(`${addr.url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const f = parseExposition(text);
  assert.equal(sampleValue(f, 'anomalyd_messages_received_total'), 30);
  assert.equal(sampleValue(f, 'anomalyd_samples_total'), 300);
  assert.equal(sampleValue(f, 'anomalyd_windows_scored_total'), 120);
  assert.equal(sampleValue(f, 'anomalyd_anomalous_windows_total'), 16);
  assert.equal(sampleValue(f, 'anomalyd_stream_score', { stream: EVIL_STREAM }), 0.39);
  assert.equal(sampleValue(f, 'anomalyd_stream_score', { stream: '_other' }), 0.39);
  assert.equal(sampleValue(f, 'anomalyd_stream_threshold', { stream: 'line1/pump1' }), 0.35);
  assert.equal(sampleValue(f, 'anomalyd_alerts_firing'), 1);
  assert.equal(sampleValue(f, 'anomalyd_mqtt_connected'), 1);
  assert.equal(sampleValue(f, 'anomalyd_queue_depth', { queue: 'windows' }), 12);
  assert.equal(sampleValue(f, 'anomalyd_sink_buffered_points', { sink: 'influx' }), 33);
  assert.equal(sampleValue(f, 'anomalyd_streams_active'), 4);
  assert.equal(sampleValue(f, 'anomalyd_model_info', { model: 'pump', version: '3', backend: 'wasm' }), 1);
  assert.equal(sampleValue(f, 'anomalyd_messages_rejected_total', { reason: 'invalid_json' }), 1);
  assert.ok(f.has('anomalyd_process_resident_memory_bytes') || f.has('anomalyd_process_cpu_seconds_total'));

  const lint = await checkMetrics(text);
  assert.deepEqual(lint.problems, [], lint.output);
  assert.equal(lint.code, 0);
});

test('promtool is a real check: a badly named counter is reported', async () => {
  const lint = await checkMetrics('# HELP anomalyd_bad_seconds x\n# TYPE anomalyd_bad_seconds counter\nanomalyd_bad_seconds 1\n');
  assert.notEqual(lint.code, 0);
  assert.match(lint.output, /_total/);
});

test('/ renders the status page: refresh, escaped stream names, SVG sparklines, alerts and rejections', async () => {
  const res = await fetch(`${addr.url}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.ok(html.includes('line&quot;1/&lt;pump&gt;&amp;'));
  assert.ok(!html.includes(EVIL_STREAM));
  assert.equal(html.match(/<svg class="spark"/g)?.length, 4);
  assert.match(html, /<h2>Active alerts \(1\)<\/h2>/);
  assert.match(html, /vib_x 60%/);
  assert.match(html, /<td>invalid_json<\/td><td class="n">1<\/td>/);
  assert.match(html, /<dt>Backend<\/dt><dd>wasm<\/dd>/);
});

test('/api/v1/alerts lists the firing alerts and the episode history; /api/v1/streams the streams with their fill', async () => {
  events.status.provideStreamFill(() => [
    { stream: 'line1/new', model: 'pump', lastSampleAt: Date.UTC(2024, 0, 1), buffered: 7, size: 30, stepsUntilWindow: 23, samplePeriodMs: 1000, modelReady: true },
  ]);
  const res = await fetch(`${addr.url}/api/v1/alerts`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  const alerts = (await res.json()) as { firing: { stream: string; startsAt: string }[]; episodes: { stream: string; alertname: string; endsAt: string | null; peak_score: number; top_channels: unknown[] }[] };
  assert.deepEqual(alerts.firing.map((a) => a.stream), ['line1/pump1']);
  assert.equal(alerts.firing[0].startsAt, '2023-11-14T22:13:20.000Z');
  assert.equal(alerts.episodes.length, 1);
  assert.equal(alerts.episodes[0].alertname, 'AnomalyDetected');
  assert.equal(alerts.episodes[0].endsAt, null);
  assert.deepEqual(alerts.episodes[0].top_channels, [{ channel: 'vib_x', share: 0.6 }, { channel: 'current', share: 0.3 }]);

  const streams = (await (await fetch(`${addr.url}/api/v1/streams`)).json()) as { streams: { stream: string; state: string; window?: { samples: number; size: number; next_window_at: string } }[] };
  const fresh = streams.streams.find((v) => v.stream === 'line1/new');
  assert.equal(fresh?.state, 'filling');
  assert.deepEqual(fresh?.window, { samples: 7, size: 30, next_window_at: '2024-01-01T00:00:23.000Z', last_sample_at: '2024-01-01T00:00:00.000Z', model_ready: true });
  assert.ok(streams.streams.some((v) => v.stream === 'line1/pump1' && v.window === undefined));
});

test('HEAD has headers without a body; unknown paths 404; other methods 405 with Allow', async () => {
  const head = await rawRequest('HEAD', '/metrics');
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers['content-length']) > 1000);
  assert.equal(head.body, '');
  assert.equal((await fetch(`${addr.url}/nope`)).status, 404);
  const post = await fetch(`${addr.url}/metrics`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal((await fetch(`${addr.url}/healthz?verbose=1`)).status, 200, 'query strings are ignored');
});

test('start returns the bound port; stop is idempotent, safe before start, and frees the port', async () => {
  const other = createTelemetryServer({ host: '127.0.0.1', port: 0, metrics, status: events.status });
  await other.stop(); // before start: nothing to do
  const neverStarted = createTelemetryServer({ host: '127.0.0.1', port: 0, metrics, status: events.status });
  const a = neverStarted.start();
  const b = neverStarted.start();
  const bound = await a;
  assert.equal(await b, bound, 'concurrent starts share one listen');
  assert.ok(bound.port > 0);
  assert.equal(bound.url, `http://127.0.0.1:${bound.port}`);
  const keepAlive = await fetch(`${bound.url}/healthz`);
  assert.equal(keepAlive.status, 200);
  await Promise.all([neverStarted.stop(), neverStarted.stop()]);
  await neverStarted.stop();
  await assert.rejects(fetch(`${bound.url}/healthz`));
  await assert.rejects(neverStarted.start(), /stopped/);
});

test('a port in use makes start() reject, and stop() after that failure is safe', async () => {
  const clash = createTelemetryServer({ host: '127.0.0.1', port: addr.port, metrics, status: events.status });
  await assert.rejects(clash.start(), /EADDRINUSE/);
  await clash.stop();
});

function rawRequest(method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: addr.host, port: addr.port, method, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
