// SIGHUP reload (issue 3) against a real daemon process, a real Mosquitto, a real InfluxDB and real HTTP webhook
// receivers: the config file is changed and the daemon signalled while one pump streams. A new webhook receiver
// gets the next alert, a changed threshold takes effect, no window of the streaming pump is lost (windows scored
// and InfluxDB points equal what the published samples make), a broken file keeps the previous config running,
// settings that need a restart are named in the log and keep their running value, and a new subscription is
// taken on the live connection.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Sample } from '../../src/core/types';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { pumpPayload } from '../../src/simulator/signals';
import { DaemonProcess, HookReceiver, PUMP_MODEL, pollUntil, publishAll, pumpConfig, pumpSeries, simAssets } from '../helpers/faults';
import { Influxd } from '../helpers/influxd';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
/** Windows of 30 samples every 10 (pumpConfig's geometry) that `samples` consecutive samples make. */
const windowsOf = (samples: number): number => Math.floor((samples - 30) / 10) + 1;

let dir: string;
let mosquitto: Mosquitto;
let influx: Influxd;
const hookA = new HookReceiver();
const hookB = new HookReceiver();
let daemon: DaemonProcess;
let publisher: MqttPublisher;
let configFile: string;
let httpPort: number;
let series: Sample[];

function config(o: { hooks: HookReceiver[]; threshold?: number; port?: number; extraSubscription?: boolean }): string {
  const hooks = o.hooks.map((h) => `    - { name: ${h === hookA ? 'a' : 'b'}, url: ${h.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`);
  let text = pumpConfig({
    httpPort: o.port ?? httpPort,
    stateDir: path.join(dir, 'var'),
    mqttUrl: mosquitto.url,
    clientId: 'anomalyd-reload',
    secondSite: o.extraSubscription ? 'site2' : undefined,
    sinks: `  influx: { url: ${influx.url}/reload, flush_interval_ms: 200 }\n  webhooks:\n${hooks.join('\n')}`,
  });
  if (o.threshold !== undefined) text = text.replace(`models: { pump: { path: ${PUMP_MODEL} } }`, `models: { pump: { path: ${PUMP_MODEL}, threshold: ${o.threshold} } }`);
  return text;
}

async function publish(topic: string, samples: readonly Sample[]): Promise<void> {
  await publishAll(publisher, samples.map((s) => ({ topic, payload: pumpPayload(s) })), 50);
}

async function reload(text: string, result: 'ok' | 'error'): Promise<void> {
  const before = await daemon.metric('anomalyd_config_reloads_total', { result });
  await writeFile(configFile, text);
  daemon.signal('SIGHUP');
  await pollUntil(`config reload ${result}`, () => daemon.metric('anomalyd_config_reloads_total', { result }), (v) => v === before + 1, 20_000);
}

const scored = (): Promise<number> => daemon.metric('anomalyd_windows_scored_total');
const firingFor = (h: HookReceiver, stream: string): boolean => h.delivered().some((r) => r.body.status === 'firing' && r.body.alerts.some((a) => a.labels.stream === stream));

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-reload-'));
  [mosquitto, influx] = await Promise.all([startMosquitto(), Influxd.start(), hookA.start(), hookB.start()]);
  httpPort = await freePort();
  configFile = path.join(dir, 'config.yaml');
  await writeFile(configFile, config({ hooks: [hookA] }));
  daemon = new DaemonProcess(configFile, httpPort, dir);
  await daemon.ready();
  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'reload-publisher' });
  // A pump the bundled model knows as normal (one of the simulated pumps it was trained on).
  series = pumpSeries(simAssets('pump', 2, 3, 1)[0].seed, T0, 800);
});

after(async () => {
  await publisher?.close().catch(() => undefined);
  await daemon?.stop();
  await Promise.allSettled([hookA.close(), hookB.close(), mosquitto?.close(), influx?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

test('SIGHUP: a new webhook gets the next alert, a changed threshold takes effect, no window is lost', async () => {
  await publish('plant/line1/pump1/telemetry', series.slice(0, 300));
  await pollUntil('the first windows scored', scored, (v) => v === windowsOf(300));
  assert.equal(firingFor(hookA, 'line1/pump1'), false, 'normal data does not page under the calibrated threshold');

  // Receiver b added, a kept; a fixed threshold far below every score makes each window anomalous.
  await reload(config({ hooks: [hookA, hookB], threshold: 1e-9 }), 'ok');
  assert.match(daemon.log, /Reloaded the configuration\..*streams_kept=1/);
  assert.match(daemon.log, /sinks_started=webhook\.b/);
  await publish('plant/line1/pump1/telemetry', series.slice(300, 600));

  await waitFor(() => firingFor(hookB, 'line1/pump1'), 'the new receiver paged', 20_000, () => daemon.log.slice(-3000));
  await waitFor(() => firingFor(hookA, 'line1/pump1'), 'the kept receiver paged', 20_000, () => daemon.log.slice(-3000));
  // The stream kept its window buffer across the reload: 600 consecutive samples, 58 windows. A buffer
  // restarted at the reload would have lost the two windows that straddle it.
  const windows = await pollUntil('every window scored', scored, (v) => v >= windowsOf(600));
  assert.equal(windows, windowsOf(600));
  const points = await pollUntil(
    'every score point in InfluxDB',
    async () => Number((await influx.query('SELECT count(score) FROM anomaly_score', 'reload'))[0]?.values?.[0]?.[1] ?? 0),
    (v) => v >= windows,
    20_000,
  );
  assert.equal(points, windows, 'one InfluxDB point per scored window');
  console.log(`reload: 600 samples published, ${windows} windows scored, ${points} InfluxDB points`);
});

test('SIGHUP with a broken config (or a window its model cannot read): refused, counted, and the previous config keeps running', async () => {
  const anomalousBefore = await daemon.metric('anomalyd_anomalous_windows_total');
  await reload(config({ hooks: [hookA, hookB], threshold: 1e-9 }).replace('size: 30', 'size: -3'), 'error');
  assert.match(daemon.log, /Reload refused: the configuration is invalid; still running with the previous one\..*defaults\.window\.size/);
  assert.ok(daemon.running);
  // A window the bundled model cannot read (it was trained on 30 samples) is refused the same way, naming both.
  await reload(config({ hooks: [hookA, hookB], threshold: 1e-9 }).replace('size: 30', 'size: 60'), 'error');
  assert.match(daemon.log, /Reload refused: .*defaults\.window\.size: differs from model 'pump' \(window\.size 30 in .*manifest\.json\).*\(got 60\)/);
  assert.ok(daemon.running);
  await publish('plant/line1/pump1/telemetry', series.slice(600, 700));
  const windows = await pollUntil('windows after the refused reload', scored, (v) => v >= windowsOf(700));
  assert.equal(windows, windowsOf(700), 'the same window geometry goes on');
  // Still the reloaded threshold: every new window is anomalous.
  assert.equal((await daemon.metric('anomalyd_anomalous_windows_total')) - anomalousBefore, windowsOf(700) - windowsOf(600));
});

test('SIGHUP: a new subscription is taken live, a removed webhook stops, a new HTTP port waits for a restart', async () => {
  const otherPort = await freePort();
  await reload(config({ hooks: [hookB], threshold: 1e-9, port: otherPort, extraSubscription: true }), 'ok');
  assert.match(daemon.log, /Changed settings need a restart; they keep their running values until then\..*needs_restart=http\.port/);
  assert.match(daemon.log, /topics_added=site2\/\+\/\+\/telemetry/);
  assert.match(daemon.log, /sinks_stopped=webhook\.a/);
  assert.equal((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status, 200, 'still on the running port');

  const pagesToA = hookA.requests.length;
  await publish('site2/line1/pump1/telemetry', series.slice(0, 100));
  await waitFor(() => firingFor(hookB, 'site2/line1/pump1'), 'the new stream paged', 20_000, () => daemon.log.slice(-3000));
  assert.equal(await daemon.metric('anomalyd_streams_active'), 2);
  assert.equal(hookA.requests.length, pagesToA, 'the removed receiver gets nothing more');
});
