// calibration.method spot as a stream's score filter (core/spotFilter.ts): it starts at the model's calibrated
// threshold, moves it with the stream's normal scores, judges maintenance windows without learning, starts afresh
// for a model calibrated again, and a restore continues it exactly (or says why it cannot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate } from '../../../src/core/calibration';
import type { Calibration } from '../../../src/core/calibration';
import { createRng } from '../../../src/core/random';
import type { ScoreObservation } from '../../../src/core/scoreFilter';
import { SpotFilter } from '../../../src/core/spotFilter';

const SEED = 77;
const Q = 1e-3;

function exponential(n: number, seed: number, scale = 1): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => -scale * Math.log(1 - rng()));
}

const CAL: Calibration = calibrate(exponential(20_000, SEED), { kind: 'spot', q: Q, initialQuantile: 0.98, depth: 0, maxExcesses: 200 });

function obs(score: number, learn?: boolean): ScoreObservation {
  return { time: 0, score, threshold: CAL.threshold, pValue: 0.5, anomalous: score > CAL.threshold, ...(learn === undefined ? {} : { learn }), window: { values: [1], channels: 1 } };
}

test('starts at the calibrated threshold and follows a wider score distribution up', () => {
  const f = new SpotFilter({ q: Q, depth: 0, maxExcesses: 200, calibrationOf: () => CAL });
  const first = f.filter(obs(0.5));
  assert.equal(first.threshold, CAL.threshold);
  assert.equal(first.anomalous, false);
  assert.equal(first.score, 0.5, 'the score is the model\'s');
  assert.ok(first.pValue > 0.5 && first.pValue < 0.7, `p-value of 0.5 under Exp(1): ${first.pValue}`);
  assert.equal(first.window, undefined);
  let alarms = 0;
  const wider = exponential(40_000, SEED + 1, 1.5);
  for (const x of wider) if (f.filter(obs(x)).anomalous) alarms++;
  // A fixed threshold at ln(1000) = 6.9 would flag P(Exp(1.5) > 6.9) = 1 % of these.
  assert.ok(alarms / wider.length < 0.005, `alarm rate ${alarms / wider.length} (seed ${SEED})`);
  assert.ok(f.threshold > CAL.threshold * 1.2, `threshold ${CAL.threshold} -> ${f.threshold}`);
});

test('maintenance windows (learn false) are judged, not learned', () => {
  const f = new SpotFilter({ q: Q, depth: 5, maxExcesses: 200, calibrationOf: () => CAL });
  f.filter(obs(0.1));
  const revision = f.revision;
  const threshold = f.threshold;
  const judged = f.filter(obs(50, false));
  assert.equal(judged.anomalous, true);
  assert.equal(judged.learn, undefined);
  for (let i = 0; i < 100; i++) f.filter(obs(3, false));
  assert.equal(f.revision, revision);
  assert.equal(f.threshold, threshold);
});

test('without a calibrated model windows pass as scored; a model calibrated again restarts from its tail', () => {
  let cal: Calibration | null = null;
  const f = new SpotFilter({ q: Q, depth: 0, maxExcesses: 200, calibrationOf: () => cal });
  const o = f.filter({ time: 5, score: 2, threshold: Number.NaN, pValue: Number.NaN, anomalous: false });
  assert.deepEqual(o, { time: 5, score: 2, threshold: Number.NaN, pValue: Number.NaN, anomalous: false });
  assert.equal(f.snapshot(), undefined);
  cal = CAL;
  for (const x of exponential(5000, SEED + 2, 2)) f.filter(obs(x));
  assert.notEqual(f.threshold, CAL.threshold);
  const other = calibrate(exponential(20_000, SEED + 3, 3), { kind: 'pot', q: Q, initialQuantile: 0.98 });
  cal = other;
  assert.equal(f.filter(obs(1)).threshold, other.threshold, 'the new model\'s calibration, not what the old one learned');
});

test('a restore continues exactly; a restore for another calibration or another filter kind is refused', () => {
  const a = new SpotFilter({ q: Q, depth: 10, maxExcesses: 100, calibrationOf: () => CAL });
  const input = exponential(4000, SEED + 4, 1.3);
  for (let i = 0; i < 2000; i++) a.filter(obs(input[i]));
  const saved = a.snapshot();
  assert.ok(saved?.spot);
  const b = new SpotFilter({ q: Q, depth: 10, maxExcesses: 100, calibrationOf: () => CAL });
  b.restore(structuredClone(saved));
  for (let i = 2000; i < input.length; i++) assert.deepEqual(b.filter(obs(input[i])), a.filter(obs(input[i])));

  const recalibrated = calibrate(exponential(20_000, SEED + 5), { kind: 'pot', q: Q, initialQuantile: 0.98 });
  assert.throws(() => new SpotFilter({ q: Q, depth: 10, maxExcesses: 100, calibrationOf: () => recalibrated }).restore(saved), /calibrated again/);
  assert.throws(() => new SpotFilter({ q: Q, depth: 10, maxExcesses: 100, calibrationOf: () => null }).restore(saved), /not calibrated/);
  assert.throws(() => new SpotFilter({ q: Q, depth: 10, maxExcesses: 100, calibrationOf: () => CAL }).restore({ sinceDetection: null, scales: [] }), /anomaly likelihood's/);
  assert.throws(() => new SpotFilter({ q: Q, depth: 3, maxExcesses: 100, calibrationOf: () => CAL }).restore(saved), /depth is 3/);
});
