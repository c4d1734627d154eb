// Auto-learning and reload through the real daemon: a stream whose model is "auto" collects its first windows,
// trains in a worker thread while ingestion goes on, then is scored; SIGHUP reloads without stopping.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '..', '..', '..');
let dir: string;
let mosquitto: Mosquitto;
let daemon: ChildProcess;
let log = '';
let httpPort: number;
let publisher: MqttPublisher;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ').pop()) : NaN;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-autolearn-'));
  mosquitto = await startMosquitto();
  httpPort = await freePort();
  await writeFile(
    path.join(dir, 'config.yaml'),
    `
http: { port: ${httpPort} }
state_dir: ${dir}/var
mqtt: { url: ${mosquitto.url}, client_id: anomalyd-autolearn, embedded_broker: off }
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
`,
  );
  daemon = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js'), 'run', '-c', path.join(dir, 'config.yaml')], { cwd: dir });
  daemon.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  daemon.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await waitFor(() => /anomalyd is running/.test(log), 'daemon start', 30_000, () => log);
  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'autolearn-publisher' });
});

after(async () => {
  await publisher?.close();
  if (daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  await mosquitto?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a stream without a model learns one from its first windows in a worker, then is scored', async () => {
  const t0 = Date.now() - 3 * 3600_000;
  // 40 windows of 20 with hop 10 need 410 samples; send more while training runs.
  for (const s of pumpSamples(5, t0, 1200)) await publisher.publish('plant/line9/pump9/telemetry', pumpPayload(s), 1);
  await waitFor(() => /Learned a model; scoring starts/.test(log), 'auto-learned model', 60_000, () => log.slice(-3000));
  const learned = await readdir(path.join(dir, 'var', 'models'));
  assert.equal(learned.length, 1);
  assert.ok(existsSync(path.join(dir, 'var', 'models', learned[0], 'manifest.json')));
  for (const s of pumpSamples(5, t0 + 1200_000, 300)) await publisher.publish('plant/line9/pump9/telemetry', pumpPayload(s), 1);
  // 300 more samples give 30 more windows, all scored by the learned model.
  let scored = 0;
  const deadline = Date.now() + 15_000;
  while ((scored = await metric('anomalyd_windows_scored_total')) < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(scored >= 30, `windows after learning are scored (got ${scored})`);
});

test('SIGHUP reloads models and keeps running', async () => {
  daemon.kill('SIGHUP');
  await waitFor(() => /Reloaded the configuration/.test(log), 'reload', 10_000, () => log.slice(-2000));
  const ready = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
  assert.equal(ready.status, 200);
  assert.equal(daemon.exitCode, null);
});
