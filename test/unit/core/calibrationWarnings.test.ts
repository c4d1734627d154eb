// The warning `train` and `calibrate` give when a threshold flags more than 1 % of the clean windows it came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, calibrationWarnings, exceedFraction, MAX_CLEAN_EXCEED_FRACTION } from '../../../src/core/calibration';

/** 1000 scores 0.001, 0.002, ... 1.000. */
const scores = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000);

test('exceedFraction counts scores strictly above the threshold', () => {
  assert.equal(exceedFraction(scores, 0.99), 10 / 1000);
  assert.equal(exceedFraction(scores, 1), 0);
  assert.equal(exceedFraction(scores, 0), 1);
  assert.equal(exceedFraction([], 0), 0);
});

test('a percentile typed as a fraction (0.999 for 99.9) is named, with the exceed share and what to use', () => {
  const c = calibrate(scores, { kind: 'percentile', percentile: 0.999 });
  const warnings = calibrationWarnings(scores, c);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /flags 99(\.\d+)? % of the 1000 clean windows it was derived from \(more than 1 %\)/);
  assert.match(warnings[0], /percentile 0\.999 leaves 99(\.\d+)? % of the windows above it/);
  assert.match(warnings[0], /a percentile, not a fraction/);
});

test('no warning at or below 1 %; just above it warns (sigma with a small k)', () => {
  assert.deepEqual(calibrationWarnings(scores, calibrate(scores, { kind: 'percentile', percentile: 99 })), []);
  assert.deepEqual(calibrationWarnings(scores, calibrate(scores, { kind: 'pot', q: 1e-4, initialQuantile: 0.98 })), []);
  const threshold = 0.989; // 11 of 1000 above
  assert.ok(exceedFraction(scores, threshold) > MAX_CLEAN_EXCEED_FRACTION);
  const c = { ...calibrate(scores, { kind: 'sigma', k: 1 }), threshold };
  const [w] = calibrationWarnings(scores, c);
  assert.match(w, /flags 1\.1 % of the 1000/);
  assert.match(w, /mean \+ 1 \* std is low/);
});

test('robust and pot hints name their parameters', () => {
  const robust = calibrate(scores, { kind: 'robust', quantile: 0.5, factor: 1 });
  assert.match(calibrationWarnings(scores, robust)[0], /1 x the 0\.5 quantile is low/);
  const pot = { ...calibrate(scores, { kind: 'pot', q: 0.01, initialQuantile: 0.9 }), threshold: 0.5 };
  assert.match(calibrationWarnings(scores, pot)[0], /exceedance probability of 0\.01 per window is high/);
});

test('one window above the threshold never warns, even when it is more than 1 % of a short recording', () => {
  const short = scores.slice(0, 77);
  const c = { ...calibrate(short, { kind: 'percentile', percentile: 99.5 }), threshold: short[75] };
  assert.equal(exceedFraction(short, c.threshold), 1 / 77);
  assert.deepEqual(calibrationWarnings(short, c), []);
  const two = { ...c, threshold: short[74] };
  assert.match(calibrationWarnings(short, two)[0], /flags 2\.6 % of the 77 clean windows/);
  assert.match(calibrationWarnings(short, two)[0], /Check that the data is clean/);
});
