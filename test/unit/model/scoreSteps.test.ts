// score_steps computed by the engines in their scoring pass against the way the scorer computed it before: in
// TypeScript from the reconstruction of a whole-window pass (kept here as the reference). Every engine (tfjs;
// the native addon with each kernel set this CPU runs, dense and conv1d networks), metric and a window length
// that is not a multiple of the kernels' vector width; and the scorer's scores and channel shares from both.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { buildConvAutoencoder } from '../../../src/model/convAutoencoder';
import type { ScoreMetric, ScoringEngine, WindowErrors } from '../../../src/model/engineTypes';
import { loadNativeAddon } from '../../../src/model/nativeAddon';
import { NativeScoring } from '../../../src/model/nativeEngine';
import { elementError } from '../../../src/model/scorer';
import { TfjsScoring } from '../../../src/model/tfjsEngine';
import { maxRelative, perturbWeights, uniform } from './tfjsReference';

const native = loadNativeAddon();
const KERNEL_SETS = ['generic', 'avx2', 'avx512'].filter((k) => native.addon?.kernels(k) != null);
const METRICS: ScoreMetric[] = ['mse', 'mae', 'bce'];

before(async () => {
  await tf.setBackend('cpu');
});

/** The scorer's former path: errors of the newest `steps` steps in TypeScript, from a whole-window pass's reconstruction. */
function formerPath(engine: ScoringEngine, metric: ScoreMetric, x: Float32Array, n: number, d: number, channels: number, steps: number): WindowErrors {
  const r = engine.errors(x, n, true).reconstruction;
  assert.ok(r);
  const perChannel = new Float32Array(n * channels);
  const total = new Float32Array(n);
  const first = d - steps * channels;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = first; j < d; j++) {
      const e = elementError(metric, x[i * d + j], r[i * d + j]);
      perChannel[i * channels + (j % channels)] += e;
      sum += e;
    }
    total[i] = sum / (steps * channels);
  }
  return { perChannel, total };
}

/** What the scorer makes of the errors: the score (mean, or max_channel) and the channel shares of each window. */
function scoresOf(e: WindowErrors, n: number, channels: number, steps: number): { mean: number[]; max: number[]; shares: number[] } {
  const mean: number[] = [];
  const max: number[] = [];
  const shares: number[] = [];
  for (let i = 0; i < n; i++) {
    const pc = [...e.perChannel.subarray(i * channels, (i + 1) * channels)];
    const sum = pc.reduce((a, b) => a + b, 0);
    mean.push(e.total[i]);
    max.push(Math.max(...pc) / steps);
    shares.push(...pc.map((v) => v / sum));
  }
  return { mean, max, shares };
}

function assertSame(got: WindowErrors, want: WindowErrors, n: number, channels: number, steps: number, where: string): void {
  const a = scoresOf(got, n, channels, steps);
  const b = scoresOf(want, n, channels, steps);
  // Float32 sums in another order: equal to a few units in the last place.
  for (const k of ['mean', 'max', 'shares'] as const) {
    const rel = maxRelative(Float32Array.from(a[k]), Float32Array.from(b[k]));
    assert.ok(rel < 2e-6, `${where}: ${k} differ by ${rel}`);
  }
}

const engines = (model: tf.LayersModel, channels: number, metric: ScoreMetric): [string, ScoringEngine][] => [
  ['tfjs', new TfjsScoring(model, { channels, metric })],
  ...KERNEL_SETS.map((k): [string, ScoringEngine] => [`native ${k}`, new NativeScoring(model, { channels, metric }, k)]),
];

test('dense: the engines count the newest steps in their scoring pass as the scorer did from the reconstruction', () => {
  // 13 steps of 3 channels: 39 values, not a multiple of 8 or 16; steps 1, 5 (first column 24) and 12.
  const channels = 3;
  const d = 13 * channels;
  const model = perturbWeights(buildAutoencoder({ inputSize: d, encoderUnits: [16], latentUnits: 4, seed: 3 }), 3);
  for (const n of [1, 9, 300]) {
    const x = uniform(n * d, n);
    for (const metric of METRICS) {
      for (const [name, engine] of engines(model, channels, metric)) {
        for (const steps of [1, 5, 12]) {
          const got = engine.errors(x, n, false, steps);
          assertSame(got, formerPath(engine, metric, x, n, d, channels, steps), n, channels, steps, `${name}, ${metric}, batch ${n}, steps ${steps}`);
          const withReconstruction = engine.errors(x, n, true, steps);
          assert.deepEqual(withReconstruction.total, got.total, `${name}: the same errors with the reconstruction`);
          assert.deepEqual(withReconstruction.reconstruction, engine.errors(x, n, true).reconstruction);
        }
        // 0 or the window's length: the whole window, as before.
        assert.deepEqual(engine.errors(x, n, false, 13).total, engine.errors(x, n).total);
        assert.deepEqual(engine.errors(x, n, false, 0).total, engine.errors(x, n).total);
      }
    }
  }
  model.dispose();
});

test('conv1d: the engines count the newest steps in their scoring pass as the scorer did from the reconstruction', () => {
  const channels = 2;
  const windowSteps = 35;
  const d = windowSteps * channels;
  const model = perturbWeights(buildConvAutoencoder({ inputSize: d, channels, conv: { filters: [8, 4], kernelSize: 5 }, latentUnits: 3, seed: 5 }), 5);
  for (const n of [1, 40]) {
    const x = uniform(n * d, 7 + n);
    for (const metric of METRICS) {
      for (const [name, engine] of engines(model, channels, metric)) {
        for (const steps of [3, 8]) {
          assertSame(engine.errors(x, n, false, steps), formerPath(engine, metric, x, n, d, channels, steps), n, channels, steps, `${name}, ${metric}, batch ${n}, steps ${steps}`);
        }
      }
    }
  }
  model.dispose();
});

test('the addon refuses more steps than the window has', { skip: native.addon ? false : `native addon not available: ${native.problem}` }, () => {
  const model = buildAutoencoder({ inputSize: 6, encoderUnits: [], latentUnits: 2, seed: 1 });
  const engine = new NativeScoring(model, { channels: 2, metric: 'mse' });
  assert.throws(() => engine.errors(new Float32Array(6), 1, false, 4), /steps out of range/);
  model.dispose();
});

test('an addon built from older sources (no interface version) is not used: it would ignore the step count', { skip: native.addon ? false : `native addon not available: ${native.problem}` }, () => {
  // A child whose require('anomalyd-native') returns the real addon without its `abi`, as a binary built before.
  const loader = path.resolve(__dirname, '../../../src/model/nativeAddon');
  const script = `
    const Module = require('module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      const m = load.call(this, request, ...rest);
      return request === 'anomalyd-native' ? { ...m, abi: undefined } : m;
    };
    const s = require(${JSON.stringify(loader)}).loadNativeAddon();
    process.stdout.write(JSON.stringify({ addon: s.addon !== undefined, problem: s.problem }));`;
  const env = { ...process.env };
  delete env.ANOMALYD_NATIVE;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { addon: boolean; problem?: string };
  assert.equal(got.addon, false);
  assert.match(got.problem ?? '', /built from other sources \(interface 1, this build calls 2\); rebuild it/);
});
