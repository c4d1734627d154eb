import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClipCounter, fitScaler, scaleInto, unscaleInto, validateScaler } from '../../../src/core/scaling';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]} (${Array.from(a).join(',')})`);
  }
}

test('fit finds per-channel min and max of interleaved data, ignoring missing values', () => {
  // Two channels: a in [0, 10], b in [-5, 5].
  const p = fitScaler([0, -5, 10, 5, 5, Number.NaN, 2, 0], 2);
  assert.deepEqual(p, { min: [0, -5], max: [10, 5] });
  assert.doesNotThrow(() => validateScaler(JSON.parse(JSON.stringify(p)) as typeof p, 2));
});

test('margin widens each side by that fraction of the range', () => {
  const p = fitScaler([0, 10], 1, 0.1);
  close(p.min, [-1]);
  close(p.max, [11]);
  const out = new Float32Array(2);
  scaleInto(p, new Float32Array([0, 10]), 1, out);
  close(out, [1 / 12, 11 / 12]);
});

test('a constant channel gets a non-zero range centred on its value', () => {
  const p = fitScaler([3, 7, 3, 8, 3, 9], 2);
  assert.ok(p.max[0] > p.min[0], JSON.stringify(p));
  const out = new Float32Array(2);
  scaleInto(p, new Float32Array([3, 8]), 2, out);
  close(out, [0.5, 0.5]);
  const zero = fitScaler([0, 0], 1);
  assert.deepEqual(zero, { min: [-0.5], max: [0.5] });
});

test('scaleInto clips to [0, 1] and returns the clipped count', () => {
  const p = { min: [0, 100], max: [10, 200] };
  const values = new Float32Array([5, 150, -1, 250, 11, 99, 10, 100]);
  const out = new Float32Array(values.length);
  const clipped = scaleInto(p, values, 2, out);
  close(out, [0.5, 0.5, 0, 1, 1, 0, 1, 0]);
  assert.equal(clipped, 4);
  const counter = new ClipCounter();
  counter.add(clipped, values.length);
  counter.add(0, 8);
  assert.equal(counter.fraction, 0.25);
  assert.equal(counter.total, 16);
  counter.reset();
  assert.equal(counter.fraction, 0);
});

test('unscaleInto inverts scaleInto (and scaling works in place)', () => {
  const p = fitScaler([1, -3, 4, 7, 2, 0], 2, 0.05);
  const raw = new Float32Array([1.5, 6, 3.25, -2]);
  const buf = Float32Array.from(raw);
  assert.equal(scaleInto(p, buf, 2, buf), 0);
  const back = new Float32Array(raw.length);
  unscaleInto(p, buf, 2, back);
  close(back, raw, 1e-5);
});

test('shape mismatches and unusable data throw RangeError', () => {
  assert.throws(() => fitScaler([1, 2, 3], 2), /multiple of 2/);
  assert.throws(() => fitScaler([], 1), RangeError);
  assert.throws(() => fitScaler([1, Number.NaN], 2), /channel 1 has no finite values/);
  assert.throws(() => fitScaler([1], 1, -0.1), /margin/);
  const p = { min: [0], max: [1] };
  assert.throws(() => scaleInto(p, new Float32Array(2), 1, new Float32Array(3)), RangeError);
  assert.throws(() => scaleInto(p, new Float32Array(2), 2, new Float32Array(2)), /channels/);
  assert.throws(() => validateScaler({ min: [0, 1], max: [1, 1] }, 2), /channel 1/);
  assert.throws(() => validateScaler({ min: [0], max: [1] }, 2), /expected 2 channels/);
});

test('scaleInto keep: values outside the range pass on scaled but unclipped, and are counted the same', () => {
  const p = { min: [0, 100], max: [10, 200] };
  const values = new Float32Array([5, 150, -1, 250, 11, 99, 10, 100]);
  const out = new Float32Array(values.length);
  assert.equal(scaleInto(p, values, 2, out, 'keep'), 4);
  close(out, [0.5, 0.5, -0.1, 1.5, 1.1, -0.01, 1, 0]);
  assert.equal(scaleInto(p, values, 2, out, 'clip'), 4);
  close(out, [0.5, 0.5, 0, 1, 1, 0, 1, 0]);
});
