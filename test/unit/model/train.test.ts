import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../src/core/random';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { selectBackend } from '../../../src/model/backend';
import { corrupt, NO_NOISE } from '../../../src/model/noise';
import { Scorer } from '../../../src/model/scorer';
import { trainAutoencoder, type TrainOptions, type WindowMatrix } from '../../../src/model/train';

before(async () => {
  await selectBackend();
});

/** Scaled sine windows (period 16) with random phase: a structure an autoencoder can learn. */
function sines(n: number, size: number, seed: number): WindowMatrix {
  const rng = createRng(seed);
  const data = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    const phase = rng() * 2 * Math.PI;
    for (let t = 0; t < size; t++) data[i * size + t] = 0.5 + 0.4 * Math.sin(phase + (2 * Math.PI * t) / 16);
  }
  return { data, n, inputSize: size };
}

const OPTS: TrainOptions = {
  loss: 'bce',
  epochs: 30,
  batchSize: 32,
  learningRate: 0.01,
  validationFraction: 0.2,
  patience: 5,
  seed: 11,
  noise: { gaussianSigma: 0.05, maskFraction: 0.05, saltPepperFraction: 0.01 },
};

test('corrupt: gaussian, masking and salt-and-pepper noise, clipped to [0, 1], seeded', () => {
  const clean = new Float32Array(10_000).fill(0.5);
  const a = new Float32Array(clean.length);
  const b = new Float32Array(clean.length);
  corrupt(clean, { gaussianSigma: 0.1, maskFraction: 0.1, saltPepperFraction: 0.05 }, createRng(1), a);
  corrupt(clean, { gaussianSigma: 0.1, maskFraction: 0.1, saltPepperFraction: 0.05 }, createRng(1), b);
  assert.deepEqual(a, b, 'same seed, same noise');
  assert.ok(a.every((v) => v >= 0 && v <= 1));
  const zeros = a.filter((v) => v === 0).length / a.length;
  assert.ok(zeros > 0.1 && zeros < 0.16, `masking 10% + half of 5% pepper gives ~12.5% zeros, got ${zeros}`);
  const out = new Float32Array(clean.length);
  corrupt(clean, NO_NOISE, createRng(1), out);
  assert.deepEqual(out, clean, 'no noise leaves the input unchanged');
  assert.ok(clean.every((v) => v === 0.5), 'the clean input (the target) is never modified');
});

test('training lowers the clean reconstruction error and reports its history', async () => {
  const data = sines(200, 32, 1);
  const model = buildAutoencoder({ inputSize: 32, encoderUnits: [16], latentUnits: 4, seed: 2 });
  const scorer = new Scorer(model, { channels: 1, metric: 'mse' });
  const mean = (): number => scorer.score(data).reduce((s, x) => s + x.score, 0) / data.n;
  const before = mean();
  const epochs: number[] = [];
  const h = await trainAutoencoder(model, data, OPTS, (e) => epochs.push(e.epoch));
  const after = mean();
  assert.ok(after < before / 5, `error fell from ${before} to ${after}`);
  assert.equal(h.loss.length, h.epochsRun);
  assert.equal(h.valLoss.length, h.epochsRun);
  assert.deepEqual(epochs, Array.from({ length: h.epochsRun }, (_, i) => i + 1));
  assert.equal(h.validationWindows, 40);
  assert.equal(h.trainWindows, 160);
  model.dispose();
});

test('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
  const data = sines(100, 32, 3);
  // A learning rate this high makes the validation loss bounce, so early stopping has something to do.
  const opts: TrainOptions = { ...OPTS, epochs: 200, patience: 3, learningRate: 0.05 };
  const model = buildAutoencoder({ inputSize: 32, encoderUnits: [16], latentUnits: 4, seed: 4 });
  const h = await trainAutoencoder(model, data, opts);
  assert.ok(h.stoppedEarly, 'stopped before 200 epochs');
  assert.equal(h.epochsRun, h.bestEpoch + opts.patience);
  const best = Math.min(...h.valLoss);
  assert.equal(h.valLoss[h.bestEpoch - 1], best);
  assert.ok(h.valLoss.slice(h.bestEpoch).every((v) => v >= best), 'no later epoch beat the kept one');
  model.dispose();
});

test('training is reproducible from its seed', async () => {
  const data = sines(60, 16, 5);
  const run = async (): Promise<number[]> => {
    const model = buildAutoencoder({ inputSize: 16, encoderUnits: [8], latentUnits: 2, seed: 6 });
    const h = await trainAutoencoder(model, data, { ...OPTS, epochs: 4 });
    model.dispose();
    return h.loss;
  };
  assert.deepEqual(await run(), await run());
});

test('no tensors leak from training', async () => {
  const data = sines(50, 16, 7);
  const model = buildAutoencoder({ inputSize: 16, encoderUnits: [8], latentUnits: 2, seed: 8 });
  const before = tf.memory().numTensors;
  await trainAutoencoder(model, data, { ...OPTS, epochs: 3 });
  // The optimizer keeps two moment tensors per weight (Adam); nothing else may remain.
  const weights = model.getWeights().length;
  assert.ok(tf.memory().numTensors - before <= 2 * weights + 2, `leaked ${tf.memory().numTensors - before - 2 * weights} tensors`);
  model.dispose();
});

test('pauses between epochs (pauseShare) change nothing but the time: the same losses, each pause 9 times the epoch before at 0.9', async () => {
  // Epochs of tens of milliseconds, so the clock's 1 ms steps do not decide the comparison below.
  const data = sines(4000, 64, 5);
  const run = async (pauseShare: number): Promise<{ loss: number[]; at: number[] }> => {
    const model = buildAutoencoder({ inputSize: 64, encoderUnits: [32], latentUnits: 4, seed: 6 });
    const at: number[] = [];
    const h = await trainAutoencoder(model, data, { ...OPTS, epochs: 3, patience: 0, pauseShare }, (e) => at.push(e.elapsedMs));
    model.dispose();
    return { loss: h.loss, at };
  };
  const plain = await run(0);
  const paused = await run(0.9);
  assert.deepEqual(paused.loss, plain.loss);
  // The first epoch ends at at[0] (with the set-up before it); the second ends after a pause of 9 times the first
  // epoch, and its own work: at least 5 times at[0] leaves room for the set-up.
  const [first, second] = paused.at;
  assert.ok(first >= 5, `an epoch takes time (${first} ms)`);
  assert.ok(second - first >= 5 * first, `epoch 1 ended at ${first} ms, epoch 2 ${second - first} ms later`);
});
