// Auto-learning with an ensemble and a coarse time scale through the real daemon: the worker trains both
// scales' networks, saves them beside the model (members/, coarse/), the stream is scored through the
// likelihood with both scales, and after a restart the daemon loads them again instead of learning anew.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadLearnedModel } from '../../src/model/learnedModel';
import { EnsembleDetector } from '../../src/model/ensemble';
import { selectBackend } from '../../src/model/backend';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/sources/simulator';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TOPIC = 'plant/line7/pump7/telemetry';
let dir: string;
let mosquitto: Mosquitto;
let daemon: ChildProcess | undefined;
let log = '';
let httpPort: number;
let publisher: MqttPublisher;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ').pop()) : NaN;
}

async function start(): Promise<void> {
  log = '';
  const d = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js'), 'run', '-c', path.join(dir, 'config.yaml')], { cwd: dir });
  d.stdout?.on('data', (b: Buffer) => (log += b.toString()));
  d.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  daemon = d;
  await waitFor(() => /anomalyd is running/.test(log), 'daemon start', 30_000, () => log);
}

async function stop(): Promise<void> {
  const d = daemon;
  if (!d || d.exitCode !== null) return;
  const exited = new Promise((r) => d.once('exit', r));
  d.kill('SIGTERM');
  await exited;
}

async function scoredAtLeast(n: number): Promise<number> {
  let scored = 0;
  const deadline = Date.now() + 20_000;
  while (!((scored = await metric('anomalyd_windows_scored_total')) >= n) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return scored;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-autolearn-scales-'));
  mosquitto = await startMosquitto();
  httpPort = await freePort();
  await writeFile(
    path.join(dir, 'config.yaml'),
    `
http: { port: ${httpPort} }
state_dir: ${dir}/var
mqtt: { url: ${mosquitto.url}, client_id: anomalyd-autolearn-scales, embedded_broker: off }
defaults:
  window: { size: 20, hop: 10, sample_period_ms: 1000 }
  training: { encoder_units: [16], latent_units: 4, epochs: 4, auto_learn_windows: 40, seed: 3, ensemble: 2 }
  calibration:
    method: percentile
    percentile: 99
    likelihood: { enabled: true, average_windows: 2, history_windows: 100, learning_windows: 10, coarse_pool: 2 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: auto
    channels: [${PUMP_CHANNELS.join(', ')}]
`,
  );
  await start();
  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'autolearn-scales-publisher' });
});

after(async () => {
  await publisher?.close();
  await stop();
  await mosquitto?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the worker learns two networks per scale and the coarse scale, saved beside the model', async () => {
  const t0 = Date.now() - 3 * 3600_000;
  // 40 windows of 20 with hop 10 are 410 samples: 371 pooled windows of 20 x 2 for the coarse scale.
  for (const s of pumpSamples(7, t0, 1200)) await publisher.publish(TOPIC, pumpPayload(s), 1);
  await waitFor(() => /Learned a model; scoring starts/.test(log), 'auto-learned model', 90_000, () => log.slice(-3000));
  assert.match(log, /Learned a model; scoring starts.* coarse=true/);
  const [learned] = await readdir(path.join(dir, 'var', 'models'));
  const modelDir = path.join(dir, 'var', 'models', learned);
  for (const part of ['', 'members/1', 'coarse', 'coarse/members/1']) assert.ok(existsSync(path.join(modelDir, part, 'manifest.json')), `${part || '.'}/manifest.json`);
  await selectBackend();
  const { detector, coarse } = await loadLearnedModel(modelDir);
  try {
    assert.ok(detector instanceof EnsembleDetector && detector.members.length === 2);
    assert.ok(coarse instanceof EnsembleDetector && coarse.members.length === 2);
    assert.equal(coarse.manifest.name.endsWith('/coarse'), true);
    assert.notEqual(detector.members[0].manifest.training.seed, detector.members[1].manifest.training.seed);
  } finally {
    detector.dispose();
    coarse?.dispose();
  }
  const before = await metric('anomalyd_windows_scored_total');
  for (const s of pumpSamples(7, t0 + 1200_000, 300)) await publisher.publish(TOPIC, pumpPayload(s), 1);
  const scored = await scoredAtLeast(before + 30);
  assert.ok(scored >= before + 30, `windows after learning are scored (${before} -> ${scored})`);
});

test('after a restart the learned scales are loaded, not learned again', async () => {
  await stop();
  await start();
  const t0 = Date.now() - 3600_000;
  for (const s of pumpSamples(7, t0, 300)) await publisher.publish(TOPIC, pumpPayload(s), 1);
  const scored = await scoredAtLeast(25);
  assert.ok(scored >= 25, `scored ${scored} windows with the saved model`);
  assert.doesNotMatch(log, /Collecting windows to learn a model/);
});
