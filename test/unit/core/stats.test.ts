import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  firstNonFinite,
  mean,
  quantile,
  quantilePoints,
  quantileSorted,
  sortedCopy,
  std,
} from '../../../src/core/stats';

test('mean and sample std of a known sample', () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(xs), 5);
  // Sum of squared deviations 32, n - 1 = 7.
  assert.ok(Math.abs(std(xs) - Math.sqrt(32 / 7)) < 1e-12, `std ${std(xs)}`);
  assert.equal(std(new Float32Array([3, 3, 3])), 0);
});

test('std stays accurate far from zero (no one-pass cancellation)', () => {
  const xs = [1e9 + 1, 1e9 + 2, 1e9 + 3];
  assert.ok(Math.abs(std(xs) - 1) < 1e-6, `std ${std(xs)}`);
});

test('empty input and too-short std throw RangeError', () => {
  assert.throws(() => mean([]), RangeError);
  assert.throws(() => std([1]), /at least 2/);
  assert.throws(() => quantile([], 0.5), RangeError);
});

test('quantile interpolates linearly between order statistics (type 7) and leaves the input alone', () => {
  const xs = new Float32Array([10, 1, 4, 2]);
  assert.equal(quantile(xs, 0), 1);
  assert.equal(quantile(xs, 1), 10);
  // Sorted 1 2 4 10, position 0.5 * 3 = 1.5 -> 3.
  assert.equal(quantile(xs, 0.5), 3);
  // Position 0.9 * 3 = 2.7 -> 4 + 0.7 * 6.
  assert.ok(Math.abs(quantile(xs, 0.9) - 8.2) < 1e-12);
  assert.deepEqual(Array.from(xs), [10, 1, 4, 2]);
  assert.equal(quantile([7], 0.3), 7);
});

test('quantile rejects NaN values and probabilities outside [0, 1]', () => {
  assert.throws(() => quantile([1, Number.NaN], 0.5), /index 1 is NaN/);
  assert.throws(() => quantile([1, 2], 1.5), RangeError);
  assert.throws(() => quantileSorted([1, 2], -0.1), RangeError);
});

test('sortedCopy sorts numerically, quantilePoints keeps min and max and caps the count', () => {
  assert.deepEqual(Array.from(sortedCopy([10, 9, 100, 1])), [1, 9, 10, 100]);
  const sorted = sortedCopy(Array.from({ length: 1001 }, (_, i) => 1000 - i));
  const pts = quantilePoints(sorted, 11);
  assert.deepEqual(pts, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  assert.deepEqual(quantilePoints(sortedCopy([3, 1, 2]), 10), [1, 2, 3]);
});

test('firstNonFinite finds NaN and infinities', () => {
  assert.equal(firstNonFinite([1, 2, 3]), -1);
  assert.equal(firstNonFinite([1, Number.POSITIVE_INFINITY, Number.NaN]), 1);
});
