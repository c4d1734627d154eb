// The embedded demo's detection (issue 3): every fault kind the simulator injects is detected by the demo
// configuration (config/default.yaml, models/pump) running as a real daemon behind a real Mosquitto. The faults
// are exactly those `anomalyd simulate --seed 1 --anomaly-every 1200 --fault-duration 60` injects into the
// demo's three pumps over its first 5.4 hours (16 faults, every kind at least once), published with their
// simulated timestamps as fast as the broker takes them. A fault is detected when an alert on its pump starts
// between its start and 60 s after its end; stuck sensors and spikes must raise their own sensor alerts.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { faultsBefore, PUMP_FAULT_KINDS, type FaultPlan } from '../../src/simulator/faults';
import { pumpPayload, pumpSamples, simAssets } from '../../src/simulator/signals';
import { DaemonProcess, HookReceiver, ROOT, pollUntil, publishAll } from '../helpers/faults';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const SPAN_S = 5.4 * 3600;
const SLACK_MS = 60_000;

let dir: string;
let mosquitto: Mosquitto;
const hook = new HookReceiver();
let daemon: DaemonProcess | undefined;
let publisher: MqttPublisher | undefined;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-demo-faults-'));
  [mosquitto] = await Promise.all([startMosquitto(), hook.start()]);
});

after(async () => {
  await publisher?.close().catch(() => undefined);
  await daemon?.stop();
  await hook.close();
  await mosquitto?.close();
  await rm(dir, { recursive: true, force: true });
});

/** config/default.yaml as shipped, pointed at the test's broker, without its simulator, paging a webhook. */
async function demoConfig(): Promise<string> {
  const text = await readFile(path.join(ROOT, 'config', 'default.yaml'), 'utf8');
  const edits: [string, string][] = [
    ['url: ${MQTT_URL:-mqtt://127.0.0.1:1883}', `url: ${mosquitto.url}\n  client_id: anomalyd-demo-faults`],
    ['embedded_broker: auto', 'embedded_broker: off'],
    // The demo's hours are published as history of a fixed date: no age limit for them.
    ['    decoder: json\n', '    decoder: json\n    timestamp: { max_age_ms: 0 }\n'],
    // The copy lives in a temp dir: relative paths would resolve there.
    ['path: ../models/pump_high', `path: ${path.join(ROOT, 'models', 'pump_high')}`],
    ['path: ../models/pump', `path: ${path.join(ROOT, 'models', 'pump')}`],
    ['  enabled: true\n  profile: pump', '  enabled: false\n  profile: pump'],
    ['sinks:\n  console:\n    enabled: true', `sinks:\n  console:\n    enabled: false\n  webhooks:\n    - { name: demo, url: ${hook.url} }`],
  ];
  return edits.reduce((t, [from, to]) => {
    assert.ok(t.includes(from), `config/default.yaml no longer contains ${JSON.stringify(from)}`);
    return t.replace(from, to);
  }, text);
}

interface Page {
  readonly asset: string;
  readonly alertname: string;
  readonly startsAt: number;
}

test('each simulator fault kind is detected by the demo configuration', async () => {
  const httpPort = await freePort();
  const configFile = path.join(dir, 'demo.yaml');
  await writeFile(configFile, await demoConfig());
  daemon = new DaemonProcess(configFile, httpPort, ROOT, { ...process.env, HTTP_PORT: String(httpPort), STATE_DIR: path.join(dir, 'var') });
  const d = daemon;
  await d.ready();

  const assets = simAssets('pump', 1, 3, 1);
  const plan: FaultPlan = { seed: 1, assets: assets.length, channels: 8, kinds: PUMP_FAULT_KINDS, startMs: T0, everyMs: 1_200_000, durationMs: 60_000 };
  const faults = faultsBefore(plan, T0 + SPAN_S * 1000);
  assert.deepEqual(new Set(faults.map((f) => f.kind)), new Set(PUMP_FAULT_KINDS), 'the span holds every fault kind');

  // As the simulator publishes: one message per pump per second, tick by tick.
  const series = assets.map((a, i) => pumpSamples(a.seed, T0, SPAN_S, faults.filter((f) => f.asset === i)));
  const messages = [];
  for (let t = 0; t < SPAN_S; t++) for (let i = 0; i < assets.length; i++) messages.push({ topic: assets[i].topic, payload: pumpPayload(series[i][t]) });
  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'demo-faults-publisher' });
  await publishAll(publisher, messages, 200);
  const expected = assets.length * (Math.floor((SPAN_S - 30) / 5) + 1);
  await pollUntil('every window scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= expected, 120_000, 500);

  // Pages: the first firing notice of each alert (an escalation repeats startsAt and fingerprint).
  const seen = new Set<string>();
  const pages: Page[] = [];
  for (const r of hook.delivered()) {
    for (const a of r.body.alerts as unknown as { status: string; fingerprint: string; startsAt: string; labels: Record<string, string> }[]) {
      if (a.status !== 'firing' || seen.has(`${a.fingerprint}@${a.startsAt}`)) continue;
      seen.add(`${a.fingerprint}@${a.startsAt}`);
      pages.push({ asset: a.labels['stream'] ?? '', alertname: a.labels['alertname'] ?? '', startsAt: Date.parse(a.startsAt) });
    }
  }
  const report: string[] = [];
  const missed: string[] = [];
  for (const f of faults) {
    const asset = assets[f.asset].id;
    // By their start in the signal, not by arrival: a sensor notice leaves with its sample, an anomaly notice when
    // its window's batch is scored, so which of two arrives first depends on the event loop, not on detection.
    const hits = pages.filter((p) => p.asset === asset && p.startsAt >= f.startMs && p.startsAt < f.endMs + SLACK_MS).sort((a, b) => a.startsAt - b.startsAt);
    const hit = hits[0];
    report.push(`${f.kind.padEnd(13)} ${asset} ${hits.length > 0 ? hits.map((h) => `${h.alertname} after ${(h.startsAt - f.startMs) / 1000} s`).join(', ') : 'MISSED'}`);
    if (!hit) missed.push(`${f.kind} on ${asset} at +${(f.startMs - T0) / 1000} s`);
    if (hit && f.kind === 'stuck_sensor') assert.ok(hits.some((h) => h.alertname === 'SensorFlatline'), `a stuck sensor raises a sensor alert: ${report.at(-1)}`);
    if (hit && f.kind === 'spikes') assert.ok(hits.some((h) => h.alertname === 'SensorSpikes'), `spikes raise a sensor alert: ${report.at(-1)}`);
  }
  const falseAlarms = pages.filter((p) => !faults.some((f) => assets[f.asset].id === p.asset && p.startsAt >= f.startMs && p.startsAt < f.endMs + SLACK_MS));
  console.log(`demo faults: ${faults.length} faults, ${pages.length} pages, ${falseAlarms.length} false alarms\n${report.join('\n')}`);
  assert.deepEqual(missed, [], 'every fault detected');
  assert.deepEqual(falseAlarms, [], 'no page outside a fault');
});
