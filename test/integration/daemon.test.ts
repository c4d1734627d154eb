// The daemon end to end, as an operator runs it: `anomalyd run` as a child process against a real Mosquitto,
// a real InfluxDB, a real Alertmanager and a real HTTP webhook receiver. A pump fault published over MQTT
// must page (signature verified), reach Alertmanager, resolve, land in InfluxDB, and survive a restart
// without a second page.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Sample, Window } from '../../src/core/types';
import { saveArtifact } from '../../src/model/artifact';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { DaemonProcess, pollUntil } from '../helpers/faults';
import { getAlerts, startAlertmanager, type AlertmanagerProcess } from '../helpers/alertmanager';
import { Influxd } from '../helpers/influxd';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';
import { checkMetrics } from '../helpers/promtool';
import { recentAtHourUtc } from '../helpers/synthetic';
import { completeWindows, trainTinyDetector } from '../helpers/tinyDetector';

const SECRET = 'test-signing-secret-123';
// 06:00 UTC at least six hours ago: the same pump signal every run (see recentAtHourUtc).
const T0 = recentAtHourUtc(6 * 3600_000, 6);
const WINDOW = { size: 30, hop: 10, maxGapMs: 10_000, minCompleteness: 0.9, samplePeriodMs: 1000 };

interface Received {
  body: {
    status: string;
    alerts: {
      status: string; labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string; sequence: number;
      top_channels: { channel: string; share: number; observed: number | null; expected: number | null; training_min: number | null; training_max: number | null }[];
    }[];
  };
  key: string;
  signatureOk: boolean;
}

let dir: string;
let mosquitto: Mosquitto;
let influx: Influxd;
let alertmanager: AlertmanagerProcess;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let httpPort: number;
let daemon: DaemonProcess;
let publisher: MqttPublisher;

function verify(header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  return createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest('hex') === m[2];
}

/** `anomalyd run` on the test's config, ready (/readyz 200). */
async function startDaemon(configFile: string): Promise<void> {
  daemon = new DaemonProcess(configFile, httpPort, dir);
  await daemon.ready();
}

async function publish(asset: string, samples: readonly Sample[]): Promise<void> {
  for (const s of samples) await publisher.publish(`plant/line1/${asset}/telemetry`, pumpPayload(s), 1);
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-daemon-'));
  [mosquitto, influx, alertmanager] = await Promise.all([startMosquitto(), Influxd.start(), startAlertmanager()]);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({
        body: JSON.parse(body) as Received['body'],
        key: String(req.headers['idempotency-key']),
        signatureOk: verify(req.headers['x-anomalyd-signature'] as string | undefined, body),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  httpPort = await freePort();

  // A small pump model trained on fault-free simulator output, as scripts/trainDemoModels.js does at full size.
  const stream = { id: 'line1/pump1', channels: [...PUMP_CHANNELS] };
  const windows: Window[] = [];
  // The same pumps' history: the same time of day yesterday (the ambient temperature follows a daily cycle)
  // and the two hours before the test period.
  for (const [seed, from] of [21, 22].flatMap((seed) => [[seed, T0 - 24.5 * 3600_000], [seed, T0 - 2 * 3600_000]])) {
    const samples = pumpSamples(seed, from, 2 * 3600);
    const ts = Float64Array.from(samples, (s) => s.ts);
    const values = new Float32Array(samples.length * PUMP_CHANNELS.length);
    samples.forEach((s, i) => values.set(Array.from(s.values), i * PUMP_CHANNELS.length));
    windows.push(...completeWindows(stream, ts, values, WINDOW));
  }
  // Larger than the unit tests' detectors: this one must tell a bearing fault from eight channels of normal.
  const { detector } = await trainTinyDetector(windows, {
    name: 'pump',
    stream,
    window: WINDOW,
    encoderUnits: [64],
    latentUnits: 8,
    train: { epochs: 25, learningRate: 0.003, validationFraction: 0.1, patience: 5, noise: { gaussianSigma: 0.05, maskFraction: 0.1, saltPepperFraction: 0 } },
    // The product's default calibration (a percentile of the training errors is too tight for unseen data).
    calibration: { kind: 'pot', q: 0.0001, initialQuantile: 0.98 },
  });
  await saveArtifact(path.join(dir, 'models', 'pump'), detector.model, detector.manifest);
  detector.dispose();

  await writeFile(
    path.join(dir, 'config.yaml'),
    `
log: { level: info }
http: { host: 127.0.0.1, port: ${httpPort} }
state_dir: ${dir}/var
mqtt: { url: ${mosquitto.url}, client_id: anomalyd-e2e, embedded_broker: off }
models: { pump: { path: ${dir}/models/pump } }
defaults:
  window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  alerting: { k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 60000 }
  expected: { values: true }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: pump
    channels: [${PUMP_CHANNELS.join(', ')}]
streams:
  - { id: line1/pump2, expected: { denoised: true } }
sinks:
  console: { enabled: true }
  influx: { url: ${influx.url}/anomalyd, flush_interval_ms: 200 }
  webhooks:
    - { name: oncall, url: ${receiverUrl}, secret: ${SECRET} }
  alertmanager: { url: ${alertmanager.url}, repost_interval_ms: 5000 }
`,
  );
  await startDaemon(path.join(dir, 'config.yaml'));
  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'e2e-publisher' });
});

after(async () => {
  await publisher?.close();
  await daemon?.stop();
  await new Promise<void>((r) => receiver?.close(() => r()));
  await Promise.allSettled([mosquitto?.close(), influx?.stop(), alertmanager?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

test('a pump fault over MQTT pages the webhook (signed), reaches Alertmanager and InfluxDB, then resolves', async () => {
  const faultStart = T0 + 20 * 60_000;
  const faultEnd = T0 + 35 * 60_000;
  const faulty = pumpSamples(21, T0, 50 * 60, [{ kind: 'bearing_wear', startMs: faultStart, endMs: faultEnd }]);
  await publish('pump2', pumpSamples(22, T0, 20 * 60));
  await publish('pump1', faulty.slice(0, 30 * 60));

  await waitFor(() => received.some((r) => r.body.status === 'firing'), 'a firing webhook', 30_000, () => daemon.log.slice(-3000));
  const firing = received.find((r) => r.body.status === 'firing');
  assert.ok(firing);
  assert.ok(firing.signatureOk, 'HMAC signature verifies');
  const alert = firing.body.alerts[0];
  assert.equal(alert.labels.stream, 'line1/pump1');
  assert.equal(alert.labels.asset, 'pump1');
  assert.ok(alert.top_channels.length > 0 && alert.top_channels[0].share > 0);
  // Each top channel says what it read, what the model expected and the range it saw in training.
  const manifest = JSON.parse(await readFile(path.join(dir, 'models', 'pump', 'manifest.json'), 'utf8')) as { training: { channelSummary: { name: string; min: number; max: number; std: number }[] } };
  for (const c of alert.top_channels) {
    assert.ok(typeof c.observed === 'number' && typeof c.expected === 'number', `${c.channel}: observed ${c.observed}, expected ${c.expected}`);
    const trained = manifest.training.channelSummary.find((s) => s.name === c.channel);
    assert.ok(trained);
    assert.equal(c.training_min, Number(trained.min.toPrecision(6)), `${c.channel}: training_min`);
    assert.equal(c.training_max, Number(trained.max.toPrecision(6)), `${c.channel}: training_max`);
  }
  const top = alert.top_channels[0];
  assert.ok(Math.abs(Number(top.observed) - Number(top.expected)) > 0, 'the top channel read something other than what was expected');
  assert.match(alert.annotations['readings'] ?? '', new RegExp(`^${top.channel} read \\S+, expected \\S+ \\(training \\S+ to \\S+\\)`));
  assert.ok(alert.annotations['description']?.includes(alert.annotations['readings'] ?? '?'), 'the description says it too');
  assert.ok(firing.key.length > 0, 'idempotency key');

  const deadline = Date.now() + 20_000;
  let inAm: Awaited<ReturnType<typeof getAlerts>>[number] | undefined;
  while (!inAm && Date.now() < deadline) {
    inAm = (await getAlerts(alertmanager.url)).find((a) => a.labels.stream === 'line1/pump1' && a.status.state === 'active');
    if (!inAm) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(inAm, 'the alert is active in Alertmanager');
  assert.match(inAm.annotations['readings'] ?? '', new RegExp(`^${top.channel} read `), 'Alertmanager has the readings annotation');

  await publish('pump1', faulty.slice(30 * 60));
  await waitFor(() => received.some((r) => r.body.status === 'resolved'), 'a resolved webhook', 30_000, () => daemon.log.slice(-3000));
  const resolved = received.find((r) => r.body.status === 'resolved');
  assert.equal(resolved?.body.alerts[0].fingerprint, alert.fingerprint);
  assert.ok((resolved?.body.alerts[0].sequence ?? 0) > alert.sequence);

  const expected = (20 * 60 - 30) / 10 + 1 + (50 * 60 - 30) / 10 + 1;
  let scored = 0;
  const scoring = Date.now() + 15_000;
  while ((scored = await daemon.metric('anomalyd_windows_scored_total')) < expected && Date.now() < scoring) await new Promise((r) => setTimeout(r, 200));
  assert.equal(scored, expected, 'every published window is scored');
  let count = 0;
  const until = Date.now() + 15_000;
  while (count < scored && Date.now() < until) {
    const rows = await influx.query('SELECT count(score) FROM anomaly_score', 'anomalyd');
    count = Number(rows[0]?.values?.[0]?.[1] ?? 0);
    if (count < scored) await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(count, scored, 'every scored window is in InfluxDB');
  await expectedValuesTrackTheSignal(scored, top.channel, faultStart, manifest.training.channelSummary);
  // Every window of both pumps scored and every notice delivered: only now can "never paged" be checked.
  await daemon.drained();
  assert.ok(!received.some((r) => r.body.alerts.some((a) => a.labels.stream === 'line1/pump2')), 'the healthy pump does not page');
  const alerts = await influx.query("SELECT count(score) FROM anomaly_alert WHERE stream = 'line1/pump1'", 'anomalyd');
  assert.ok(Number(alerts[0]?.values?.[0]?.[1] ?? 0) >= 2, 'firing and resolved alerts are in InfluxDB');
  const readings = await influx.query(`SELECT "readings", "observed_${top.channel}" FROM anomaly_alert WHERE stream = 'line1/pump1' AND state = 'firing'`, 'anomalyd');
  // The first firing notice's point (an escalation, if any, is a point of its own: severity is a tag).
  const rows = readings[0]?.values ?? [];
  assert.ok(
    rows.some((r) => String(r[1]).startsWith(`${top.channel} read `) && r[2] === top.observed),
    `the alert point carries the readings: ${JSON.stringify(rows)}`,
  );
  // The health point (every 10 s) counts what was received and says the broker is connected.
  let health: (number | null)[] = [];
  const healthDeadline = Date.now() + 15_000;
  while (!(Number(health[1]) > 0) && Date.now() < healthDeadline) {
    const rows = await influx.query('SELECT last(messages_total), last(mqtt_connected), last(streams) FROM anomalyd_health', 'anomalyd');
    health = (rows[0]?.values?.[0] as (number | null)[] | undefined) ?? [];
    if (!(Number(health[1]) > 0)) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(Number(health[1]) >= 20 * 60, `messages_total in anomalyd_health: ${String(health[1])}`);
  assert.equal(health[2], 1, 'mqtt_connected');
  assert.equal(health[3], 2, 'streams');
});

/**
 * What the model expected beside every score (defaults.expected.values, on in this config): one anomaly_expected point per
 * scored window; on the healthy pump the expected values follow the readings (closer on average than the channel's
 * training standard deviation: a constant guess at its mean is 0.8 of one off, a denoiser no worse), on the faulty one the top channel's reading leaves its expected value by more than its tolerance.
 * pump2 also publishes its denoised signal: every one of its 1200 samples once.
 */
async function expectedValuesTrackTheSignal(scored: number, topChannel: string, faultStart: number, summary: { name: string; min: number; max: number; std: number }[]): Promise<void> {
  const first = PUMP_CHANNELS[0];
  const [counted] = await influx.query(`SELECT count("expected_${first}") FROM anomaly_expected`, 'anomalyd');
  assert.equal(Number(counted?.values?.[0]?.[1]), scored, 'an anomaly_expected point per scored window');
  for (const s of summary) {
    const [rows] = await influx.query(`SELECT "observed_${s.name}", "expected_${s.name}" FROM anomaly_expected WHERE stream = 'line1/pump2'`, 'anomalyd');
    const pairs = (rows?.values ?? []) as [string, number, number][];
    const meanGap = pairs.reduce((a, [, o, e]) => a + Math.abs(o - e), 0) / pairs.length;
    assert.ok(pairs.length > 100 && meanGap < 1.2 * s.std, `${s.name}: expected within ${meanGap} of the readings on average (training std ${s.std})`);
  }
  const [fault] = await influx.query(
    `SELECT "observed_${topChannel}", "expected_${topChannel}", "tolerance_${topChannel}" FROM anomaly_expected WHERE stream = 'line1/pump1' AND time >= ${faultStart + 5 * 60_000}ms AND time < ${faultStart + 15 * 60_000}ms`,
    'anomalyd',
  );
  const outside = ((fault?.values ?? []) as [string, number, number, number][]).filter(([, o, e, tol]) => Math.abs(o - e) > tol).length;
  assert.ok(outside > 10, `${topChannel} leaves its band during the fault in ${outside} windows`);
  const [denoised] = await influx.query(`SELECT count("${first}") FROM anomaly_denoised WHERE stream = 'line1/pump2'`, 'anomalyd');
  assert.equal(Number(denoised?.values?.[0]?.[1]), 20 * 60, 'every sample of pump2 once in its denoised signal');
  const [none] = await influx.query(`SELECT count("${first}") FROM anomaly_denoised WHERE stream = 'line1/pump1'`, 'anomalyd');
  assert.equal(none, undefined, 'pump1 publishes no denoised signal (opt-in)');
}

test('/metrics passes promtool; bad payloads are counted by reason and the daemon keeps running', async () => {
  await publisher.publish('plant/line1/pump3/telemetry', '{"ts": 1, "vib_x_rms": ', 1);
  await publisher.publish('plant/line1/pump3/telemetry', 'not json at all', 1);
  await publisher.publish('plant/line1/pump3/telemetry', '{"nothing": 1}', 1);
  const rejected = (): Promise<number> => daemon.count('anomalyd_messages_rejected_total');
  const deadline = Date.now() + 10_000;
  while ((await rejected()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await rejected(), 3);
  const check = await checkMetrics(await daemon.metricsText());
  assert.equal(check.code, 0, check.output);
  assert.deepEqual(check.problems, []);
  const page = await (await fetch(`${daemon.base}/`)).text();
  assert.match(page, /line1\/pump1/);
});

test('SIGTERM exits 0; after a restart the alert state is restored and nothing is paged twice', async () => {
  // This test continues the first one's fault episode on the same daemon (its alert state is what the restart
  // must restore): it says so rather than passing vacuously when run alone.
  assert.ok(
    received.some((r) => r.body.status === 'firing') && received.some((r) => r.body.status === 'resolved'),
    'needs the first test of this file (pump1 fired and resolved); run the whole file',
  );
  // Every window of the first test is scored (it waited for that) and every notice delivered: nothing of the
  // earlier tests is still on its way. One still undelivered at SIGTERM would rightly come after the restart,
  // from the outbox, under the same key: the checks below tell that from a page storm.
  await daemon.drained();
  const before = received.length;
  const stopped = await daemon.stop();
  assert.equal(stopped.code, 0, daemon.log.slice(-2000));
  await startDaemon(path.join(dir, 'config.yaml'));
  // The same pump's signal going on where it stopped (a new simulation from T0 + 50 min would start its
  // slow-moving states afresh: a real jump, which the restored windows rightly score as anomalous).
  const fault = { kind: 'bearing_wear' as const, startMs: T0 + 20 * 60_000, endMs: T0 + 35 * 60_000 };
  await publish('pump1', pumpSamples(21, T0, 55 * 60, [fault]).slice(50 * 60));
  // The restored window buffer continues the grid: 300 samples make 30 windows. All scored, every notice they
  // caused delivered, then the check that there was none.
  const scoredAfter = await pollUntil('the 30 windows after the restart scored', () => daemon.metric('anomalyd_windows_scored_total'), (v) => v >= 30, 20_000);
  await daemon.drained();
  assert.equal(scoredAfter, 30, 'the restart continued the window grid');
  const after = received.slice(before).map((r) => `${r.body.status} ${r.body.alerts.map((a) => `${a.labels.alertname}#${a.sequence}`).join(',')} key ${r.key}`);
  assert.deepEqual(after, [], `no page storm after the restart\n${daemon.log.slice(-6000)}`);
  const keys = received.map((r) => r.key);
  assert.equal(new Set(keys).size, keys.length, 'every notice delivered once');
  assert.match(daemon.log, /Restored alert state/);
});
