// The convolutional autoencoder through the built binary, as a user runs it: `anomalyd train` with
// training.architecture conv1d on a small recording (a window of 20 samples: not a power of two), then
// `replay` of a recording with a fault finds it and names the faulty channel; the manifest records the
// architecture. `validate` refuses a window too short for the convolutions, naming the key.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type CliRun } from '../helpers/cli';
import { vibCurrentCsv } from '../helpers/synthetic';

let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(dir, args);
}

const config = (windowSize: number): string => `
defaults:
  window: { size: ${windowSize}, hop: 5, max_gap_ms: 5000, min_completeness: 0.9 }
  training:
    architecture: conv1d
    conv_filters: [8, 4]
    kernel_size: 5
    latent_units: 4
    epochs: 40
    batch_size: 32
    learning_rate: 0.005
    patience: 10
    seed: 3
  calibration: { method: percentile, percentile: 99.5 }
  alerting: { k: 2, n: 3, reset_windows: 2 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: pump
    channels: [vib_rms, current_a]
models:
  pump: { path: ./model }
`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-conv-cli-'));
  await writeFile(path.join(dir, 'config.yaml'), config(20));
  await writeFile(path.join(dir, 'short.yaml'), config(4));
  await writeFile(path.join(dir, 'train.csv'), vibCurrentCsv(1200, 1));
  await writeFile(path.join(dir, 'faulty.csv'), vibCurrentCsv(400, 3, 200));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('train with architecture conv1d writes a conv1d artifact; replay finds the injected fault and names its channel', async () => {
  const trained = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--input', 'train.csv', '--out', 'model', '--json');
  assert.equal(trained.code, 0, trained.stderr);
  const manifest = JSON.parse(await readFile(path.join(dir, 'model', 'manifest.json'), 'utf8')) as {
    architecture: { kind?: string; inputSize: number; conv?: unknown };
  };
  assert.equal(manifest.architecture.kind, 'conv1d');
  assert.equal(manifest.architecture.inputSize, 40);
  assert.deepEqual(manifest.architecture.conv, { filters: [8, 4], kernelSize: 5, stride: 2 });
  const topology = JSON.parse(await readFile(path.join(dir, 'model', 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { class_name: string }[] } } };
  assert.ok(topology.modelTopology.config.layers.some((l) => l.class_name === 'Conv1D'), 'model.json holds the convolutions');

  const r = await cli('replay', '--model', 'model', '--input', 'faulty.csv', '-c', 'config.yaml', '--out', 'scores.csv', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { windows: number; alerts: { start: string; top_channels: { channel: string }[] }[] };
  assert.equal(out.windows, (400 - 20) / 5 + 1);
  assert.ok(out.alerts.length >= 1, 'an alert fired');
  const faultStart = Date.parse('2026-01-01T00:00:00Z') + 200 * 1000;
  assert.ok(Date.parse(out.alerts[0].start) >= faultStart, `first alert ${out.alerts[0].start} is not before the fault`);
  assert.ok(Date.parse(out.alerts[0].start) < faultStart + 60_000, `first alert ${out.alerts[0].start} within a minute of the fault`);
  assert.equal(out.alerts[0].top_channels[0].channel, 'vib_rms');
});

test('validate refuses a window too short for the convolutions, naming the key', async () => {
  const r = await cli('validate', '-c', 'short.yaml');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /defaults\.training\.kernel_size: a window of 4 samples is shorter than the convolution kernel \(kernel_size 5\)/);
});
