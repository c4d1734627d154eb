import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transformWindow, transformWindows } from '../../../src/core/windowTransform';

// Two channels, three steps, time-major: (1, 10), (2, 20), (6, 30).
const W = [1, 10, 2, 20, 6, 30];

void test('none copies the window', () => {
  const out = new Float32Array(6);
  transformWindow('none', W, 2, out);
  assert.deepEqual([...out], W);
});

void test('demean subtracts each channel mean over the window', () => {
  const out = new Float32Array(6);
  transformWindow('demean', W, 2, out);
  assert.deepEqual([...out], [-2, -10, -1, 0, 3, 10]);
});

void test('diff takes first differences per channel; the first step repeats the second', () => {
  const out = new Float32Array(6);
  transformWindow('diff', W, 2, out);
  assert.deepEqual([...out], [1, 10, 1, 10, 4, 10]);
});

void test('transformWindows handles windows laid end to end; shape mismatches throw', () => {
  const two = Float32Array.from([...W, ...W.map((v) => v + 100)]);
  const out = transformWindows('demean', two, 2, 3);
  assert.deepEqual([...out], [-2, -10, -1, 0, 3, 10, -2, -10, -1, 0, 3, 10]);
  assert.equal(transformWindows('none', two, 2, 3), two);
  assert.throws(() => transformWindow('demean', W, 4, new Float32Array(6)), RangeError);
});
