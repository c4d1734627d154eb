// The outlier fence (core/outlierFence.ts) and calibration that leaves out learning scores beyond it: clean
// scores put nothing beyond k = 3, a fault's windows in the learning data are left out, and the threshold then
// lands where the clean data alone would put it instead of above the fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, calibrationWarnings } from '../../../src/core/calibration';
import { outlierFence, withinFence } from '../../../src/core/outlierFence';
import { createRng, gaussian } from '../../../src/core/random';

/** Log-normal reconstruction errors (median 0.01, log sd 0.3), as clean windows give. */
function clean(n: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => 0.01 * Math.exp(0.3 * gaussian(rng)));
}

test('clean log-normal scores: nothing beyond the fence at k = 3 (10 seeds x 400 scores)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const s = clean(400, seed);
    const f = outlierFence(s, 3);
    assert.ok(Number.isFinite(f) && f > Math.max(...s), `seed ${seed}: fence ${f} below the largest clean score ${Math.max(...s)}`);
    assert.equal(withinFence(s, f).excluded, 0);
  }
});

test('a fault in the learning data (10 % of windows at 20x the error) lies beyond the fence', () => {
  const s = clean(360, 7);
  const fault = clean(40, 8).map((x) => 20 * x);
  const f = outlierFence([...s, ...fault], 3);
  const { kept, excluded } = withinFence([...s, ...fault], f);
  assert.equal(excluded, 40);
  assert.deepEqual(kept, s);
});

test('no fence: k = 0, too few scores, no spread, non-finite and non-positive scores ignored', () => {
  assert.equal(outlierFence(clean(400, 1), 0), Infinity);
  assert.equal(outlierFence(clean(19, 1), 3), Infinity);
  assert.equal(outlierFence(new Array(50).fill(0.5), 3), Infinity);
  const s = [...clean(100, 2), 0, -1, NaN, Infinity];
  assert.equal(outlierFence(s, 3), outlierFence(clean(100, 2), 3));
});

test('calibration with the fence: the threshold of contaminated data is that of its clean part', () => {
  const s = clean(900, 3);
  const fault = clean(100, 4).map((x) => 20 * x);
  const method = { kind: 'pot', q: 1e-3, initialQuantile: 0.95 } as const;
  const alone = calibrate(s, method);
  const plain = calibrate([...s, ...fault], method);
  const fenced = calibrate([...s, ...fault], { ...method, outlierFence: 3 });
  // Without the fence the tail fit reaches over the fault: its windows would not alert.
  assert.ok(plain.threshold > Math.min(...fault), `plain threshold ${plain.threshold} should lie above the fault's smallest score`);
  assert.equal(fenced.threshold, alone.threshold);
  assert.equal(fenced.excluded, 100);
  assert.equal(fenced.nScores, 900);
  assert.ok(fenced.threshold < Math.min(...fault), 'the fault alerts with the fenced threshold');
  // Clean data: the fence changes nothing and the calibration records no exclusion.
  const cleanFenced = calibrate(s, { ...method, outlierFence: 3 });
  assert.equal(cleanFenced.threshold, alone.threshold);
  assert.equal(cleanFenced.excluded, undefined);
});

test('train and calibrate say how much of the learning data was left out', () => {
  const s = clean(900, 5);
  const fault = clean(100, 6).map((x) => 20 * x);
  const c = calibrate([...s, ...fault], { kind: 'pot', q: 1e-4, initialQuantile: 0.98, outlierFence: 3 });
  const w = calibrationWarnings([...s, ...fault], c);
  assert.equal(w.length, 1, w.join('\n'));
  assert.match(w[0], /100 of the 1000 learning windows \(10 %\) score far above the rest/);
  assert.match(w[0], /check that the learning period was normal operation/);
  assert.deepEqual(calibrationWarnings(s, calibrate(s, { kind: 'pot', q: 1e-4, initialQuantile: 0.98, outlierFence: 3 })), []);
});

test('a bad fence k is refused', () => {
  assert.throws(() => calibrate(clean(100, 1), { kind: 'percentile', percentile: 99, outlierFence: -1 }), /outlierFence must be a finite number >= 0/);
  assert.throws(() => calibrate(clean(100, 1), { kind: 'percentile', percentile: 99, outlierFence: NaN }), /outlierFence/);
});
