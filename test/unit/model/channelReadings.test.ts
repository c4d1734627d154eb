// An alert's readings from a real network with a known output: zero weights make every output the sigmoid of its
// bias, so the reconstruction is chosen by the test and the expected values follow from the scaler alone.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fitScaler } from '../../../src/core/scaling';
import type { Window } from '../../../src/core/types';
import { sineWindows, withFault } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { selectBackend } from '../../../src/model/backend';
import { scalerRange, trainingRange, WindowReadings } from '../../../src/model/channelReadings';
import { Detector } from '../../../src/model/detector';
import { EnsembleDetector, trainEnsemble } from '../../../src/model/ensemble';
import { loadLearnedModel, saveLearnedModel } from '../../../src/model/learnedModel';
import type { Manifest } from '../../../src/model/manifest';

const CHANNELS = ['bearing_temp_c', 'rpm'];
const STEPS = 3;
// Fitted on [0, 10] and [100, 200] with a 5 % margin: 0 .. 10 widened by 0.5 each side, 100 .. 200 by 5.
const SCALER = { min: [-0.5, 95], max: [10.5, 205], margin: 0.05 };

/** The fields a Detector reads; the rest of a manifest does not matter here. */
function manifest(over: Partial<Manifest> = {}): Manifest {
  return {
    name: 'known',
    stream: 's',
    channels: CHANNELS,
    window: { size: STEPS, hop: 1, maxGapMs: 10_000, minCompleteness: 0.9 },
    scaler: SCALER,
    architecture: { inputSize: STEPS * CHANNELS.length, encoderUnits: [4], latentUnits: 2, hiddenActivation: 'relu', outputActivation: 'sigmoid' },
    scoring: { metric: 'mse', aggregate: 'mean' },
    calibration: null,
    ...over,
  } as Manifest;
}

/** A detector whose scaled reconstruction of any window is `scaled` (time-major), to float32 precision. */
function knownDetector(scaled: readonly number[], m = manifest()): Detector {
  const model = buildAutoencoder({ inputSize: scaled.length, encoderUnits: [4], latentUnits: 2, seed: 1 });
  const weights = model.getWeights();
  const last = weights.length - 1;
  model.setWeights(weights.map((w, i) => (i === last ? tf.tensor1d(scaled.map((p) => Math.log(p / (1 - p)))) : tf.zerosLike(w))));
  return new Detector(model, m, '<known>');
}

function window(values: number[]): Window {
  return { stream: 's', start: 0, end: 2000, size: STEPS, channels: CHANNELS.length, values: Float32Array.from(values), completeness: 1 };
}

before(async () => {
  await selectBackend();
});

describe('alert readings', () => {
  it('maps a known reconstruction back through the scaler, at the sample that departs most, with the training range', () => {
    // Reconstruction 0.5 everywhere: 5 °C and 150 rpm, the middle of each scaler range.
    const detector = knownDetector([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    // The temperature departs at step 2, the speed (beyond its training range, so clipped when scaled) at step 1.
    const w = window([5, 150, 5.5, 260, 9.5, 149]);
    const readings = new WindowReadings(detector, w);
    const temp = readings.of(0);
    const rpm = readings.of(1);
    assert.ok(temp && rpm);
    assert.equal(temp.observed, 9.5);
    assert.ok(Math.abs(temp.expected - 5) < 1e-5, String(temp.expected));
    assert.ok(Math.abs(temp.trainingMin - 0) < 1e-9 && Math.abs(temp.trainingMax - 10) < 1e-9, `${temp.trainingMin} to ${temp.trainingMax}`);
    assert.equal(rpm.observed, 260);
    assert.ok(Math.abs(rpm.expected - 150) < 1e-4, String(rpm.expected));
    assert.ok(Math.abs(rpm.trainingMin - 100) < 1e-9 && Math.abs(rpm.trainingMax - 200) < 1e-9);
    assert.equal(detector.clippedValues, 0, 'the second look at a window is not counted as scaled input');
    assert.equal(detector.scaledValues, 0);
  });

  it('each element of the reconstruction maps through its own channel: what denoise() gives, one forward pass for all channels', () => {
    const scaled = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const detector = knownDetector(scaled);
    const w = window([0, 100, 0, 100, 0, 100]);
    const direct = detector.reconstructionOf(w);
    const denoised = detector.denoise([w]);
    assert.deepEqual(Array.from(direct), Array.from(denoised));
    // 0.1 x 11 - 0.5 = 0.6 °C; 0.2 x 110 + 95 = 117 rpm; ... the largest departure is the last step of each.
    const expected = scaled.map((p, i) => p * (SCALER.max[i % 2] - SCALER.min[i % 2]) + SCALER.min[i % 2]);
    direct.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-4, `element ${i}: ${v} vs ${expected[i]}`));
    let passes = 0;
    const counting = Object.assign(Object.create(detector) as Detector, {
      reconstructionOf: (x: Window) => {
        passes++;
        return detector.reconstructionOf(x);
      },
    });
    const readings = new WindowReadings(counting, w);
    assert.ok(Math.abs((readings.of(0)?.expected ?? NaN) - (0.5 * 11 - 0.5)) < 1e-4);
    assert.ok(Math.abs((readings.of(1)?.expected ?? NaN) - (0.6 * 110 + 95)) < 1e-4);
    assert.equal(passes, 1);
  });

  it('an ensemble expects the mean of its members', () => {
    const a = knownDetector([0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    const b = knownDetector([0.75, 0.75, 0.75, 0.75, 0.75, 0.75]);
    const ensemble = new EnsembleDetector([a, b], manifest());
    const r = new WindowReadings(ensemble, window([0, 100, 0, 100, 0, 100])).of(1);
    assert.ok(r && Math.abs(r.expected - 150) < 1e-4, String(r?.expected));
  });

  it('an engine failure leaves the reading out instead of failing the alert', () => {
    const broken = Object.assign(Object.create(knownDetector([0.5, 0.5, 0.5, 0.5, 0.5, 0.5])) as Detector, {
      reconstructionOf: (): Float32Array => {
        throw new Error('engine gone');
      },
    });
    assert.equal(new WindowReadings(broken, window([0, 0, 0, 0, 0, 0])).of(0), undefined);
  });
});

describe('training range', () => {
  it('scalerRange undoes the margin fitScaler added', () => {
    const values = [3, 120, 7, 180, 4.5, 150];
    const fitted = fitScaler(values, 2, 0.05);
    for (const c of [0, 1]) {
      const r = scalerRange(fitted.min[c], fitted.max[c], 0.05);
      assert.ok(Math.abs(r.min - [3, 120][c]) < 1e-9 && Math.abs(r.max - [7, 180][c]) < 1e-9, `channel ${c}: ${r.min} to ${r.max}`);
    }
  });

  it('the channel summary (raw training data) wins; without one, the scaler serves an untransformed channel only', () => {
    const summary = CHANNELS.map((name, i) => ({ name, min: [1, 110][i], max: [9, 190][i], mean: 0, std: 0 }));
    const withSummary = manifest({ training: { channelSummary: summary } as unknown as Manifest['training'] });
    assert.deepEqual(trainingRange(withSummary, 1), { min: 110, max: 190 });
    const bare = trainingRange(manifest(), 1);
    assert.ok(Math.abs(bare.min - 100) < 1e-9 && Math.abs(bare.max - 200) < 1e-9);
    // A demeaned channel's scaler covers deviations from the window mean, not readings: unknown.
    const demeaned = trainingRange(manifest({ transform: ['none', 'demean'] }), 1);
    assert.ok(Number.isNaN(demeaned.min) && Number.isNaN(demeaned.max));
    assert.deepEqual(trainingRange(manifest({ transform: 'demean', training: { channelSummary: summary } as unknown as Manifest['training'] }), 0), { min: 1, max: 9 });
  });
});

describe('an auto-learned model', () => {
  it('saved and loaded as the daemon does (ensemble, per-channel transforms) gives readings with the training range', async () => {
    // Channel 0's level wanders between windows, so `auto` demeans it; channel 1 keeps its level.
    const learning = sineWindows(120, 16, 2, 5).map((w, i) => {
      const values = Float32Array.from(w.values);
      for (let t = 0; t < 16; t++) values[t * 2] += 20 * Math.sin(i / 7);
      return { ...w, values };
    });
    const spec = tinyDetectorSpec({
      name: 'auto',
      stream: { id: 's', channels: ['level', 'steady'] },
      window: { size: 16, hop: 16, maxGapMs: 5000, minCompleteness: 0.9 },
      transform: 'auto',
      train: { epochs: 3 },
    });
    const { detector } = await trainEnsemble(learning, spec, 2);
    const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-readings-'));
    try {
      await saveLearnedModel(dir, { detector });
      const loaded = (await loadLearnedModel(dir, { channels: ['level', 'steady'] })).detector;
      assert.ok(loaded instanceof EnsembleDetector);
      assert.deepEqual(loaded.manifest.transform, ['demean', 'none']);
      const faulty = withFault(learning[0], 1, 30);
      const readings = new WindowReadings(loaded, faulty);
      for (const c of [0, 1]) {
        const r = readings.of(c);
        const summary: { min: number; max: number } = loaded.manifest.training.channelSummary[c];
        assert.ok(r, `channel ${c}`);
        assert.ok(Number.isFinite(r.observed) && Number.isFinite(r.expected));
        assert.deepEqual([r.trainingMin, r.trainingMax], [Number(summary.min.toPrecision(6)), Number(summary.max.toPrecision(6))]);
      }
      const steady = readings.of(1);
      assert.ok(steady && steady.observed > steady.trainingMax, `the step of +30 reads ${steady?.observed}, above the training range`);
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      detector.dispose();
    }
  });
});
