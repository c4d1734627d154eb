// The native addon against the tfjs reference: same scores (1e-5 relative) for every metric, batch size and
// kernel set this CPU runs; the same first-step gradients as tfjs's autodiff; Adam as tfjs computes it; a
// native-trained model saved and reloaded scores the same on both engines; and the automatic fallback to tfjs
// when the addon is disabled. Skips itself where the addon was not built (no C++ compiler at install).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../src/core/random';
import { loadArtifact, saveArtifact } from '../../../src/model/artifact';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { DenseAutoencoder } from '../../../src/model/denseNetwork';
import type { ScoreMetric } from '../../../src/model/engineTypes';
import { loadNativeAddon } from '../../../src/model/nativeAddon';
import { NativeScoring, NativeTraining } from '../../../src/model/nativeEngine';
import { TfjsScoring, TfjsTraining } from '../../../src/model/tfjsEngine';
import { trainDetector } from '../../../src/model/fitDetector';
import { NO_NOISE } from '../../../src/model/noise';
import { sineWindows } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';
import { maxRelative, perturbWeights, tfjsGradient, uniform } from './tfjsReference';

const native = loadNativeAddon();
const skip = native.addon ? false : `native addon not available: ${native.problem}`;
const KERNEL_SETS = ['generic', 'avx2', 'avx512'].filter((k) => native.addon?.kernels(k) != null);

before(async () => {
  // The reference: tfjs on its fastest pure backend (wasm), whatever selectBackend would pick.
  if (!(await tf.setBackend('wasm').catch(() => false))) await tf.setBackend('cpu');
});

/** A model with random (non-zero) biases too, so every parameter matters. */
function randomModel(inputSize: number, encoderUnits: number[], latentUnits: number, seed: number): tf.LayersModel {
  return perturbWeights(buildAutoencoder({ inputSize, encoderUnits, latentUnits, seed }), seed);
}

test('scores equal the tfjs reference within 1e-5 relative (batch 1, 7, 256; mse, mae, bce; every kernel set)', { skip }, () => {
  assert.ok(KERNEL_SETS.includes('generic'), 'the portable kernels always run');
  const d = 140;
  const model = randomModel(d, [128, 64], 16, 7);
  for (const metric of ['mse', 'mae', 'bce'] as ScoreMetric[]) {
    for (const channels of [1, 4]) {
      const reference = new TfjsScoring(model, { channels, metric });
      for (const kernels of KERNEL_SETS) {
        const engine = new NativeScoring(model, { channels, metric }, kernels);
        for (const n of [1, 7, 256]) {
          const x = uniform(n * d, n * 31 + channels);
          const want = reference.errors(x, n);
          const got = engine.errors(x, n);
          const where = `${metric}, ${channels} channel(s), ${kernels}, batch ${n}`;
          assert.ok(maxRelative(got.total, want.total) < 1e-5, `window scores (${where}): ${maxRelative(got.total, want.total)}`);
          assert.ok(maxRelative(got.perChannel, want.perChannel) < 1e-5, `channel sums (${where})`);
        }
      }
    }
  }
  model.dispose();
});

test('reconstruction and latent code equal tfjs within 1e-5 (odd sizes: padding and row tails)', { skip }, () => {
  const d = 30;
  const model = randomModel(d, [13], 5, 3);
  const reference = new TfjsScoring(model, { channels: 3, metric: 'mse' });
  for (const kernels of KERNEL_SETS) {
    const engine = new NativeScoring(model, { channels: 3, metric: 'mse' }, kernels);
    const x = uniform(19 * d, 5);
    assert.equal(engine.latentSize, reference.latentSize);
    const recon = engine.reconstruct(x, 19);
    const want = reference.reconstruct(x, 19);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(recon[i] - want[i]) <= 1e-5 * Math.abs(want[i]), `reconstruction ${i} (${kernels})`);
    const latent = engine.latent(x, 19);
    const wantLatent = reference.latent(x, 19);
    for (let i = 0; i < wantLatent.length; i++) assert.ok(Math.abs(latent[i] - wantLatent[i]) <= 1e-5 * Math.max(Math.abs(wantLatent[i]), 1e-3), `latent ${i} (${kernels})`);
  }
  model.dispose();
});

test('scoring follows the model when its weights change (setWeights after the engine was made)', { skip }, () => {
  const model = randomModel(20, [8], 3, 9);
  const engine = new NativeScoring(model, { channels: 1, metric: 'mse' });
  const x = uniform(4 * 20, 1);
  const first = engine.errors(x, 4).total;
  model.setWeights(randomModel(20, [8], 3, 10).getWeights());
  const second = engine.errors(x, 4).total;
  const want = new TfjsScoring(model, { channels: 1, metric: 'mse' }).errors(x, 4).total;
  assert.notDeepEqual(second, first);
  assert.ok(maxRelative(second, want) < 1e-5);
  model.dispose();
});

test('first-step gradients match tfjs autodiff (bce and mse, every kernel set)', { skip }, () => {
  const d = 36;
  const n = 50;
  const x = uniform(n * d, 21);
  const t = uniform(n * d, 22);
  for (const loss of ['bce', 'mse'] as const) {
    const model = randomModel(d, [24, 12], 6, 5);
    const want = tfjsGradient(model, x, t, n, loss);
    for (const kernels of KERNEL_SETS) {
      const got = new NativeTraining(model, { loss, learningRate: 0.001 }, kernels).gradient(x, t, n);
      assert.ok(Math.abs(got.loss - want.loss) < 1e-5 * want.loss, `${loss} loss ${got.loss} vs ${want.loss} (${kernels})`);
      got.gradient.forEach((g, i) => {
        const scale = Math.max(...want.gradient[i].map(Math.abs));
        const worst = Math.max(...g.map((v, j) => Math.abs(v - want.gradient[i][j])));
        assert.ok(scale > 0 && worst <= 1e-4 * scale, `${loss} gradient of weight ${i} (${kernels}): max error ${worst} at scale ${scale}`);
      });
    }
    model.dispose();
  }
});

test('one epoch of one batch is one Adam step as tfjs computes it (w - lr * g / (|g| + 1e-7))', { skip }, async () => {
  const d = 16;
  const n = 32;
  const model = randomModel(d, [8], 3, 2);
  const x = uniform(n * d, 1);
  const lr = 0.01;
  const engine = new NativeTraining(model, { loss: 'bce', learningRate: lr });
  const before = engine.snapshot();
  const { gradient } = engine.gradient(x, x, n);
  await engine.fitEpoch(x, x, n, n);
  engine.snapshot().forEach((w, i) => {
    w.forEach((v, j) => {
      const g = gradient[i][j];
      const want = before[i][j] - (lr * g) / (Math.abs(g) + 1e-7);
      assert.ok(Math.abs(v - want) <= 1e-6 + 1e-5 * Math.abs(want), `weight ${i}[${j}]: ${v} vs ${want}`);
    });
  });
  model.dispose();
});

test('the shallow form (no hidden layer: input -> bottleneck -> output) scores and trains as tfjs does', { skip }, async () => {
  const d = 30;
  const model = randomModel(d, [], 4, 5);
  const want = new TfjsScoring(model, { channels: 1, metric: 'bce' }).errors(uniform(7 * d, 3), 7);
  const got = new NativeScoring(model, { channels: 1, metric: 'bce' }, 'generic').errors(uniform(7 * d, 3), 7);
  assert.ok(maxRelative(got.total, want.total) < 1e-5, `shallow scores: ${maxRelative(got.total, want.total)}`);
  const data = uniform(64 * d, 9);
  const nativeModel = buildAutoencoder({ inputSize: d, encoderUnits: [], latentUnits: 4, seed: 2 });
  const tfjsModel = buildAutoencoder({ inputSize: d, encoderUnits: [], latentUnits: 4, seed: 2 });
  assert.equal(nativeModel.layers.filter((l) => l.getClassName() === 'Dense').length, 2, 'one layer each side');
  const nativeLoss = await new NativeTraining(nativeModel, { loss: 'bce', learningRate: 0.01 }).fitEpoch(data, data, 64, 64);
  const tfjsLoss = await new TfjsTraining(tfjsModel, { loss: 'bce', learningRate: 0.01 }).fitEpoch(data, data, 64, 64);
  assert.ok(Math.abs(nativeLoss - tfjsLoss) < 1e-4 * tfjsLoss, `first step: ${nativeLoss} vs ${tfjsLoss}`);
  for (const m of [model, nativeModel, tfjsModel]) m.dispose();
});

test('native training lowers the loss like tfjs does, and restores the weights into the tfjs model', { skip }, async () => {
  const d = 32;
  const n = 256;
  const rng = createRng(4);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const phase = rng() * 2 * Math.PI;
    for (let k = 0; k < d; k++) data[i * d + k] = 0.5 + 0.4 * Math.sin(phase + (2 * Math.PI * k) / 16);
  }
  const nativeModel = buildAutoencoder({ inputSize: d, encoderUnits: [16], latentUnits: 4, seed: 8 });
  const tfjsModel = buildAutoencoder({ inputSize: d, encoderUnits: [16], latentUnits: 4, seed: 8 });
  const nativeEngine = new NativeTraining(nativeModel, { loss: 'bce', learningRate: 0.01 });
  const tfjsEngine = new TfjsTraining(tfjsModel, { loss: 'bce', learningRate: 0.01 });
  const nativeLoss: number[] = [];
  const tfjsLoss: number[] = [];
  for (let epoch = 0; epoch < 20; epoch++) {
    nativeLoss.push(await nativeEngine.fitEpoch(data, data, n, 32));
    tfjsLoss.push(await tfjsEngine.fitEpoch(data, data, n, 32));
  }
  assert.ok(Math.abs(nativeLoss[0] - tfjsLoss[0]) < 1e-4 * tfjsLoss[0], `first epoch: ${nativeLoss[0]} vs ${tfjsLoss[0]}`);
  const drop = (l: number[]): number => l[0] - l[l.length - 1];
  assert.ok(drop(nativeLoss) > 0.5 * drop(tfjsLoss) && drop(nativeLoss) < 2 * drop(tfjsLoss), `native ${nativeLoss.join(' ')} / tfjs ${tfjsLoss.join(' ')}`);
  assert.ok(Math.abs(nativeEngine.validationLoss(data, n) - nativeLoss[nativeLoss.length - 1]) < 0.05);

  nativeEngine.restore(nativeEngine.snapshot());
  const viaTfjs = new TfjsTraining(nativeModel, { loss: 'bce', learningRate: 0.01 }).validationLoss(data, n);
  assert.ok(Math.abs(viaTfjs - nativeEngine.validationLoss(data, n)) < 1e-5, 'the tfjs model holds the natively trained weights');
  nativeModel.dispose();
  tfjsModel.dispose();
});

test('a natively trained model saved as an artifact loads and scores the same on tfjs and natively', { skip }, async () => {
  // A valid manifest and model from the ordinary training path (one epoch), then native training on top.
  const spec = tinyDetectorSpec({
    name: 'native-roundtrip',
    stream: { id: 's', channels: ['a', 'b'] },
    window: { size: 12, hop: 4, maxGapMs: 5000, minCompleteness: 0.9 },
    encoderUnits: [8],
    latentUnits: 3,
    train: { loss: 'mse', epochs: 1, batchSize: 16, noise: NO_NOISE },
    calibration: null,
    anomalydVersion: '0.0.0-test',
  });
  const { detector } = await trainDetector(sineWindows(64, 12, 2, 3), spec);
  const d = 24;
  const data = uniform(64 * d, 9);
  const trained = detector.model;
  assert.ok(!(trained instanceof DenseAutoencoder), 'training builds a tfjs model');
  const engine = new NativeTraining(trained, { loss: 'mse', learningRate: 0.01 });
  for (let i = 0; i < 3; i++) await engine.fitEpoch(data, data, 64, 16);
  engine.restore(engine.snapshot());
  const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-native-'));
  try {
    await saveArtifact(dir, detector.model, detector.manifest);
    const { model } = await loadArtifact(dir);
    assert.ok(!(model instanceof DenseAutoencoder), 'no backend was selected in this process: tfjs builds the model');
    const want = new TfjsScoring(trained, { channels: 2, metric: 'mse' }).errors(data, 64).total;
    assert.ok(maxRelative(new TfjsScoring(model, { channels: 2, metric: 'mse' }).errors(data, 64).total, want) < 1e-6);
    assert.ok(maxRelative(new NativeScoring(model, { channels: 2, metric: 'mse' }).errors(data, 64).total, want) < 1e-5);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
    detector.dispose();
  }
});

interface ChildChoice {
  name: string;
  skipped: string[];
  kernels?: string;
  /** The engine a Scorer made after selectBackend uses, and its first score. */
  engine: string;
  score: number;
}

/** selectBackend in a fresh process (it chooses once per process) with extra environment, then one Scorer. */
function selectInChild(env: Record<string, string>): ChildChoice {
  const model = (m: string): string => JSON.stringify(path.join(__dirname, '..', '..', '..', 'src', 'model', m));
  const script = `
    const { selectBackend } = require(${model('backend.js')});
    const { buildAutoencoder } = require(${model('autoencoder.js')});
    const { Scorer } = require(${model('scorer.js')});
    selectBackend('auto').then((b) => {
      const scorer = new Scorer(buildAutoencoder({ inputSize: 8, encoderUnits: [], latentUnits: 2, seed: 1 }), { channels: 1, metric: 'mse' });
      const [s] = scorer.score({ data: new Float32Array(8).fill(0.25), n: 1, inputSize: 8 });
      process.stdout.write(JSON.stringify({ ...b, engine: scorer.engine.kind, score: s.score }));
    });`;
  const clean = { ...process.env };
  delete clean.ANOMALYD_BACKEND;
  delete clean.ANOMALYD_NATIVE;
  delete clean.ANOMALYD_NATIVE_KERNELS;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildChoice;
}

test('auto selects the native backend when the addon is built; disabled or unusable, it falls back to wasm and tfjs scores', { skip }, () => {
  const picked = selectInChild({});
  assert.ok(picked.name === 'native' || picked.name === 'tensorflow', `picked ${picked.name}`);
  if (picked.name === 'native') {
    assert.equal(picked.kernels, KERNEL_SETS[KERNEL_SETS.length - 1], 'the widest kernel set the CPU runs');
    assert.equal(picked.engine, 'native');
  }

  const disabled = selectInChild({ ANOMALYD_NATIVE: '0' });
  assert.ok(disabled.name === 'wasm' || disabled.name === 'tensorflow');
  assert.equal(disabled.engine, 'tfjs');
  if (disabled.name === 'wasm') assert.ok(disabled.skipped.some((s) => s.includes('ANOMALYD_NATIVE=0')), disabled.skipped.join('; '));
  assert.ok(Math.abs(disabled.score - picked.score) < 1e-5 * picked.score, 'same model, same score on either engine');

  const bogus = selectInChild({ ANOMALYD_NATIVE_KERNELS: 'avx9000' });
  assert.equal(bogus.engine, 'tfjs');
  if (bogus.name !== 'tensorflow') assert.ok(bogus.skipped.some((s) => s.includes("'avx9000'")), bogus.skipped.join('; '));

  const forced = selectInChild({ ANOMALYD_BACKEND: 'native', ANOMALYD_NATIVE_KERNELS: 'generic' });
  assert.deepEqual([forced.name, forced.kernels, forced.engine], ['native', 'generic', 'native']);
});
