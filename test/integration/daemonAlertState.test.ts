// Alert-state completeness against a real daemon process, a real Mosquitto, a real Alertmanager and a real HTTP
// webhook receiver:
// - restart: a firing SensorFlatline and a firing IngestionStalled are saved in state.json at SIGTERM and
//   restored by the next process, which pages neither again and resolves each (same fingerprint, same
//   startsAt) once its condition clears;
// - reload: a SIGHUP that removes the subscription of a stream with an anomaly, a stall and a sensor alert
//   firing sends each a resolve with the reason (webhook annotation resolve_reason; Alertmanager gets endsAt and
//   the alerts leave its active list) instead of leaving the pages open forever;
// - a subscription removed while the daemon was stopped: the next start resolves the saved firing alerts of its
//   streams with the reason instead of re-asserting them.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Sample } from '../../src/core/types';
import type { MqttPublisher } from '../../src/sources/mqttClient';
import { loadNativeAddon } from '../../src/model/nativeAddon';
import { pumpPayload } from '../../src/simulator/signals';
import { getAlerts, startAlertmanager, type AlertmanagerProcess } from '../helpers/alertmanager';
import { DaemonProcess, faultSuite, pollUntil, publishAll, pumpConfig, pumpSeries, simAssets } from '../helpers/faults';
import { freePort } from '../helpers/ports';

const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
/** pressure_bar: the channel held stuck. */
const STUCK = 5;
const ALERTING = 'k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 4000, flatline_samples: 10';

const suite = faultSuite('alertstate', { receiver: true });
let alertmanager: AlertmanagerProcess;

before(async () => {
  alertmanager = await startAlertmanager();
});

after(async () => {
  await alertmanager?.stop();
});

/** Pump samples 1 s apart; from index `stuckFrom` on (until `stuckTo`) the STUCK channel repeats one value. */
function series(count: number, stuckFrom: number, stuckTo = Infinity): Sample[] {
  const seed = simAssets('pump', 2, 3, 1)[0].seed;
  const base = pumpSeries(seed, T0, count);
  const held = base[stuckFrom]?.values[STUCK] ?? 0;
  return base.map((s, i) => (i >= stuckFrom && i < stuckTo ? { ts: s.ts, values: Float32Array.from(s.values, (v, c) => (c === STUCK ? held : v)) } : s));
}

interface HookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}

/** Every alert the receiver accepted, in order. */
function hookAlerts(): HookAlert[] {
  return suite.receiver.delivered().flatMap((r) => (JSON.parse(r.raw) as { alerts: HookAlert[] }).alerts);
}

function of(alertname: string, stream: string, status?: string): HookAlert[] {
  return hookAlerts().filter((a) => a.labels['alertname'] === alertname && a.labels['stream'] === stream && (status === undefined || a.status === status));
}

async function publish(pub: MqttPublisher, topic: string, samples: readonly Sample[]): Promise<void> {
  await publishAll(pub, samples.map((s) => ({ topic, payload: pumpPayload(s) })), 20);
}

async function waitForHook(what: string, alertname: string, stream: string, status: string, d: DaemonProcess): Promise<HookAlert> {
  const found = await pollUntil(what, () => Promise.resolve(of(alertname, stream, status)), (a) => a.length > 0, 20_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${d.log.slice(-3000)}`);
  });
  return found[0];
}

test('restart: a firing SensorFlatline and IngestionStalled are not paged again, stay active in Alertmanager and resolve when they clear', async () => {
  // Alertmanager is told every second that the alerts end 4 s later: a daemon that did not re-assert them
  // after its restart would let them expire there while the sensor is still stuck and the stream silent.
  const hooks = `  webhooks:\n    - { name: oncall, url: ${suite.receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }
  alertmanager: { url: ${alertmanager.url}, repost_interval_ms: 1000, retry_base_ms: 100, retry_max_delay_ms: 400 }`;
  const first = await suite.daemon('restart', { alerting: ALERTING, sinks: hooks });
  await first.ready();
  // The start-up line names the native kernel set beside the backend (this CPU's, as the addon reports it).
  const line = /Selected the inference backend\..*/.exec(first.log)?.[0] ?? '';
  const backend = /backend=(\w+)/.exec(line)?.[1];
  if (backend === 'native') assert.match(line, new RegExp(`kernels=${loadNativeAddon().kernels ?? 'missing'}\\b`));
  else assert.doesNotMatch(line, /kernels=/, `no kernel set for backend ${String(backend)}`);
  console.log(`start-up line: ${line}`);
  const pub = await suite.publisher('alertstate-restart');
  const stream = 'line1/pump1';
  const topic = 'plant/line1/pump1/telemetry';
  const samples = series(90, 10, 70);

  await publish(pub, topic, samples.slice(0, 40));
  const flatline = await waitForHook('SensorFlatline firing', 'SensorFlatline', stream, 'firing', first);
  assert.equal(flatline.labels['severity'], 'warning');
  // Nothing more is sent: after stall_after_ms (4 s) the stream is stalled.
  const stalled = await waitForHook('IngestionStalled firing', 'IngestionStalled', stream, 'firing', first);
  const active = (): Promise<string[]> => getAlerts(alertmanager.url).then((all) => all.filter((a) => a.labels['stream'] === stream).map((a) => a.labels['alertname'] ?? '').sort());
  await pollUntil('both alerts active in Alertmanager', active, (a) => a.includes('IngestionStalled') && a.includes('SensorFlatline'));
  // A second pump, healthy (a full window: only a stream that completed one pages a stall) and sending until
  // the stop; it never sends again (its gateway died meanwhile).
  await publish(pub, 'plant/line1/pump2/telemetry', series(35, 1000));
  await pollUntil('the second pump taken', () => first.metric('anomalyd_samples_total'), (v) => v >= 75);
  assert.equal((await first.stop()).code, 0);
  assert.equal(of('IngestionStalled', 'line1/pump2').length, 0, 'the second pump was not stalled before the stop');
  // How long the first process's last posts keep the alerts active (their endsAt): a later endsAt can only come
  // from the second process re-asserting them.
  const endsAt = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await getAlerts(alertmanager.url)).filter((x) => x.labels['stream'] === stream).map((x) => [x.labels['alertname'] ?? '', Date.parse(x.endsAt)]));
  const lastOfFirst = await endsAt();
  assert.ok(lastOfFirst['IngestionStalled'] > 0 && lastOfFirst['SensorFlatline'] > 0, `both alerts posted by the first process: ${JSON.stringify(lastOfFirst)}`);

  const second = suite.restart(first);
  await second.ready();
  assert.match(second.log, /Restored alert state\./);
  // Re-asserted by the second process (endsAt beyond the first's) while the stream has sent nothing yet.
  await pollUntil(
    'both alerts re-asserted by the restarted daemon',
    endsAt,
    (e) => e['IngestionStalled'] > lastOfFirst['IngestionStalled'] && e['SensorFlatline'] > lastOfFirst['SensorFlatline'],
    20_000,
  );
  const stillActive = await active();
  assert.ok(stillActive.includes('IngestionStalled') && stillActive.includes('SensorFlatline'), `re-asserted after the restart (active: ${stillActive.join(',')})`);
  // Bound from the state file at start, the silent pump raises its stall alert without ever sending again.
  const silent = await waitForHook('IngestionStalled firing for the silent pump', 'IngestionStalled', 'line1/pump2', 'firing', second);
  assert.ok(Date.parse(silent.startsAt) >= Date.now() - 30_000, 'silence counted from the restart');
  // Still stuck: the samples are taken (counted) and the flatline goes on without a second page.
  await publish(pub, topic, samples.slice(40, 70));
  await pollUntil('the samples after the restart', () => second.metric('anomalyd_samples_total'), (v) => v >= 30);
  const stallResolved = await waitForHook('IngestionStalled resolved', 'IngestionStalled', stream, 'resolved', second);
  assert.equal(stallResolved.fingerprint, stalled.fingerprint);
  assert.equal(stallResolved.startsAt, stalled.startsAt, 'the resolve of the alert paged before the restart');
  assert.equal(stallResolved.annotations['resolve_reason'], undefined, 'resolved by its condition clearing');
  assert.equal(of('SensorFlatline', stream, 'resolved').length, 0, 'still stuck: not resolved');

  // The sensor moves again.
  await publish(pub, topic, samples.slice(70, 90));
  const flatResolved = await waitForHook('SensorFlatline resolved', 'SensorFlatline', stream, 'resolved', second);
  assert.equal(flatResolved.fingerprint, flatline.fingerprint);
  assert.equal(flatResolved.startsAt, flatline.startsAt);
  assert.equal(Date.parse(flatResolved.endsAt), samples[70].ts, 'resolved at the first moving sample');

  await pollUntil('both resolved in Alertmanager', active, (a) => !a.includes('IngestionStalled') && !a.includes('SensorFlatline'));
  // One page and one resolve each across both processes: no page storm, no lost resolve.
  for (const name of ['SensorFlatline', 'IngestionStalled']) {
    assert.deepEqual(of(name, stream).map((a) => a.status), ['firing', 'resolved'], `${name}: one firing, one resolve`);
  }
  console.log(`restart: SensorFlatline and IngestionStalled fired once before the restart, resolved once after it (${hookAlerts().length} notices in all)`);
});

test('reload: removing a stream resolves its firing anomaly, stall and sensor alerts with the reason (webhook and Alertmanager)', async () => {
  const httpPort = await freePort();
  const dir = path.join(suite.dir, 'reload');
  const configFile = path.join(suite.dir, 'reload.yaml');
  const sinks = `  webhooks:\n    - { name: oncall, url: ${suite.receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }
  alertmanager: { url: ${alertmanager.url}, repost_interval_ms: 60000, retry_base_ms: 100, retry_max_delay_ms: 400 }`;
  const text = (withSite2: boolean): string => {
    // A threshold far below any score: every window of the stream is anomalous.
    let yaml = pumpConfig({ httpPort, stateDir: dir, mqttUrl: suite.mosquitto.url, clientId: 'anomalyd-alertstate-reload', alerting: ALERTING, sinks, secondSite: withSite2 ? 'site2' : undefined });
    yaml = yaml.replace(/models: \{ pump: \{ path: ([^ ]+) \} \}/, 'models: { pump: { path: $1, threshold: 1e-9 } }');
    return yaml;
  };
  await writeFile(configFile, text(true));
  const d = new DaemonProcess(configFile, httpPort, suite.dir);
  try {
    await d.ready();
    const pub = await suite.publisher('alertstate-reload');
    const stream = 'site2/line1/pump1';
    await publish(pub, 'site2/line1/pump1/telemetry', series(60, 10));
    const names = ['AnomalyDetected', 'SensorFlatline', 'IngestionStalled'];
    const firing = new Map<string, HookAlert>();
    for (const name of names) firing.set(name, await waitForHook(`${name} firing`, name, stream, 'firing', d));
    const inAlertmanager = (): Promise<string[]> => getAlerts(alertmanager.url).then((all) => all.filter((a) => a.labels['stream'] === stream).map((a) => a.labels['alertname'] ?? '').sort());
    await pollUntil('the three alerts active in Alertmanager', inAlertmanager, (a) => a.length === 3);

    const before = await d.metric('anomalyd_config_reloads_total', { result: 'ok' });
    await writeFile(configFile, text(false));
    d.signal('SIGHUP');
    await pollUntil('the reload', () => d.metric('anomalyd_config_reloads_total', { result: 'ok' }), (v) => v === (Number.isNaN(before) ? 0 : before) + 1);
    assert.match(d.log, /Resolved the open alerts of a stream the reloaded configuration no longer has\..*stream=site2\/line1\/pump1/);

    for (const name of names) {
      const resolved = await waitForHook(`${name} resolved`, name, stream, 'resolved', d);
      const was = firing.get(name);
      assert.equal(resolved.fingerprint, was?.fingerprint, `${name}: the resolve of the paged alert`);
      assert.equal(resolved.startsAt, was?.startsAt);
      assert.match(resolved.annotations['resolve_reason'] ?? '', /Stream 'site2\/line1\/pump1' was removed from the configuration by a reload/);
      assert.match(resolved.annotations['summary'] ?? '', new RegExp(`${name} on stream site2/line1/pump1 closed`));
      assert.ok(Date.parse(resolved.endsAt) >= Date.parse(resolved.startsAt));
    }
    await pollUntil('the alerts resolved in Alertmanager (endsAt posted)', inAlertmanager, (a) => a.length === 0);
    assert.equal(await d.metric('anomalyd_alerts_firing'), 0);
    console.log(`reload: ${names.join(', ')} resolved with resolve_reason at the webhook; Alertmanager active alerts for the stream: 0`);
  } finally {
    await d.stop();
  }
});

test('start: the saved firing alert of a stream whose subscription was removed while stopped is resolved with the reason', async () => {
  const hooks = `  webhooks:\n    - { name: oncall, url: ${suite.receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`;
  const first = await suite.daemon('gone', { alerting: ALERTING, sinks: hooks }, (y) => y.replaceAll('plant/', 'gone/'));
  await first.ready();
  const pub = await suite.publisher('alertstate-gone');
  const stream = 'line1/pump7';
  await publish(pub, 'gone/line1/pump7/telemetry', series(40, 5));
  const fired = await waitForHook('SensorFlatline firing', 'SensorFlatline', stream, 'firing', first);
  // Still stuck when stopped; then the subscription is taken out of the file (new topic, new streams).
  assert.equal((await first.stop()).code, 0);
  const file = path.join(suite.dir, 'gone.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replaceAll('gone/', 'other/'));

  const second = suite.restart(first);
  await second.ready();
  const resolved = await waitForHook('SensorFlatline resolved', 'SensorFlatline', stream, 'resolved', second);
  assert.equal(resolved.fingerprint, fired.fingerprint);
  assert.equal(resolved.startsAt, fired.startsAt);
  assert.match(resolved.annotations['resolve_reason'] ?? '', /Stream 'line1\/pump7' is no longer monitored by this daemon/);
  assert.match(second.log, /Resolved the open alerts of a saved stream the configuration no longer produces\..*stream=line1\/pump7/);
  // Stopped, so state.json is the last word: the stream is forgotten, nothing of it is restored at the next start.
  assert.equal((await second.stop()).code, 0);
  const saved = JSON.parse(await readFile(path.join(suite.dir, 'gone', 'state.json'), 'utf8')) as { alerts: Record<string, unknown>; checks?: Record<string, unknown> };
  assert.equal(saved.alerts[stream], undefined);
  assert.equal(saved.checks?.[stream], undefined);
});
