import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../../../src/core/random';
import { chooseChannelTransforms, heldLevel, isIdentity, learntLevelBounds, levelWander, transformWindow, transformWindows } from '../../../src/core/windowTransform';

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

void test('a per-channel list transforms each channel its own way', () => {
  const out = new Float32Array(6);
  transformWindow(['none', 'demean'], W, 2, out);
  assert.deepEqual([...out], [1, -10, 2, 0, 6, 10]);
  transformWindow(['diff', 'none'], W, 2, out);
  assert.deepEqual([...out], [1, 10, 1, 20, 4, 30]);
  assert.throws(() => transformWindow(['none'], W, 2, out), /1 per-channel transforms for 2 channels/);
  assert.equal(isIdentity(['none', 'none']), true);
  assert.equal(isIdentity(['none', 'demean']), false);
  // All 'none': no copy, as for the single 'none'.
  const one = Float32Array.from(W);
  assert.equal(transformWindows(['none', 'none'], one, 2, 3), one);
});

/** `windows` windows of `size` steps, 2 channels: channel 0 from f0(t), channel 1 from f1(t), t the global step. */
function series(windows: number, size: number, hop: number, f0: (t: number) => number, f1: (t: number) => number): Float32Array {
  const out = new Float32Array(windows * size * 2);
  for (let w = 0; w < windows; w++) {
    for (let s = 0; s < size; s++) {
      const t = w * hop + s;
      out[(w * size + s) * 2] = f0(t);
      out[(w * size + s) * 2 + 1] = f1(t);
    }
  }
  return out;
}

void test('auto demeans a channel whose level wanders and keeps a steady one', () => {
  const rng = createRng(7);
  const noise = (): number => rng() - 0.5;
  // Channel 0: a slow drift (10 units over the learning data) under unit noise; channel 1: noise around 5.
  const values = series(200, 16, 4, (t) => t / 80 + noise(), () => 5 + noise());
  assert.ok(levelWander(values, 0, 2, 16, 200) > 2);
  assert.ok(levelWander(values, 1, 2, 16, 200) < 0.5);
  assert.deepEqual(chooseChannelTransforms(values, 2, 16), ['demean', 'none']);
  // The limit is the rule's only knob: above every channel's wander nothing is demeaned.
  assert.deepEqual(chooseChannelTransforms(values, 2, 16, 100), ['none', 'none']);
});

void test('auto keeps the level of a constant channel and rejects partial windows', () => {
  const values = series(10, 4, 4, () => 3, (t) => t % 2);
  assert.equal(levelWander(values, 0, 2, 4, 10), 0);
  assert.deepEqual(chooseChannelTransforms(values, 2, 4), ['none', 'none']);
  assert.throws(() => chooseChannelTransforms(values.subarray(0, 7), 2, 4), RangeError);
});

void test('level bounds: a demeaned channel subtracts its mean held within them, the excess stays in the window', () => {
  const out = new Float32Array(6);
  // Channel 1's mean is 20; bounds [0, 15] hold it at 15, so 5 of its level remains.
  transformWindow(['none', 'demean'], W, 2, out, [null, [0, 15]]);
  assert.deepEqual([...out], [1, -5, 2, 5, 6, 15]);
  // Within the bounds (or without any) it is plain demean.
  transformWindow(['none', 'demean'], W, 2, out, [null, [10, 30]]);
  assert.deepEqual([...out], [1, -10, 2, 0, 6, 10]);
  assert.equal(heldLevel(-3, 0, [[-1, 1]]), -1);
  assert.equal(heldLevel(7, 0, [null]), 7);
  assert.equal(heldLevel(7, 0, undefined), 7);
});

void test('learntLevelBounds: the range of the window means widened by tolerance x its width, demeaned channels only', () => {
  // Three windows of 2 steps, 2 channels; channel 1's window means are 10, 12 and 14 (width 4).
  const values = Float32Array.from([0, 9, 0, 11, 0, 11, 0, 13, 0, 13, 0, 15]);
  assert.deepEqual(learntLevelBounds(['none', 'demean'], values, 2, 2, 0), [null, [10, 14]]);
  assert.deepEqual(learntLevelBounds(['none', 'demean'], values, 2, 2, 2), [null, [2, 22]]);
  assert.deepEqual(learntLevelBounds('demean', values, 2, 2, 1), [
    [0, 0],
    [6, 18],
  ]);
  // Nothing demeaned: nothing to bound.
  assert.equal(learntLevelBounds(['none', 'diff'], values, 2, 2, 1), undefined);
  assert.throws(() => learntLevelBounds('demean', values, 2, 2, -1), RangeError);
  assert.throws(() => learntLevelBounds('demean', values.subarray(0, 5), 2, 2, 1), RangeError);
});
