// The expected values beside the scores: what Detector.score(windows, true) says the model expected of every value,
// checked against the reconstruction the engine gives on its own (reconstruct, a separate pass) un-scaled with the
// manifest's scaler and the window transform undone by hand, for a dense model with per-channel transforms (on both
// engines) and for a conv1d model; and that asking for them changes no score.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { unscaleInto } from '../../../src/core/scaling';
import type { Window } from '../../../src/core/types';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { selectBackend } from '../../../src/model/backend';
import { buildConvAutoencoder } from '../../../src/model/convAutoencoder';
import { Detector } from '../../../src/model/detector';
import { nativeScoringSelected } from '../../../src/model/engine';
import { EnsembleDetector } from '../../../src/model/ensemble';
import type { Manifest } from '../../../src/model/manifest';
import { loadNativeAddon } from '../../../src/model/nativeAddon';
import { NativeScoring } from '../../../src/model/nativeEngine';
import { TfjsScoring } from '../../../src/model/tfjsEngine';

const CHANNELS = ['level_m', 'flow_m3h', 'temp_c'];
const STEPS = 8;
const D = STEPS * CHANNELS.length;
const SCALER = { min: [0, 100, 20], max: [10, 300, 80], margin: 0.05 };

function manifest(over: Partial<Manifest> = {}): Manifest {
  return {
    name: 'm',
    stream: 's',
    channels: CHANNELS,
    window: { size: STEPS, hop: 2, maxGapMs: 10_000, minCompleteness: 0.9 },
    scaler: SCALER,
    architecture: { inputSize: D, encoderUnits: [12], latentUnits: 4, hiddenActivation: 'relu', outputActivation: 'sigmoid' },
    scoring: { metric: 'mse', aggregate: 'mean' },
    calibration: null,
    ...over,
  } as Manifest;
}

/** A window of a drifting level, a flow with a step and a warming temperature (seeded, no randomness needed). */
function window(offset = 0): Window {
  const values = new Float32Array(D);
  for (let t = 0; t < STEPS; t++) {
    values[t * 3] = 4 + 0.3 * t + offset;
    values[t * 3 + 1] = t < 5 ? 180 : 220;
    values[t * 3 + 2] = 40 + Math.sin(t + offset);
  }
  return { stream: 's', start: 1000 * offset, end: 1000 * offset + 7000, size: STEPS, channels: 3, values, completeness: 1 };
}

/** The expectation by hand: the engine's own reconstruction, un-scaled, each channel's transform undone with the observed window. */
function byHand(detector: Detector, w: Window): number[] {
  const scaled = detector.scorer.engine.reconstruct(detector.toMatrix([w], false).data, 1);
  const r = new Float32Array(D);
  unscaleInto(detector.manifest.scaler, scaled, 3, r);
  const t = detector.manifest.transform ?? 'none';
  const kinds = typeof t === 'string' ? [t, t, t] : t;
  const out: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    for (let c = 0; c < 3; c++) {
      const i = step * 3 + c;
      let mean = 0;
      for (let k = 0; k < STEPS; k++) mean += w.values[k * 3 + c] / STEPS;
      if (kinds[c] === 'none') out.push(r[i]);
      else if (kinds[c] === 'demean') out.push(r[i] + mean);
      else out.push(step === 0 ? w.values[i] : w.values[i - 3] + r[i]);
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

before(async () => {
  await selectBackend();
});

describe('expected values beside the scores', () => {
  it('dense, per-channel transforms (none, demean, diff): the reconstruction un-scaled with the transform undone', () => {
    const model = buildAutoencoder({ inputSize: D, encoderUnits: [12], latentUnits: 4, seed: 3 });
    const detector = new Detector(model, manifest({ transform: ['none', 'demean', 'diff'] }), '<dense>');
    const windows = [window(0), window(1), window(2)];
    const plain = detector.score(windows);
    const withExpected = detector.score(windows, true);
    windows.forEach((w, i) => {
      assert.equal(plain[i].expected, undefined, 'not asked, not computed');
      assert.equal(withExpected[i].score, plain[i].score, 'asking for the expectation changes no score');
      assertClose(withExpected[i].channelShares, plain[i].channelShares, 0, 'shares');
      assertClose(withExpected[i].expected ?? [], byHand(detector, w), 1e-3, `window ${i}`);
    });
    // The differenced channel's first step expects what it saw; the level's expected values are in metres, not [0, 1].
    const e = withExpected[0].expected as Float32Array;
    assert.equal(e[2], windows[0].values[2]);
    assert.ok(e.some((v, i) => i % 3 === 1 && v > 100), 'flow expected in m3/h');
  });

  it('both engines hand out the reconstruction the errors were taken against, equal to a separate forward pass', (t) => {
    if (!loadNativeAddon().addon) {
      t.skip(`native addon not available here (${loadNativeAddon().problem ?? 'unknown'}): only the tfjs engine is checked`);
    }
    const model = buildAutoencoder({ inputSize: D, encoderUnits: [12], latentUnits: 4, seed: 5 });
    const detector = new Detector(model, manifest(), '<engines>');
    const x = detector.toMatrix([window(0), window(3)], false).data;
    const setup = { channels: 3, metric: 'mse' as const };
    const engines = [new TfjsScoring(model, setup), ...(loadNativeAddon().addon ? [new NativeScoring(model, setup)] : [])];
    for (const engine of engines) {
      const plain = engine.errors(x, 2);
      const both = engine.errors(x, 2, true);
      assert.equal(plain.reconstruction, undefined);
      assertClose(both.total, plain.total, 0, `${engine.kind} total`);
      assertClose(both.reconstruction ?? [], engine.reconstruct(x, 2), 1e-6, `${engine.kind} reconstruction`);
    }
  });

  it('conv1d: the same, on the engine a convolutional model scores on', () => {
    const model = buildConvAutoencoder({ inputSize: D, channels: 3, conv: { filters: [4], kernelSize: 3 }, latentUnits: 4, seed: 2 });
    const m = manifest({ transform: 'demean', architecture: { kind: 'conv1d', inputSize: D, encoderUnits: [], conv: { filters: [4], kernelSize: 3, stride: 2 }, latentUnits: 4, hiddenActivation: 'relu', outputActivation: 'sigmoid' } });
    const detector = new Detector(model, m, '<conv>');
    const w = window(4);
    const [scored] = detector.score([w], true);
    // The native addon computes conv1d models too, where it is the selected backend.
    assert.equal(detector.scorer.engine.kind, nativeScoringSelected() ? 'native' : 'tfjs');
    assertClose(scored.expected ?? [], byHand(detector, w), 1e-3, 'conv1d');
  });

  it('an ensemble expects the mean of its members, as its alert readings do', () => {
    const a = new Detector(buildAutoencoder({ inputSize: D, encoderUnits: [12], latentUnits: 4, seed: 7 }), manifest(), '<a>');
    const b = new Detector(buildAutoencoder({ inputSize: D, encoderUnits: [12], latentUnits: 4, seed: 8 }), manifest(), '<b>');
    const ensemble = new EnsembleDetector([a, b], manifest());
    const w = window(5);
    const [scored] = ensemble.score([w], true);
    const mean = byHand(a, w).map((v, i) => (v + byHand(b, w)[i]) / 2);
    assertClose(scored.expected ?? [], mean, 1e-3, 'ensemble');
    assertClose(scored.expected ?? [], ensemble.reconstructionOf(w), 1e-3, 'the same as the alert readings');
  });

  it("carries each channel's tolerance: the distance one channel alone may keep all window long before the threshold", () => {
    const model = buildAutoencoder({ inputSize: D, encoderUnits: [12], latentUnits: 4, seed: 3 });
    const ranges = [10, 200, 60];
    // Only the threshold matters here (the tail is what p-values read).
    const calibration = { threshold: 0.01 } as Manifest['calibration'];
    const tolerance = (over: Partial<Manifest>): number[] => Array.from(new Detector(model, manifest({ calibration, ...over }), '<t>').tolerance());
    // mse, mean over 3 channels: sqrt(0.01 x 3) scaled units.
    assertClose(tolerance({}), ranges.map((r) => Math.sqrt(0.03) * r), 1e-4, 'mse mean');
    assertClose(tolerance({ scoring: { metric: 'mse', aggregate: 'max_channel' } }), ranges.map((r) => 0.1 * r), 1e-4, 'mse max_channel');
    assertClose(tolerance({ scoring: { metric: 'mae', aggregate: 'mean' } }), ranges.map((r) => 0.03 * r), 1e-4, 'mae mean');
    assert.ok(tolerance({ scoring: { metric: 'bce', aggregate: 'mean' } }).every(Number.isNaN), 'bce: no distance');
    // Uncalibrated: no threshold, no tolerance, and the scored window says so.
    const [scored] = new Detector(model, manifest(), '<u>').score([window(0)], true);
    assert.ok(scored.tolerance && scored.tolerance.length === 3 && scored.tolerance.every(Number.isNaN));
  });
});
