// The convolutional autoencoder (architecture conv1d): the output has the input's shape for window sizes that
// are not powers of two; a window too short for the kernel or the strides is refused with the words config
// validation uses; wasm's convolution gradients (wasmConvGrad.ts) equal tfjs cpu's; a trained conv1d detector
// finds a fault on the right channel, its per-channel shares summing to one and its errors adding up to the
// score, and a save/load round trip scores identically; an ensemble with a coarse scale of conv1d networks
// saves and loads as a learned model. Runs on the backend selectBackend picks (conv1d on the native addon:
// convNative.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { convWindowProblem } from '../../../src/core/convShape';
import { createRng } from '../../../src/core/random';
import { MANIFEST_FILE, saveArtifact } from '../../../src/model/artifact';
import { selectBackend } from '../../../src/model/backend';
import { trainCoarseDetector } from '../../../src/model/coarseModel';
import { buildConvAutoencoder } from '../../../src/model/convAutoencoder';
import { Detector } from '../../../src/model/detector';
import { EnsembleDetector, trainEnsemble } from '../../../src/model/ensemble';
import { trainDetector } from '../../../src/model/fitDetector';
import { loadLearnedModel, saveLearnedModel } from '../../../src/model/learnedModel';
import type { Manifest } from '../../../src/model/manifest';
import { buildNetwork } from '../../../src/model/network';
import { ensureWasmConvGradient, filterGradient } from '../../../src/model/wasmConvGrad';
import { sineWindows, withFault } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

const CONV = { filters: [8, 4], kernelSize: 5 };
let dir: string;

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-conv-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function uniform(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng());
}

test('the output has the input shape for window sizes that are not powers of two', () => {
  for (const [steps, channels, filters] of [[30, 8, [32, 16]], [144, 1, [32, 16]], [13, 3, [8, 4]], [64, 2, [8, 4, 4]], [7, 1, [4]]] as const) {
    const d = steps * channels;
    const model = buildConvAutoencoder({ inputSize: d, channels, conv: { filters, kernelSize: 7 }, latentUnits: 4, seed: 1 });
    try {
      assert.deepEqual(model.inputs[0].shape, [null, d]);
      assert.deepEqual(model.outputs[0].shape, [null, d], `${steps} x ${channels}`);
      const out = tf.tidy(() => (model.predict(tf.tensor2d(uniform(3 * d, steps), [3, d])) as tf.Tensor).dataSync());
      assert.equal(out.length, 3 * d);
      assert.ok(out.every((v) => v > 0 && v < 1), 'sigmoid output');
    } finally {
      model.dispose();
    }
  }
});

test('a window too short for the kernel or the strides is refused, in the words validate uses', () => {
  const build = (steps: number, conv: { filters: number[]; kernelSize: number }): unknown =>
    buildNetwork({ kind: 'conv1d', inputSize: steps * 2, channels: 2, encoderUnits: [], conv, latentUnits: 2, seed: 1 });
  const short = { filters: [8, 4], kernelSize: 7 };
  assert.throws(() => build(6, short), (err: Error) => err instanceof RangeError && err.message.includes(convWindowProblem(6, short) as string));
  assert.match(convWindowProblem(6, short) as string, /shorter than the convolution kernel \(kernel_size 7\)/);
  const deep = { filters: [4, 4, 4, 4], kernelSize: 3 };
  assert.match(convWindowProblem(12, deep) as string, /too short for 4 stride-2 convolution layers .* at least 16/);
  assert.throws(() => build(12, deep), /at least 16/);
  assert.equal(convWindowProblem(16, deep), undefined);
  assert.throws(() => build(30, { filters: [], kernelSize: 3 }), /at least one encoder layer/);
  assert.throws(() => buildNetwork({ kind: 'conv1d', inputSize: 60, channels: 2, encoderUnits: [], latentUnits: 2, seed: 1 }), /needs its convolution layers/);
  assert.throws(() => buildConvAutoencoder({ inputSize: 60, channels: 2, conv: { filters: [4], kernelSize: 3 }, latentUnits: 60, seed: 1 }), /bottleneck \(60\) must be smaller than the input \(60\)/);
});

test("wasm's convolution gradients (wasmConvGrad.ts) equal tfjs cpu's, on both paths (matrix product, direct loop)", async () => {
  const before = tf.getBackend();
  await import('@tensorflow/tfjs-backend-wasm');
  assert.ok(await tf.setBackend('wasm'), 'the wasm backend starts');
  ensureWasmConvGradient();
  try {
    const cases: { x: [number, number, number, number]; filter: [number, number, number, number]; stride: [number, number]; pad: 'same' | 'valid' }[] = [
      { x: [3, 30, 1, 8], filter: [7, 1, 8, 32], stride: [2, 1], pad: 'same' },
      { x: [2, 15, 1, 32], filter: [7, 1, 32, 16], stride: [2, 1], pad: 'same' },
      { x: [2, 16, 1, 16], filter: [7, 1, 16, 3], stride: [1, 1], pad: 'same' },
      { x: [2, 13, 1, 3], filter: [5, 1, 3, 8], stride: [1, 1], pad: 'valid' },
      { x: [2, 9, 6, 2], filter: [3, 2, 2, 9], stride: [2, 2], pad: 'same' },
    ];
    for (const [i, c] of cases.entries()) {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad, undefined, false, 'channelsLast');
      const x = uniform(c.x.reduce((a, b) => a * b, 1), i + 1).map((v) => (v < 0.3 ? 0 : v - 0.5));
      const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[3]] as [number, number, number, number];
      const dy = uniform(dyShape.reduce((a, b) => a * b, 1), i + 11).map((v) => v - 0.5);
      const w = uniform(c.filter.reduce((a, b) => a * b, 1), i + 21).map((v) => v - 0.5);
      const common = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
      const run = async (backend: string): Promise<{ dW: Float32Array; dx: Float32Array }> => {
        await tf.setBackend(backend);
        return tf.tidy(() => ({
          dW: tf.engine().runKernel<tf.Tensor>('Conv2DBackpropFilter', { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape) }, { ...common, filterShape: c.filter }).dataSync() as Float32Array,
          dx: tf.engine().runKernel<tf.Tensor>('Conv2DBackpropInput', { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, c.filter) }, { ...common, inputShape: c.x }).dataSync() as Float32Array,
        }));
      };
      const want = await run('cpu');
      const got = await run('wasm');
      const worst = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k])), 0);
      assert.equal(got.dW.length, want.dW.length);
      assert.ok(worst(got.dW, want.dW) < 1e-4, `case ${i}: filter gradient differs by ${worst(got.dW, want.dW)}`);
      assert.ok(worst(got.dx, want.dx) < 1e-4, `case ${i}: input gradient differs by ${worst(got.dx, want.dx)}`);
      const direct = filterGradient(x, dy, info);
      assert.ok(worst(direct, want.dW) < 1e-4, `case ${i}: direct loop differs by ${worst(direct, want.dW)}`);
    }
  } finally {
    await tf.setBackend(before);
  }
});

test('a conv1d detector: learns, flags a fault on the right channel, shares sum to one, save/load scores identically', async () => {
  const window = { size: 30, hop: 6, maxGapMs: 5000, minCompleteness: 0.9 };
  const spec = tinyDetectorSpec({
    name: 'conv-test',
    stream: { id: 'line1/pump1', channels: ['a', 'b', 'c'] },
    window,
    architecture: 'conv1d',
    conv: CONV,
    latentUnits: 6,
    train: { epochs: 25, learningRate: 0.005 },
  });
  const { detector, history, cleanScores } = await trainDetector(sineWindows(240, 30, 3, 1), spec);
  assert.ok(history.loss[history.loss.length - 1] < history.loss[0], `training loss falls (${history.loss[0]} -> ${history.loss.at(-1)})`);
  assert.equal(detector.manifest.architecture.kind, 'conv1d');
  assert.deepEqual(detector.manifest.architecture.conv, { filters: [8, 4], kernelSize: 5, stride: 2 });
  assert.deepEqual(detector.manifest.architecture.encoderUnits, []);
  assert.ok(cleanScores.every(Number.isFinite));

  const faulty = sineWindows(10, 30, 3, 77).map((w) => withFault(w, 2, 6));
  const scored = detector.score(faulty);
  assert.ok(scored.every((s) => s.anomalous), `a step of 2 ranges on channel c is anomalous (scores ${scored.map((s) => s.score.toFixed(4)).join(' ')}, threshold ${detector.threshold})`);
  assert.ok(scored.every((s) => s.channelShares[2] > 0.5), 'channel c carries most of the error');
  for (const s of scored) assert.ok(Math.abs(s.channelShares.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'shares sum to one');
  // The engine's per-channel sums add up to the window total (mean metric), the same bookkeeping as the dense model.
  const m = detector.toMatrix(faulty, false);
  const { perChannel, total } = detector.scorer.engine.errors(m.data, m.n);
  for (let i = 0; i < m.n; i++) {
    const sum = perChannel[3 * i] + perChannel[3 * i + 1] + perChannel[3 * i + 2];
    assert.ok(Math.abs(sum / m.inputSize - total[i]) <= 1e-5 * Math.max(1, total[i]), `window ${i}: channel sums ${sum / m.inputSize} vs total ${total[i]}`);
  }

  const target = path.join(dir, 'conv');
  await saveArtifact(target, detector.model, detector.manifest);
  const saved = JSON.parse(await readFile(path.join(target, MANIFEST_FILE), 'utf8')) as Manifest;
  assert.equal(saved.architecture.kind, 'conv1d');
  const loaded = await Detector.load(target, { channels: ['a', 'b', 'c'] });
  try {
    assert.deepEqual(loaded.score(faulty).map((s) => s.score), scored.map((s) => s.score));
    assert.deepEqual(Array.from(loaded.denoise(faulty.slice(0, 2))), Array.from(detector.denoise(faulty.slice(0, 2))));
    assert.equal(loaded.latent(faulty.slice(0, 2)).latentSize, 6);
  } finally {
    loaded.dispose();
    detector.dispose();
  }
});

test('an ensemble of conv1d networks with a coarse scale trains, saves as a learned model and loads scoring the same', async () => {
  const stream = { id: 's', channels: ['a', 'b'] };
  const window = { size: 24, hop: 6, maxGapMs: 5000, minCompleteness: 0.9 };
  const spec = tinyDetectorSpec({ name: 'conv-ensemble', stream, window, architecture: 'conv1d', conv: CONV });
  const steps = 1000;
  const times = Float64Array.from({ length: steps }, (_, i) => i * 1000);
  const values = Float32Array.from({ length: steps * 2 }, (_, k) => Math.sin((2 * Math.PI * Math.floor(k / 2)) / (k % 2 ? 17 : 11)) + 0.05 * (k % 7));
  const { detector } = await trainEnsemble(sineWindows(120, 24, 2, 5), spec, 2);
  const coarse = (await trainCoarseDetector(spec, 2, times, values, 2))?.detector;
  assert.ok(detector instanceof EnsembleDetector && detector.members.length === 2);
  assert.ok(coarse instanceof EnsembleDetector, 'the coarse scale is a conv1d ensemble too');
  assert.equal(coarse.manifest.architecture.kind, 'conv1d');
  const target = path.join(dir, 'learned');
  await saveLearnedModel(target, { detector, coarse });
  const loaded = await loadLearnedModel(target, { channels: ['a', 'b'] });
  try {
    assert.ok(loaded.detector instanceof EnsembleDetector && loaded.detector.members.length === 2);
    assert.ok(loaded.detector.members.every((m) => m.manifest.architecture.kind === 'conv1d'));
    const probe = sineWindows(6, 24, 2, 9);
    assert.deepEqual(loaded.detector.score(probe).map((s) => s.score), detector.score(probe).map((s) => s.score));
    assert.deepEqual(loaded.coarse?.score(probe).map((s) => s.score), coarse.score(probe).map((s) => s.score));
  } finally {
    loaded.detector.dispose();
    loaded.coarse?.dispose();
    detector.dispose();
    coarse.dispose();
  }
});
