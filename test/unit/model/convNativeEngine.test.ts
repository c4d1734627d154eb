// The native addon's conv1d network (ConvNet) against the tfjs model it mirrors: the same reconstructions,
// errors and latent codes for every kernel set, shape and batch size (odd window lengths, several channels,
// kernels of even and odd taps, one to three layers, batches larger than one pass); the same gradients as
// tfjs's autodiff; one Adam step as tfjs takes it; training that learns as tfjs's does; and a model whose layers
// differ from what convAutoencoder.ts builds refused with the reason, so tfjs computes it. Skips itself where
// the addon was not built (no C++ compiler at install).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRng } from '../../../src/core/random';
import { buildConvAutoencoder } from '../../../src/model/convAutoencoder';
import type { ScoreMetric } from '../../../src/model/engineTypes';
import { loadNativeAddon } from '../../../src/model/nativeAddon';
import { NativeScoring, NativeTraining, nativeUnsupported } from '../../../src/model/nativeEngine';
import { TfjsScoring, TfjsTraining } from '../../../src/model/tfjsEngine';
import { ensureWasmConvGradient } from '../../../src/model/wasmConvGrad';
import { maxRelative, perturbWeights, tfjsGradient, uniform } from './tfjsReference';

const native = loadNativeAddon();
const skip = native.addon ? false : `native addon not available: ${native.problem}`;
const KERNEL_SETS = ['generic', 'avx2', 'avx512'].filter((k) => native.addon?.kernels(k) != null);

before(async () => {
  // The reference: tfjs on wasm (with its convolution gradients, wasmConvGrad.ts), else the cpu backend.
  if (await tf.setBackend('wasm').catch(() => false)) ensureWasmConvGradient();
  else await tf.setBackend('cpu');
});

interface Shape {
  readonly steps: number;
  readonly channels: number;
  readonly filters: number[];
  readonly kernelSize: number;
  readonly latent: number;
}

const SHAPES: Shape[] = [
  { steps: 140, channels: 1, filters: [32, 16], kernelSize: 7, latent: 16 },
  { steps: 35, channels: 2, filters: [8, 4], kernelSize: 5, latent: 3 },
  { steps: 30, channels: 3, filters: [5, 7, 9], kernelSize: 3, latent: 4 },
  { steps: 24, channels: 1, filters: [4], kernelSize: 4, latent: 2 },
];

/** A conv1d model with random (non-zero) biases too, so every parameter matters. */
function randomModel(s: Shape, seed: number): tf.LayersModel {
  return perturbWeights(buildConvAutoencoder({ inputSize: s.steps * s.channels, channels: s.channels, conv: { filters: s.filters, kernelSize: s.kernelSize }, latentUnits: s.latent, seed }), seed);
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

test('conv1d scores, reconstructions and latent codes equal tfjs (every shape, metric, kernel set; batches 1, 7, 300)', { skip }, () => {
  assert.ok(KERNEL_SETS.includes('generic'), 'the portable kernels always run');
  for (const [i, s] of SHAPES.entries()) {
    const model = randomModel(s, 10 + i);
    assert.equal(nativeUnsupported(model), undefined, `shape ${i} runs natively`);
    const d = s.steps * s.channels;
    for (const n of [1, 7, 300]) {
      const x = uniform(n * d, n + i);
      for (const metric of ['mse', 'mae', 'bce'] as ScoreMetric[]) {
        const reference = new TfjsScoring(model, { channels: s.channels, metric });
        const want = reference.errors(x, n, true);
        for (const kernels of KERNEL_SETS) {
          const engine = new NativeScoring(model, { channels: s.channels, metric }, kernels);
          const got = engine.errors(x, n, true);
          const where = `shape ${i}, batch ${n}, ${metric}, ${kernels}`;
          assert.ok(maxAbs(got.reconstruction as Float32Array, want.reconstruction as Float32Array) < 1e-6, `${where}: reconstruction`);
          assert.ok(maxRelative(got.total, want.total) < 1e-4, `${where}: totals ${maxRelative(got.total, want.total)}`);
          assert.ok(maxAbs(got.perChannel, want.perChannel) < 1e-4 * d, `${where}: per-channel sums`);
          if (metric === 'mse') {
            assert.equal(engine.latentSize, s.latent);
            assert.ok(maxAbs(engine.latent(x, n), reference.latent(x, n)) < 1e-5, `${where}: latent`);
            assert.ok(maxAbs(engine.reconstruct(x, n), reference.reconstruct(x, n)) < 1e-6, `${where}: reconstruct`);
          }
        }
      }
    }
    model.dispose();
  }
});

test('conv1d gradients match tfjs autodiff (bce and mse, every shape and kernel set)', { skip }, () => {
  for (const [i, s] of SHAPES.entries()) {
    const model = randomModel(s, 20 + i);
    const d = s.steps * s.channels;
    const n = 37;
    const x = uniform(n * d, 5);
    const t = uniform(n * d, 6);
    for (const loss of ['bce', 'mse'] as const) {
      const want = tfjsGradient(model, x, t, n, loss);
      for (const kernels of KERNEL_SETS) {
        const got = new NativeTraining(model, { loss, learningRate: 0.001 }, kernels).gradient(x, t, n);
        assert.ok(Math.abs(got.loss - want.loss) < 1e-5 * want.loss, `shape ${i}, ${loss}, ${kernels}: loss ${got.loss} vs ${want.loss}`);
        want.gradient.forEach((w, k) => {
          const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(scale > 0 && maxAbs(got.gradient[k], w) <= 1e-4 * scale, `shape ${i}, ${loss}, ${kernels}: weight ${model.trainableWeights[k].name}`);
        });
      }
    }
    model.dispose();
  }
});

test('one conv1d epoch of one batch is one Adam step as tfjs takes it', { skip }, async () => {
  const s = SHAPES[1];
  const d = s.steps * s.channels;
  const n = 32;
  const x = uniform(n * d, 1);
  const nativeModel = randomModel(s, 3);
  const tfjsModel = randomModel(s, 3);
  const nativeEngine = new NativeTraining(nativeModel, { loss: 'bce', learningRate: 0.01 });
  const tfjsEngine = new TfjsTraining(tfjsModel, { loss: 'bce', learningRate: 0.01 });
  const nativeLoss = await nativeEngine.fitEpoch(x, x, n, n);
  const tfjsLoss = await tfjsEngine.fitEpoch(x, x, n, n);
  assert.ok(Math.abs(nativeLoss - tfjsLoss) < 1e-5 * tfjsLoss, `loss ${nativeLoss} vs ${tfjsLoss}`);
  const got = nativeEngine.snapshot();
  tfjsEngine.snapshot().forEach((w, k) => assert.ok(maxAbs(got[k], w) < 2e-5, `weight ${k} after the step: ${maxAbs(got[k], w)}`));
  tfjsEngine.dispose();
  nativeModel.dispose();
  tfjsModel.dispose();
});

test('native conv1d training learns a sine as tfjs does, and restores its best weights into the tfjs model', { skip }, async () => {
  const s: Shape = { steps: 32, channels: 1, filters: [8, 4], kernelSize: 5, latent: 4 };
  const n = 256;
  const rng = createRng(4);
  const data = new Float32Array(n * s.steps);
  for (let i = 0; i < n; i++) {
    const phase = rng() * 2 * Math.PI;
    for (let k = 0; k < s.steps; k++) data[i * s.steps + k] = 0.5 + 0.4 * Math.sin(phase + (2 * Math.PI * k) / 16);
  }
  const build = (): tf.LayersModel => buildConvAutoencoder({ inputSize: s.steps, channels: 1, conv: { filters: s.filters, kernelSize: s.kernelSize }, latentUnits: s.latent, seed: 8 });
  const nativeModel = build();
  const tfjsModel = build();
  const nativeEngine = new NativeTraining(nativeModel, { loss: 'bce', learningRate: 0.01 });
  const tfjsEngine = new TfjsTraining(tfjsModel, { loss: 'bce', learningRate: 0.01 });
  const nativeLoss: number[] = [];
  const tfjsLoss: number[] = [];
  for (let epoch = 0; epoch < 30; epoch++) {
    nativeLoss.push(await nativeEngine.fitEpoch(data, data, n, 32));
    tfjsLoss.push(await tfjsEngine.fitEpoch(data, data, n, 32));
  }
  assert.ok(Math.abs(nativeLoss[0] - tfjsLoss[0]) < 1e-3 * tfjsLoss[0], `first epoch: ${nativeLoss[0]} vs ${tfjsLoss[0]}`);
  const drop = (l: number[]): number => l[0] - l[l.length - 1];
  assert.ok(drop(nativeLoss) > 0.5 * drop(tfjsLoss) && drop(nativeLoss) < 2 * drop(tfjsLoss), `native ${nativeLoss.join(' ')} / tfjs ${tfjsLoss.join(' ')}`);

  nativeEngine.restore(nativeEngine.snapshot());
  const scoring = new NativeScoring(nativeModel, { channels: 1, metric: 'mse' });
  const sine = scoring.errors(data.subarray(0, 32 * s.steps), 32).total;
  const noise = scoring.errors(uniform(32 * s.steps, 9), 32).total;
  const mean = (a: Float32Array): number => a.reduce((m, v) => m + v, 0) / a.length;
  assert.ok(mean(sine) * 5 < mean(noise), `a sine reconstructs far better than noise (${mean(sine)} vs ${mean(noise)})`);
  const viaTfjs = new TfjsScoring(nativeModel, { channels: 1, metric: 'mse' }).errors(data.subarray(0, 32 * s.steps), 32).total;
  assert.ok(maxRelative(viaTfjs, sine) < 1e-4, 'the tfjs model holds the natively trained weights');
  tfjsEngine.dispose();
  nativeModel.dispose();
  tfjsModel.dispose();
});

test('a conv1d model whose layers differ from convAutoencoder.ts is refused with the reason (tfjs computes it)', { skip }, async () => {
  // The same network with one decoder convolution's activation changed: the shapes all fit, the computation does not.
  const s = SHAPES[1];
  const built = randomModel(s, 4);
  const json = JSON.parse(JSON.stringify(built.toJSON(null, false))) as { config: { layers: { name: string; config: { activation?: string } }[] } };
  const changed = json.config.layers.find((l) => l.name === 'decoder_conv_1');
  assert.ok(changed, 'the model has the decoder convolution');
  changed.config.activation = 'tanh';
  const model = await tf.models.modelFromJSON({ modelTopology: json as unknown as tf.io.ModelJSON['modelTopology'] });
  assert.match(String(nativeUnsupported(model)), /layer 'decoder_conv_1' is Conv2D 8 k\[5,1\] s\[1,1\] same d\[1,1\] channelsLast tanh bias, the native conv1d network computes .* relu bias/);
  assert.equal(nativeUnsupported(built), undefined);
  // Anything without a Conv1D layer is not taken for one.
  const dense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 4, activation: 'tanh' })] });
  assert.doesNotMatch(String(nativeUnsupported(dense)), /conv1d/);
  for (const m of [built, model, dense]) m.dispose();
});
