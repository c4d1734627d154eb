import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { selectBackend } from '../../../src/model/backend';
import { elementError, Scorer } from '../../../src/model/scorer';
import type { WindowMatrix } from '../../../src/model/train';

before(async () => {
  await selectBackend();
});

function matrix(n: number, inputSize: number, fill: (i: number) => number): WindowMatrix {
  return { data: Float32Array.from({ length: n * inputSize }, (_, i) => fill(i)), n, inputSize };
}

test('scores every window and each channel share sums to 1', () => {
  const model = buildAutoencoder({ inputSize: 30, encoderUnits: [12], latentUnits: 4, seed: 3 });
  const scorer = new Scorer(model, { channels: 3, metric: 'mse', maxBatch: 4 });
  const scores = scorer.score(matrix(10, 30, (i) => (i % 7) / 7));
  assert.equal(scores.length, 10);
  for (const s of scores) {
    assert.ok(Number.isFinite(s.score) && s.score > 0);
    assert.equal(s.channelShares.length, 3);
    assert.ok(Math.abs(s.channelShares.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  }
  model.dispose();
});

test('mse score equals the mean squared difference to the reconstruction; shares follow the channel errors', () => {
  const model = buildAutoencoder({ inputSize: 8, encoderUnits: [], latentUnits: 2, seed: 4 });
  const scorer = new Scorer(model, { channels: 2, metric: 'mse' });
  const m = matrix(1, 8, (i) => (i % 2 === 0 ? 0 : 1));
  const recon = scorer.reconstruct(m);
  const err = Array.from(m.data, (x, i) => (x - recon[i]) ** 2);
  const [s] = scorer.score(m);
  assert.ok(Math.abs(s.score - err.reduce((a, b) => a + b) / 8) < 1e-6);
  const ch0 = err.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b);
  assert.ok(Math.abs(s.channelShares[0] - ch0 / err.reduce((a, b) => a + b)) < 1e-5);
  model.dispose();
});

test('no tensor leaks: numTensors unchanged after 1,000 scoring calls', () => {
  const model = buildAutoencoder({ inputSize: 20, encoderUnits: [10], latentUnits: 3, seed: 5 });
  const scorer = new Scorer(model, { channels: 2, metric: 'bce' });
  const m = matrix(5, 20, (i) => (i % 5) / 5);
  scorer.score(m); // first call may create lazily built state
  scorer.latent(m);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 1000; i++) scorer.score(m);
  for (let i = 0; i < 50; i++) {
    scorer.reconstruct(m);
    scorer.latent(m);
  }
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('refuses windows of the wrong size with a clear message', () => {
  const model = buildAutoencoder({ inputSize: 20, encoderUnits: [], latentUnits: 3, seed: 5 });
  const scorer = new Scorer(model, { channels: 1, metric: 'mse' });
  assert.throws(() => scorer.score(matrix(2, 19, () => 0.5)), /expects windows of 20 values/);
  model.dispose();
});

test('max_channel aggregate: the score is the largest per-channel mean error, so one faulty channel is not diluted', () => {
  const model = buildAutoencoder({ inputSize: 12, encoderUnits: [], latentUnits: 2, seed: 6 });
  const m = matrix(2, 12, (i) => (i % 4 === 3 ? 1 : 0.5));
  const mean = new Scorer(model, { channels: 4, metric: 'mse' }).score(m);
  const max = new Scorer(model, { channels: 4, metric: 'mse', aggregate: 'max_channel' }).score(m);
  const recon = new Scorer(model, { channels: 4, metric: 'mse' }).reconstruct(m);
  for (let w = 0; w < 2; w++) {
    const perChannel = [0, 1, 2, 3].map((c) => {
      let s = 0;
      for (let t = 0; t < 3; t++) s += (m.data[w * 12 + t * 4 + c] - recon[w * 12 + t * 4 + c]) ** 2;
      return s / 3;
    });
    assert.ok(Math.abs(max[w].score - Math.max(...perChannel)) < 1e-6);
    assert.ok(Math.abs(mean[w].score - perChannel.reduce((a, b) => a + b) / 4) < 1e-6);
    assert.deepEqual(Array.from(max[w].channelShares), Array.from(mean[w].channelShares));
  }
  model.dispose();
});

test('steps: score and shares are taken over the newest steps of each window only, for both aggregates', () => {
  const model = buildAutoencoder({ inputSize: 12, encoderUnits: [], latentUnits: 2, seed: 7 });
  const m = matrix(3, 12, (i) => ((i * 7) % 11) / 11);
  const recon = new Scorer(model, { channels: 3, metric: 'mse' }).reconstruct(m);
  const newest = (w: number, c: number): number => {
    let s = 0;
    for (let t = 2; t < 4; t++) s += (m.data[w * 12 + t * 3 + c] - recon[w * 12 + t * 3 + c]) ** 2;
    return s;
  };
  const max = new Scorer(model, { channels: 3, metric: 'mse', aggregate: 'max_channel', steps: 2 }).score(m);
  const mean = new Scorer(model, { channels: 3, metric: 'mse', steps: 2 }).score(m);
  for (let w = 0; w < 3; w++) {
    const perChannel = [0, 1, 2].map((c) => newest(w, c));
    const sum = perChannel.reduce((a, b) => a + b);
    assert.ok(Math.abs(max[w].score - Math.max(...perChannel) / 2) < 1e-6);
    assert.ok(Math.abs(mean[w].score - sum / 6) < 1e-6);
    perChannel.forEach((e, c) => assert.ok(Math.abs(max[w].channelShares[c] - e / sum) < 1e-5));
  }
  // As many steps as the window has (or more) is the whole-window score.
  const whole = new Scorer(model, { channels: 3, metric: 'mse' }).score(m);
  const all = new Scorer(model, { channels: 3, metric: 'mse', steps: 4 }).score(m);
  assert.deepEqual(all.map((s) => s.score), whole.map((s) => s.score));
  model.dispose();
});

test('steps: the element errors computed for the newest steps match the engine for every metric', () => {
  const model = buildAutoencoder({ inputSize: 10, encoderUnits: [], latentUnits: 2, seed: 8 });
  const m = matrix(2, 10, (i) => ((i * 3) % 7) / 7);
  for (const metric of ['mse', 'mae', 'bce'] as const) {
    // steps 4 of a 5-step window against the engine's own per-channel sums: the newest 4 plus the oldest step.
    const engine = new Scorer(model, { channels: 2, metric }).score(m);
    const recon = new Scorer(model, { channels: 2, metric }).reconstruct(m);
    const newest = new Scorer(model, { channels: 2, metric, steps: 4 }).score(m);
    for (let w = 0; w < 2; w++) {
      let oldest = 0;
      for (let j = 0; j < 2; j++) oldest += elementError(metric, m.data[w * 10 + j], recon[w * 10 + j]);
      assert.ok(Math.abs(engine[w].score * 10 - (newest[w].score * 8 + oldest)) < 1e-4, `${metric}: ${engine[w].score * 10} vs ${newest[w].score * 8 + oldest}`);
    }
  }
  model.dispose();
});
