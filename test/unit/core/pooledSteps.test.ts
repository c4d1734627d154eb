import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PooledSteps, pooledWindows } from '../../../src/core/pooledSteps';

void test('a pooled window is the block means of the last size x pool steps, oldest first', () => {
  const p = new PooledSteps(3, 2, 1);
  p.push([1, 2, 3, 4, 5]);
  assert.equal(p.window(), undefined, 'five steps do not fill 2 blocks of 3');
  p.push([6]);
  assert.deepEqual(Array.from(p.window() ?? []), [2, 5]);
  p.push([7, 8, 9]);
  // The ring has moved on: steps 4..9.
  assert.deepEqual(Array.from(p.window() ?? []), [5, 8]);
});

void test('channels are pooled separately (time-major input)', () => {
  const p = new PooledSteps(2, 2, 2);
  p.push([1, 10, 3, 30, 5, 50, 7, 70]);
  assert.deepEqual(Array.from(p.window() ?? []), [2, 20, 6, 60]);
  assert.throws(() => p.push([1, 2, 3]), /2-channel steps/);
  assert.throws(() => new PooledSteps(0, 2, 1), /pool must be an integer >= 1/);
});

void test('pooledWindows: one window per stride once full, none holding a missing value', () => {
  const times = Array.from({ length: 20 }, (_, i) => 1000 + i);
  const steps = times.map((_, i) => i);
  const all = pooledWindows('s', times, steps, 1, 2, 4);
  assert.equal(all.length, 20 - 8 + 1);
  assert.deepEqual(Array.from(all[0].values), [0.5, 2.5, 4.5, 6.5]);
  assert.equal(all[0].start, 1000);
  assert.equal(all[0].end, 1007);
  assert.equal(pooledWindows('s', times, steps, 1, 2, 4, 5).length, 3, 'windows end at steps 10, 15, 20');
  const gappy = steps.slice();
  gappy[9] = Number.NaN;
  // Windows whose span covers step 9 (ending at steps 9..16) are left out.
  assert.equal(pooledWindows('s', times, gappy, 1, 2, 4).length, all.length - 8);
});

void test('a view re-cut to another pool keeps the newest steps that fit its span', () => {
  const view = new PooledSteps(2, 2, 1);
  view.push([1, 2, 3, 4, 5]);
  // Pool 2 holds the last 4 steps (2, 3, 4, 5); pooled by 1 over 2 steps: the last two.
  assert.deepEqual(Array.from(view.repooled(1).window() ?? []), [4, 5]);
  // Pooled by 3 over 2 steps needs 6: it has the 4 and waits for more.
  const wider = view.repooled(3);
  assert.equal(wider.steps, 4);
  assert.equal(wider.window(), undefined);
  wider.push([6, 7]);
  assert.deepEqual(Array.from(wider.window() ?? []), [3, 6]);
});
