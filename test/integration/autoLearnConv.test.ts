// Auto-learning with training.architecture conv1d through the real daemon and a real Mosquitto: a stream whose
// model is "auto" learns a convolutional model (the auto_learn profile's ensemble and coarse scale included) in
// the worker thread, saves it with architecture kind conv1d, and is scored by it; where the native addon is the
// selected backend, the addon trains and scores it: the manifest says so and no model falls back to tfjs.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { faultSuite } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const suite = faultSuite('autolearn-conv');

test('a stream learns a conv1d model in the worker, then is scored by it', async () => {
  let stateDir = '';
  const daemon = await suite.daemonFrom('autolearn-conv', (at) => {
    stateDir = at.stateDir;
    return `
http: { port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-autolearn-conv-${path.basename(at.stateDir)}, embedded_broker: off }
defaults:
  window: { size: 30, hop: 10, sample_period_ms: 1000 }
  training: { architecture: conv1d, conv_filters: [8, 4], kernel_size: 5, latent_units: 4, epochs: 5, auto_learn_windows: 40, seed: 3 }
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
  const publisher = await suite.publisher('autolearn-conv-publisher');
  const t0 = Date.now() - 3 * 3600_000;
  for (const s of pumpSamples(5, t0, 1200)) await publisher.publish('plant/line9/pump9/telemetry', pumpPayload(s), 1);
  await waitFor(() => /Learned a model; scoring starts/.test(daemon.log), 'auto-learned model', 120_000, () => daemon.log.slice(-3000));
  const [learned] = await readdir(path.join(stateDir, 'models'));
  const manifest = JSON.parse(await readFile(path.join(stateDir, 'models', learned, 'manifest.json'), 'utf8')) as { architecture: { kind?: string; inputSize: number }; backend: string };
  assert.equal(manifest.architecture.kind, 'conv1d');
  assert.equal(manifest.architecture.inputSize, 30 * PUMP_CHANNELS.length);
  const members = await readdir(path.join(stateDir, 'models', learned, 'members'));
  assert.equal(members.length, 2, 'the auto_learn profile: an ensemble of three conv1d networks');

  for (const s of pumpSamples(5, t0 + 1200_000, 300)) await publisher.publish('plant/line9/pump9/telemetry', pumpPayload(s), 1);
  let scored = 0;
  const deadline = Date.now() + 30_000;
  while ((scored = await daemon.metric('anomalyd_windows_scored_total')) < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(scored >= 30, `windows after learning are scored (got ${scored})`);
  assert.equal(await daemon.count('anomalyd_scoring_failures_total'), 0);
  if (/Selected the inference backend\.[^\n]*backend=native/.test(daemon.log)) {
    assert.equal(manifest.backend, 'native', 'the addon trained it');
    assert.doesNotMatch(daemon.log, /are scored and trained by tfjs/, 'no model fell back to tfjs');
  }
});
