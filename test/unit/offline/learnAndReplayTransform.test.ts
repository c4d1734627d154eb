// learnAndReplay (what evaluate nab/skab/mitdb run) with a transformed scale: learned beside the main model when
// the likelihood judges, not learned when it does not, and its scores change what the likelihood reports.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadDetectionConfig } from '../../../src/app/configFiles';
import { learnAndReplay, type LearnedReplay } from '../../../src/offline/learnAndReplay';
import { createRng, gaussian } from '../../../src/core/random';
import { selectBackend } from '../../../src/model/backend';

const ROWS = 900;
const TRAIN = 400;
let dir: string;
let times: Float64Array;
let values: Float32Array;

function config(transform: string, likelihood: boolean): string {
  return `defaults:
  window: { size: 8, hop: 1, max_gap_ms: 3600000, min_completeness: 0.5 }
  training: { encoder_units: [8], latent_units: 2, epochs: 8, batch_size: 32, validation_fraction: 0, patience: 0, seed: 1, ensemble: 1 }
  calibration:
    method: percentile
    percentile: 99
    likelihood: { enabled: ${likelihood}, average_windows: 3, history_windows: 1000, learning_windows: 100, threshold: 0.5, transform_scale: ${transform} }
`;
}

async function run(transform: string, likelihood = true): Promise<LearnedReplay> {
  const file = path.join(dir, `${transform}-${likelihood}.yaml`);
  await writeFile(file, config(transform, likelihood));
  return learnAndReplay({ id: 's', channels: ['v'] }, times, values, TRAIN, { detection: await loadDetectionConfig(file), backend: 'test', version: 'test' });
}

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-transform-replay-'));
  const rng = createRng(5);
  times = Float64Array.from({ length: ROWS }, (_, i) => i * 60_000);
  values = Float32Array.from({ length: ROWS }, (_, i) => 10 + Math.sin((2 * Math.PI * i) / 24) + 0.05 * gaussian(rng));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test('with transform_scale the run learns a transformed scale and the likelihood hears it', async () => {
  const plain = await run('none');
  const diff = await run('diff');
  assert.equal(plain.transformed, false);
  assert.equal(diff.transformed, true);
  assert.ok(diff.filtered);
  const differs = diff.score.some((s, i) => Math.abs(s - plain.score[i]) > 1e-9);
  assert.ok(differs, 'the third scale changes some window scores');
});

void test('without the likelihood no transformed scale is learned (nothing would judge it)', async () => {
  const r = await run('diff', false);
  assert.equal(r.transformed, false);
  assert.equal(r.filtered, false);
});
