// Trimmed training (training.trim_fraction, or training.trim_fence where the data decides): after a first fit the
// worst-reconstructed windows are dropped and the model is refitted from its initial weights on the rest, so
// anomalies already present in the learning data stay expensive to reconstruct. Runs on whichever engine the backend selects (the native addon here when it is
// built); the last test runs this file again in a child process on the wasm backend, so both engines are covered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../src/core/random';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { currentBackend, selectBackend } from '../../../src/model/backend';
import { Scorer } from '../../../src/model/scorer';
import { trainAutoencoder, type TrainOptions, type WindowMatrix } from '../../../src/model/train';

const SIZE = 32;
const N_NORMAL = 255;
const N_ODD = 45;

before(async () => {
  await selectBackend();
});

/** 255 sine windows (period 16, random phase) and, at random rows, 45 (15%) of another kind: a fast square wave (period 5), also at random phase. */
function contaminated(seed: number, oddWindows = N_ODD): { data: WindowMatrix; odd: boolean[] } {
  const rng = createRng(seed);
  const n = N_NORMAL + oddWindows;
  const data = new Float32Array(n * SIZE);
  const odd = Array.from({ length: n }, (_, i) => i < oddWindows);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [odd[i], odd[j]] = [odd[j], odd[i]];
  }
  for (let i = 0; i < n; i++) {
    const phase = rng() * 2 * Math.PI;
    for (let t = 0; t < SIZE; t++) {
      data[i * SIZE + t] = odd[i] ? 0.5 + 0.4 * Math.sign(Math.sin(phase + (2 * Math.PI * t) / 5)) : 0.5 + 0.4 * Math.sin(phase + (2 * Math.PI * t) / 16);
    }
  }
  return { data: { data, n, inputSize: SIZE }, odd };
}

const OPTS: TrainOptions = {
  loss: 'bce',
  epochs: 40,
  batchSize: 32,
  learningRate: 0.01,
  validationFraction: 0,
  patience: 0,
  seed: 5,
  noise: { gaussianSigma: 0.02, maskFraction: 0, saltPepperFraction: 0 },
};

/** Mean error of the odd windows over the mean error of the sines, after training with `trim` (or the fence `fence`). */
async function contrast(trim: number, fence = 0, oddWindows = N_ODD): Promise<{ ratio: number; trimmed: number; trainWindows: number; epochs: number[] }> {
  const { data, odd } = contaminated(3, oddWindows);
  const model = buildAutoencoder({ inputSize: SIZE, encoderUnits: [32], latentUnits: 2, seed: 9 });
  const epochs: number[] = [];
  const tensors = tf.memory().numTensors;
  const h = await trainAutoencoder(model, data, { ...OPTS, trimFraction: trim, trimFence: fence }, (e) => {
    epochs.push(e.epoch);
    // A fixed share always refits; the fence refits (and says so from its second pass on) only when needed.
    assert.equal(e.epochs, trim > 0 || e.epoch > OPTS.epochs ? 2 * OPTS.epochs : OPTS.epochs);
  });
  assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind by either fit (optimizer state included)');
  const scores = new Scorer(model, { channels: 1, metric: 'mse' }).score(data).map((s) => s.score);
  model.dispose();
  const mean = (want: boolean): number => {
    const xs = scores.filter((_, i) => odd[i] === want);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  return { ratio: mean(true) / mean(false), trimmed: h.trimmedWindows, trainWindows: h.trainWindows, epochs };
}

void test(`trimming keeps the learning data's rare windows expensive to reconstruct (${process.env.ANOMALYD_BACKEND ?? 'default backend'})`, async () => {
  const plain = await contrast(0);
  const trimmed = await contrast(0.15);
  assert.equal(plain.trimmed, 0);
  assert.equal(plain.trainWindows, N_NORMAL + N_ODD);
  assert.deepEqual(plain.epochs, Array.from({ length: OPTS.epochs }, (_, i) => i + 1));
  // 15% of 300 windows: the refit sees 255, and reports its epochs after the first fit's.
  assert.equal(trimmed.trimmed, 45);
  assert.equal(trimmed.trainWindows, 255);
  assert.deepEqual(trimmed.epochs, Array.from({ length: 2 * OPTS.epochs }, (_, i) => i + 1));
  assert.ok(
    trimmed.ratio > 2 * plain.ratio,
    `odd/normal error ratio ${trimmed.ratio.toFixed(1)} with trimming vs ${plain.ratio.toFixed(1)} without (backend ${currentBackend()?.name})`,
  );
});

void test('the fence trims what the data holds beyond it, and clean data costs one fit', async () => {
  // 20 odd windows in 275 (7 %): far above the sines' errors after the first fit, so beyond the fence.
  const fenced = await contrast(0, 3, 20);
  const plain = await contrast(0, 0, 20);
  assert.equal(fenced.trimmed, 20, 'the odd windows, and only they, are dropped');
  assert.equal(fenced.trainWindows, N_NORMAL);
  assert.ok(fenced.ratio > 2 * plain.ratio, `odd/normal error ratio ${fenced.ratio.toFixed(1)} with the fence vs ${plain.ratio.toFixed(1)} without`);
  const clean = await contrast(0, 3, 0);
  assert.equal(clean.trimmed, 0);
  assert.deepEqual(clean.epochs, Array.from({ length: OPTS.epochs }, (_, i) => i + 1), 'no refit on clean data');
});

void test('trimming is reproducible with a fixed seed and rejects a fraction outside [0, 1)', async () => {
  const a = await contrast(0.15);
  const b = await contrast(0.15);
  assert.equal(a.ratio, b.ratio);
  const { data } = contaminated(3);
  const model = buildAutoencoder({ inputSize: SIZE, encoderUnits: [32], latentUnits: 2, seed: 9 });
  await assert.rejects(trainAutoencoder(model, data, { ...OPTS, trimFraction: 1 }), /trimFraction must be in \[0, 1\)/);
  await assert.rejects(trainAutoencoder(model, data, { ...OPTS, trimFraction: -0.1 }), /trimFraction/);
  model.dispose();
});

void test('the same on the tfjs engine (this file again, in a child process on the wasm backend)', { skip: process.env.ANOMALYD_BACKEND === 'wasm' }, () => {
  // Without NODE_TEST_CONTEXT the child reports in plain TAP on its own stdout instead of to this runner.
  const env: NodeJS.ProcessEnv = { ...process.env, ANOMALYD_BACKEND: 'wasm' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', '--test-name-pattern=rare windows', __filename], {
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `child run failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /# pass 1/);
});
