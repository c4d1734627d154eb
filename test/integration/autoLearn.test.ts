// Auto-learning and reload through the real daemon: a stream whose model is "auto" collects its first windows,
// trains in a worker thread while ingestion goes on, then is scored; SIGHUP reloads without stopping.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { MqttPublisher } from '../../src/sources/mqttClient';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { faultSuite, type DaemonProcess } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const suite = faultSuite('autolearn');
let daemon: DaemonProcess;
let stateDir: string;
let publisher: MqttPublisher;

/**
 * Starts the suite's daemon and its publisher. Called by the first test, not a before hook: Node 20 runs a file's
 * top-level before hooks side by side, so a second one cannot count on the broker faultSuite's hook starts.
 */
async function start(): Promise<void> {
  daemon = await suite.daemonFrom('autolearn', (at) => {
    stateDir = at.stateDir;
    return `
http: { port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-autolearn-${path.basename(at.stateDir)}, embedded_broker: off }
defaults:
  window: { size: 20, hop: 10, sample_period_ms: 1000 }
  training: { encoder_units: [32], latent_units: 4, epochs: 5, auto_learn_windows: 40, seed: 3 }
  calibration: { method: percentile, percentile: 99 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: auto
    channels: [${PUMP_CHANNELS.join(', ')}]
`;
  });
  await daemon.started();
  publisher = await suite.publisher('autolearn-publisher');
}

test('a stream without a model learns one from its first windows in a worker, then is scored', async () => {
  await start();
  const t0 = Date.now() - 3 * 3600_000;
  // 40 windows of 20 with hop 10 need 410 samples; send more while training runs.
  for (const s of pumpSamples(5, t0, 1200)) await publisher.publish('plant/line9/pump9/telemetry', pumpPayload(s), 1);
  await waitFor(() => /Learned a model; scoring starts/.test(daemon.log), 'auto-learned model', 60_000, () => daemon.log.slice(-3000));
  const learned = await readdir(path.join(stateDir, 'models'));
  assert.equal(learned.length, 1);
  assert.ok(existsSync(path.join(stateDir, 'models', learned[0], 'manifest.json')));
  for (const s of pumpSamples(5, t0 + 1200_000, 300)) await publisher.publish('plant/line9/pump9/telemetry', pumpPayload(s), 1);
  // 300 more samples give 30 more windows, all scored by the learned model.
  let scored = 0;
  const deadline = Date.now() + 15_000;
  while ((scored = await daemon.metric('anomalyd_windows_scored_total')) < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(scored >= 30, `windows after learning are scored (got ${scored})`);
});

test('SIGHUP reloads models and keeps running', async () => {
  assert.ok(daemon, 'needs the first test of this file (it starts the daemon); run the whole file');
  daemon.signal('SIGHUP');
  await waitFor(() => /Reloaded the configuration/.test(daemon.log), 'reload', 10_000, () => daemon.log.slice(-2000));
  const ready = await fetch(`${daemon.base}/healthz`);
  assert.equal(ready.status, 200);
  assert.ok(daemon.running, 'still running');
});
