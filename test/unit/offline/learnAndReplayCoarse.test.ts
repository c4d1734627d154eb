// learnAndReplay with a coarse time scale: an anomaly that every short window finds normal (the stream holds
// its daily peak for two "days") is plain in the pooled view, which sees two thirds of a day at once.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadDetectionConfig } from '../../../src/app/configFiles';
import { learnAndReplay, type LearnedReplay } from '../../../src/offline/learnAndReplay';
import { createRng, gaussian } from '../../../src/core/random';
import { selectBackend } from '../../../src/model/backend';

const DAY = 96;
const ROWS = 1600;
const TRAIN = 700;
/** A peak held from this row for two days. */
const HOLD_FROM = 1000 + DAY / 4;
const HOLD = [HOLD_FROM, HOLD_FROM + 2 * DAY] as const;
let dir: string;
let times: Float64Array;
let values: Float32Array;

function config(pool: number, ensemble: number): string {
  return `defaults:
  window: { size: 8, hop: 1, max_gap_ms: 3600000, min_completeness: 0.5 }
  training:
    encoder_units: [16, 8]
    latent_units: 4
    input_transform: none
    epochs: 30
    batch_size: 32
    learning_rate: 0.005
    validation_fraction: 0
    patience: 0
    seed: 1
    ensemble: ${ensemble}
    noise: { gaussian_sigma: 0.05, mask_fraction: 0, salt_pepper_fraction: 0 }
  calibration:
    method: percentile
    percentile: 99
    likelihood: { enabled: true, average_windows: 10, history_windows: 2000, learning_windows: 200, threshold: 0.5, suppress_windows: 0, coarse_pool: ${pool} }
  alerting: { k: 1, n: 1, reset_windows: 1, reset_ratio: 1, keep_firing_for_ms: 0, flap_max_starts: 0 }
`;
}

async function run(pool: number, ensemble = 1): Promise<LearnedReplay> {
  const file = path.join(dir, `p${pool}e${ensemble}.yaml`);
  await writeFile(file, config(pool, ensemble));
  const detection = await loadDetectionConfig(file);
  return learnAndReplay({ id: 'daily', channels: ['v'] }, times, values, TRAIN, { detection, backend: 'test', version: 'test' });
}

function maxIn(a: Float64Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) if (a[i] > m) m = a[i];
  return m;
}

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-coarse-'));
  const rng = createRng(21);
  times = Float64Array.from({ length: ROWS }, (_, i) => i * 300_000);
  values = Float32Array.from({ length: ROWS }, (_, i) => {
    const held = i >= HOLD[0] && i < HOLD[1];
    return 10 + (held ? 1 : Math.sin((2 * Math.PI * i) / DAY)) + 0.05 * gaussian(rng);
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test('a peak held for two days: missed by the short window alone, caught with the coarse scale', async () => {
  const fine = await run(0);
  const both = await run(8);
  assert.equal(fine.coarse, false);
  assert.equal(both.coarse, true);
  const during = [HOLD[0], HOLD[1] + 8 * 8] as const;
  const fineMax = maxIn(fine.score, ...during);
  const bothMax = maxIn(both.score, ...during);
  console.log(`held peak: short window ${fineMax.toFixed(3)}, with the coarse scale ${bothMax.toFixed(3)}`);
  assert.ok(fineMax < 0.5, `the short window alone scored ${fineMax} during the held peak`);
  assert.ok(bothMax >= 0.5, `with the coarse scale: ${bothMax}`);
  const starts = [...both.alertStarts.keys()].filter((r) => both.alertStarts[r] === 1);
  assert.ok(starts.some((r) => r >= during[0] && r < during[1]), `alert starts at ${starts.join(', ')}`);
  // Before the held peak the stream is its usual self: neither scale pages.
  assert.ok(starts.every((r) => r >= HOLD[0]), `alert starts at ${starts.join(', ')}`);
});

void test('too little learning data for the pooled windows: one scale, as without coarse_pool', async () => {
  const short = await learnAndReplay({ id: 'daily', channels: ['v'] }, times.subarray(0, 400), values.subarray(0, 400), 100, {
    detection: await loadDetectionConfig(path.join(dir, 'p8e1.yaml')),
    backend: 'test',
    version: 'test',
  });
  assert.equal(short.coarse, false);
  assert.ok(short.filtered);
});
