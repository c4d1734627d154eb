// End to end through the built binary (dist/main.js), as a user runs it: train -> calibrate -> replay, and
// evaluate ucr, on small synthetic fixtures written by the test.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createRng, gaussian } from '../../src/core/random';
import { runCli, type CliRun } from '../helpers/cli';
import { vibCurrentCsv } from '../helpers/synthetic';

let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(dir, args);
}

const CONFIG = `
defaults:
  window: { size: 20, hop: 5, max_gap_ms: 5000, min_completeness: 0.9 }
  training:
    encoder_units: [16]
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
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-cli-'));
  await writeFile(path.join(dir, 'config.yaml'), CONFIG);
  await writeFile(path.join(dir, 'train.csv'), vibCurrentCsv(1200, 1));
  await writeFile(path.join(dir, 'clean.csv'), vibCurrentCsv(600, 2));
  await writeFile(path.join(dir, 'faulty.csv'), vibCurrentCsv(400, 3, 200));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('train writes the artifact and report.html and prints one JSON object', async () => {
  const r = await cli('train', '-c', 'config.yaml', '--stream', 'line1/pump1', '--input', 'train.csv', '--out', 'model', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out.stream, 'line1/pump1');
  assert.equal(out.windows, (1200 - 20) / 5 + 1);
  assert.ok((out.threshold as number) > 0);
  for (const f of ['model.json', 'weights.bin', 'manifest.json', 'report.html']) assert.ok(existsSync(path.join(dir, 'model', f)), f);
  const html = await readFile(path.join(dir, 'model', 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  const manifest = JSON.parse(await readFile(path.join(dir, 'model', 'manifest.json'), 'utf8')) as { channels: string[] };
  assert.deepEqual(manifest.channels, ['vib_rms', 'current_a']);
});

test('calibrate sets a new threshold from clean data', async () => {
  const r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '99', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { threshold: number; windows: number; exceed_fraction: number; method: string };
  assert.equal(out.method, 'percentile');
  assert.equal(out.windows, (600 - 20) / 5 + 1);
  assert.ok(out.exceed_fraction <= 0.02);
});

test('replay finds the injected fault, names the faulty channel, writes scores, denoised signal and latent codes', async () => {
  const r = await cli(
    'replay', '--model', 'model', '--input', 'faulty.csv', '-c', 'config.yaml',
    '--out', 'scores.csv', '--denoised-out', 'denoised.csv', '--latent-out', 'latent.csv', '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { windows: number; alerts: { start: string; top_channels: { channel: string }[] }[]; anomalous_windows: number };
  assert.equal(out.windows, (400 - 20) / 5 + 1);
  assert.ok(out.alerts.length >= 1, 'an alert fired');
  const faultStart = Date.parse('2026-01-01T00:00:00Z') + 200 * 1000;
  assert.ok(Date.parse(out.alerts[0].start) >= faultStart, `first alert ${out.alerts[0].start} is not before the fault`);
  assert.equal(out.alerts[0].top_channels[0].channel, 'vib_rms');

  const scores = (await readFile(path.join(dir, 'scores.csv'), 'utf8')).trim().split('\n');
  assert.equal(scores[0], 'window_start,window_end,score,threshold,p_value,anomalous,alert,completeness,share_vib_rms,share_current_a');
  assert.equal(scores.length - 1, out.windows);
  const denoised = (await readFile(path.join(dir, 'denoised.csv'), 'utf8')).trim().split('\n');
  assert.equal(denoised.length - 1, 400);
  assert.equal(denoised[0], 'timestamp,vib_rms,current_a');
  const [, vib] = denoised[50].split(',').map(Number);
  assert.ok(Math.abs(vib - (2 + Math.sin((2 * Math.PI * 49) / 20))) < 0.6, `denoised value ${vib} follows the clean signal`);
  const latent = (await readFile(path.join(dir, 'latent.csv'), 'utf8')).trim().split('\n');
  assert.equal(latent[0], 'window_end,z1,z2,z3,z4');
  assert.equal(latent.length - 1, out.windows);
});

test('bad input: CSV errors name file:line and exit 1; a mismatched or missing model is refused clearly', async () => {
  await writeFile(path.join(dir, 'bad.csv'), 'timestamp,vib_rms,current_a\n2026-01-01T00:00:00Z,1,2\n2026-01-01T00:00:01Z,oops,2\n');
  let r = await cli('replay', '--model', 'model', '--input', 'bad.csv');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.csv:3: .*"oops"/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');

  await writeFile(path.join(dir, 'short.csv'), 'timestamp,vib_rms,current_a\n2026-01-01T00:00:00Z,1\n');
  r = await cli('replay', '--model', 'model', '--input', 'short.csv');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /short\.csv:2: expected 3 columns, got 2/);

  await writeFile(path.join(dir, 'nan.csv'), 'timestamp,vib_rms,current_a\n2026-01-01T00:00:00Z,NaN,2\n');
  r = await cli('replay', '--model', 'model', '--input', 'nan.csv');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nan\.csv:2: /);

  await writeFile(path.join(dir, 'other.csv'), 'timestamp,temperature_c\n2026-01-01T00:00:00Z,1\n');
  r = await cli('replay', '--model', 'model', '--input', 'other.csv');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /other\.csv.*vib_rms/);

  r = await cli('replay', '--model', 'no-such-model', '--input', 'clean.csv');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Model 'no-such-model': cannot read manifest\.json: not found/);
});

test('evaluate ucr on a small synthetic UCR file prints the contract fields', async () => {
  const rng = createRng(9);
  const row = (label: number): string => {
    const phase = rng() * 0.3;
    const values = Array.from({ length: 32 }, (_, t) =>
      label === 1 ? Math.sin(phase + (2 * Math.PI * t) / 32) : Math.sign(Math.sin(phase + (4 * Math.PI * t) / 32)),
    ).map((v) => (v + 0.05 * gaussian(rng)).toExponential(7));
    return [label.toExponential(7), ...values].join('  ');
  };
  const file = (normal: number, abnormal: number): string =>
    [...Array.from({ length: normal }, () => row(1)), ...Array.from({ length: abnormal }, () => row(2))].join('\n') + '\n';
  await writeFile(path.join(dir, 'ucr_train.txt'), file(80, 20));
  await writeFile(path.join(dir, 'ucr_test.txt'), file(30, 30));
  const r = await cli('evaluate', 'ucr', '--train', 'ucr_train.txt', '--test', 'ucr_test.txt', '-c', 'config.yaml', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, number | string>;
  assert.deepEqual(Object.keys(out), ['dataset', 'n_train', 'n_test', 'threshold', 'accuracy', 'precision', 'recall', 'f1', 'roc_auc']);
  assert.equal(out.dataset, 'ucr');
  assert.equal(out.n_train, 80);
  assert.equal(out.n_test, 60);
  assert.ok((out.roc_auc as number) > 0.95, `separable shapes give a high AUC (got ${out.roc_auc})`);
});

test('usage errors exit 2 and print the usage', async () => {
  const r = await cli('train', '--stream', 'x');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Missing required option --config/);
  assert.match(r.stderr, /Usage: anomalyd train/);
});
