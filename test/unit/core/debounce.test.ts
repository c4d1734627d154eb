import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KOfN } from '../../../src/core/debounce';

test('2 of 3: true once two of the last three pushes were true', () => {
  const d = new KOfN(2, 3);
  const pushes = [true, false, true, false, false, true, true, false, false];
  const expected = [false, false, true, false, false, false, true, true, false];
  assert.deepEqual(
    pushes.map((p) => d.push(p)),
    expected,
  );
});

test('1 of 1 follows the input; n of n needs an unbroken run', () => {
  const a = new KOfN(1, 1);
  assert.deepEqual([true, false, true].map((p) => a.push(p)), [true, false, true]);
  const b = new KOfN(3, 3);
  assert.deepEqual(
    [true, true, false, true, true, true].map((p) => b.push(p)),
    [false, false, false, false, false, true],
  );
});

test('reset forgets history', () => {
  const d = new KOfN(2, 4);
  d.push(true);
  d.push(true);
  assert.equal(d.count, 2);
  d.reset();
  assert.equal(d.count, 0);
  assert.equal(d.push(true), false);
});

test('invalid k and n throw RangeError', () => {
  assert.throws(() => new KOfN(0, 3), RangeError);
  assert.throws(() => new KOfN(4, 3), RangeError);
  assert.throws(() => new KOfN(1, 0), RangeError);
  assert.throws(() => new KOfN(1.5, 3), RangeError);
});
