// `train` and `calibrate` through the built binary: a threshold that flags more than 1 % of its own clean
// windows is a warning (stderr and --json `warnings`), the text output shows the exceed share, and a
// percentile target in (0, 1] (a fraction typed for a percentile) is refused unless --force.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, type CliRun } from '../helpers/cli';
import { vibCurrentCsv } from '../helpers/synthetic';

let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(dir, args);
}

const config = (percentile: number): string => `
defaults:
  window: { size: 20, hop: 5, max_gap_ms: 5000, min_completeness: 0.9 }
  training: { encoder_units: [8], latent_units: 2, epochs: 3, batch_size: 32, seed: 3 }
  calibration: { method: percentile, percentile: ${percentile} }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    channels: [vib_rms, current_a]
`;

interface Result {
  threshold: number;
  exceed_fraction: number;
  warnings: string[];
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-calwarn-'));
  await writeFile(path.join(dir, 'loose.yaml'), config(60));
  await writeFile(path.join(dir, 'strict.yaml'), config(99.5));
  await writeFile(path.join(dir, 'train.csv'), vibCurrentCsv(500, 1));
  await writeFile(path.join(dir, 'clean.csv'), vibCurrentCsv(400, 2));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('train warns when its threshold flags more than 1 % of the training windows; the text shows the share', async () => {
  let r = await cli('train', '-c', 'loose.yaml', '--stream', 'line1/pump1', '--input', 'train.csv', '--out', 'model', '--no-report', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Result;
  assert.ok(out.exceed_fraction > 0.3, `percentile 60 flags ~40 % (got ${out.exceed_fraction})`);
  assert.equal(out.warnings.length, 1);
  assert.match(out.warnings[0], /flags \d+(\.\d+)? % of the 97 clean windows it was derived from/);
  assert.match(r.stderr, /^Warning: the threshold .* flags/m);

  r = await cli('train', '-c', 'strict.yaml', '--stream', 'line1/pump1', '--input', 'train.csv', '--out', 'model');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Model written to .* \(threshold [\d.e-]+, flags \d+(\.\d+)? % of the training windows/);
  assert.doesNotMatch(r.stderr, /Warning:/);
});

test('calibrate refuses a percentile target in (0, 1] unless --force, and then warns', async () => {
  let r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '0.999');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--target 0\.999: .*did you mean 99\.9 \(a percentile\)\?/);
  assert.match(r.stderr, /--force/);
  assert.match(r.stderr, /Usage: anomalyd calibrate/);
  r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '0.95');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /did you mean 95 \(a percentile\)\?/);
  r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '1');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--target 1: .*did you mean 99\.9 \(a percentile\)\?/);

  r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '0.999', '--force', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Result;
  assert.ok(out.exceed_fraction > 0.9, `the 0.999th percentile is exceeded by nearly all windows (got ${out.exceed_fraction})`);
  assert.equal(out.warnings.length, 1);
  assert.match(out.warnings[0], /of the 77 clean windows it was derived from \(more than 1 %\)/);
  assert.match(r.stderr, /^Warning: .*a percentile, not a fraction/m);
});

test('calibrate with a sensible percentile: no warning, the text output shows the exceed share', async () => {
  let r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '99.5', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Result;
  assert.deepEqual(out.warnings, []);
  assert.ok(Math.round(out.exceed_fraction * 77) <= 1, `at most the one window a percentile leaves above it (got ${out.exceed_fraction})`);
  assert.doesNotMatch(r.stderr, /Warning:/);

  r = await cli('calibrate', '--model', 'model', '--input', 'clean.csv', '--method', 'percentile', '--target', '99.5');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /threshold [\d.e-]+ \(flags \d+(\.\d+)? % of these windows\)/);
});
