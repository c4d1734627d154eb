import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Spot, calibrate } from '../../../src/core/calibration';
import type { SpotDecision } from '../../../src/core/calibration';
import { createRng } from '../../../src/core/random';

const SEED = 424242;

function exponential(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => -Math.log(1 - rng()));
}

test('streaming on clean Exp(1) scores keeps the threshold near ln(1/q) and the alarm rate near q', () => {
  const scores = exponential(120_000, SEED);
  const spot = Spot.fromScores(scores.subarray(0, 20_000), { q: 1e-3, initialQuantile: 0.98 });
  const counts: Record<SpotDecision, number> = { anomaly: 0, excess: 0, normal: 0 };
  for (let i = 20_000; i < scores.length; i++) counts[spot.push(scores[i])]++;
  const rate = counts.anomaly / 100_000;
  assert.ok(rate > 0.5e-3 && rate < 1.6e-3, `anomaly rate ${rate} (seed ${SEED})`);
  const rel = Math.abs(spot.threshold - Math.log(1000)) / Math.log(1000);
  assert.ok(rel < 0.1, `final threshold ${spot.threshold} (seed ${SEED})`);
  assert.ok(Math.abs(counts.excess / 100_000 - 0.02) < 0.003, `excess rate ${counts.excess / 100_000}`);
  assert.ok(Math.abs(spot.pValue(spot.threshold) - 1e-3) < 1e-9);
});

test('a sustained fault is flagged throughout and does not drag the threshold up', () => {
  const spot = Spot.fromScores(exponential(20_000, SEED), { q: 1e-3, initialQuantile: 0.98 });
  const before = spot.threshold;
  for (let i = 0; i < 5000; i++) assert.equal(spot.push(50), 'anomaly', `fault score ${i} not flagged`);
  assert.ok(spot.threshold < before * 1.1, `threshold ${before} -> ${spot.threshold} (seed ${SEED})`);
});

test('the threshold follows a slow increase of the score scale', () => {
  const rng = createRng(SEED + 1);
  const spot = Spot.fromScores(exponential(20_000, SEED), { q: 1e-3, initialQuantile: 0.98, maxExcesses: 500 });
  const before = spot.threshold;
  for (let i = 0; i < 200_000; i++) spot.push(-1.3 * Math.log(1 - rng()));
  // Scores now Exp(mean 1.3): z ~ u_old + 1.3 * ln(P(S > u_old) / q), well above the start.
  assert.ok(spot.threshold > before * 1.15, `threshold ${before} -> ${spot.threshold} (seed ${SEED})`);
});

test('starting from a stored calibration reproduces its threshold and keeps learning', () => {
  const c = calibrate(exponential(50_000, SEED), { kind: 'pot', q: 1e-3, initialQuantile: 0.98 });
  const spot = new Spot(JSON.parse(JSON.stringify(c.tail)) as typeof c.tail, { q: 1e-3 });
  assert.ok(Math.abs(spot.threshold / c.threshold - 1) < 0.02, `${spot.threshold} vs ${c.threshold}`);
  const u = spot.tail.gpd.u;
  assert.equal(spot.push(u + 0.5), 'excess');
  assert.equal(spot.push(u - 0.5), 'normal');
  assert.equal(spot.tail.gpd.n, c.tail.gpd.n + 2);
  assert.equal(spot.tail.gpd.nExceed, c.tail.gpd.nExceed + 1);
});

test('invalid input throws RangeError', () => {
  const c = calibrate(exponential(5000, SEED), { kind: 'pot', q: 1e-3, initialQuantile: 0.98 });
  assert.throws(() => new Spot(c.tail, { q: 0 }), /q must be in/);
  assert.throws(() => new Spot(c.tail, { q: 1e-3, maxExcesses: 3 }), /maxExcesses/);
  const spot = new Spot(c.tail, { q: 1e-3 });
  assert.throws(() => spot.push(Number.NaN), /NaN/);
  assert.throws(() => Spot.fromScores([], { q: 1e-3, initialQuantile: 0.98 }), /no scores/);
  assert.throws(() => Spot.fromScores([1, Number.NaN], { q: 1e-3, initialQuantile: 0.98 }), /index 1/);
});
