// The period finder (core/period.ts): what it reports for cycles, for cycles on a drift or a wander, for noise,
// spikes and flat channels, and the coarse pool chosen from a period.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findPeriod, poolSpanningPeriod } from '../../../src/core/period';
import { createRng, gaussian } from '../../../src/core/random';

const rng = createRng(7);
const series = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

void test('a daily cycle of 5-minute samples is 288 steps, with two cycles in the data', () => {
  // Within a step or two: taking the line out of just two cycles (and their ends) moves the peak a little.
  const p = findPeriod(series(604, (i) => 10 + 5 * Math.sin((2 * Math.PI * i) / 288)));
  assert.ok(p !== undefined && Math.abs(p.steps - 288) <= 3, `clean: ${JSON.stringify(p)}`);
  assert.ok((p?.strength ?? 0) > 0.5);
  // Noise moves the peak by a few steps, not to another cycle.
  const noisy = findPeriod(series(604, (i) => 10 + 5 * Math.sin((2 * Math.PI * i) / 288) + 0.3 * gaussian(rng)));
  assert.ok(noisy !== undefined && Math.abs(noisy.steps - 288) <= 4, `noisy: ${JSON.stringify(noisy)}`);
});

void test('fewer than two cycles: no period', () => {
  assert.equal(findPeriod(series(500, (i) => Math.sin((2 * Math.PI * i) / 288))), undefined);
});

void test('a cycle on a drift is found (the line is taken out first)', () => {
  assert.equal(findPeriod(series(750, (i) => 0.05 * i + Math.sin((2 * Math.PI * i) / 48)))?.steps, 48);
});

void test('the shortest of a cycle and its multiples is reported', () => {
  // A square wave peaks as high at 24, 48, 72 ...: the period is 24, not the highest of those.
  assert.equal(findPeriod(series(600, (i) => (i % 24 < 12 ? 1 : 0) + 0.05 * gaussian(rng)))?.steps, 24);
});

void test('white noise, a random walk and a flat channel have no period', () => {
  assert.equal(findPeriod(series(750, () => gaussian(rng))), undefined);
  let level = 0;
  assert.equal(findPeriod(series(750, () => (level += gaussian(rng)))), undefined);
  assert.equal(findPeriod(series(750, () => 3)), undefined);
});

void test('a weak cycle below the least strength is no period', () => {
  const noisy = series(750, (i) => 0.2 * Math.sin((2 * Math.PI * i) / 50) + gaussian(rng));
  assert.equal(findPeriod(noisy), undefined);
  assert.equal(findPeriod(noisy, 1, { minLag: 4, minStrength: 0, minProminence: 0 }) !== undefined, true);
});

void test('channels are averaged; a flat channel does not dilute a cycling one', () => {
  const n = 600;
  const steps = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    steps[i * 2] = 7;
    steps[i * 2 + 1] = Math.cos((2 * Math.PI * i) / 60);
  }
  assert.equal(findPeriod(steps, 2)?.steps, 60);
});

void test('missing values count as the mean', () => {
  const s = series(600, (i) => (i % 37 === 0 ? Number.NaN : Math.sin((2 * Math.PI * i) / 40)));
  assert.equal(findPeriod(s)?.steps, 40);
});

void test('the coarse pool spans one period longer than the window, else the fallback', () => {
  assert.equal(poolSpanningPeriod(288, 32, 8), 9);
  assert.equal(poolSpanningPeriod(48, 32, 8), 2);
  assert.equal(poolSpanningPeriod(40, 32, 8), 2);
  assert.equal(poolSpanningPeriod(24, 32, 8), 8);
  assert.equal(poolSpanningPeriod(32, 32, 8), 8);
  assert.equal(poolSpanningPeriod(undefined, 32, 8), 8);
});
