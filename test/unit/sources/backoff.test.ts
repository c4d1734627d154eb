import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs } from '../../../src/sources/backoff';

const o = { minDelayMs: 1000, maxDelayMs: 30_000, jitter: 0.2 };

void test('doubles from min up to max without jitter at the midpoint', () => {
  const mid = (): number => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 100, 5000].map((a) => backoffDelayMs(a, o, mid)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
});

void test('jitter spreads each delay within +-jitter', () => {
  assert.equal(backoffDelayMs(0, o, () => 0), 800);
  assert.equal(backoffDelayMs(0, o, () => 0.999999), 1200);
  assert.equal(backoffDelayMs(10, o, () => 0), 24_000);
  let seed = 7;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const delays = Array.from({ length: 200 }, () => backoffDelayMs(3, o, rnd));
  assert.ok(delays.every((d) => d >= 6400 && d <= 9600));
  assert.ok(new Set(delays).size > 50, 'delays differ between attempts');
});

void test('zero jitter and zero min delay are allowed', () => {
  assert.equal(backoffDelayMs(3, { minDelayMs: 0, maxDelayMs: 10, jitter: 0 }), 0);
  assert.equal(backoffDelayMs(3, { ...o, jitter: 0 }), 8000);
});
