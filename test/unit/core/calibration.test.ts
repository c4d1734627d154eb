import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, pValue, validateMethod, validateTail } from '../../../src/core/calibration';
import type { Calibration, CalibrationMethod } from '../../../src/core/calibration';
import { MAX_BODY_POINTS } from '../../../src/core/tail';
import { createRng, gaussian } from '../../../src/core/random';

const SEED = 20240611;

function sample(n: number, seed: number, draw: (u: number, rng: () => number) => number): Float64Array {
  const rng = createRng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = draw(rng(), rng);
  return out;
}
const exponential = (n: number, seed: number): Float64Array => sample(n, seed, (u) => -Math.log(1 - u));
/** GPD(sigma = 1, xi) by inversion. */
const gpd = (n: number, seed: number, xi: number): Float64Array =>
  sample(n, seed, (u) => (Math.pow(1 - u, -xi) - 1) / xi);

const pot = (q: number, initialQuantile = 0.98): CalibrationMethod => ({ kind: 'pot', q, initialQuantile });

function within(actual: number, expected: number, relTol: number, what: string): void {
  const rel = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(rel <= relTol, `${what}: got ${actual}, expected ${expected} +- ${relTol * 100}% (seed ${SEED})`);
}

test('percentile: exact on a small sample, close to the true quantile on a uniform sample', () => {
  const small = calibrate(Array.from({ length: 100 }, (_, i) => i + 1), { kind: 'percentile', percentile: 50 });
  assert.equal(small.threshold, 50.5);
  assert.equal(small.nScores, 100);
  const uniform = sample(100_000, SEED, (u) => u);
  const c = calibrate(uniform, { kind: 'percentile', percentile: 99 });
  assert.ok(Math.abs(c.threshold - 0.99) < 0.002, `threshold ${c.threshold} (seed ${SEED})`);
});

test('sigma: mean + k * sample std, exact and on a normal sample', () => {
  const c = calibrate([1, 2, 3, 4, 5], { kind: 'sigma', k: 2 });
  assert.ok(Math.abs(c.threshold - (3 + 2 * Math.sqrt(2.5))) < 1e-12, `threshold ${c.threshold}`);
  const rng = createRng(SEED);
  const normal = Float64Array.from({ length: 100_000 }, () => 10 + 2 * gaussian(rng));
  const n3 = calibrate(normal, { kind: 'sigma', k: 3 });
  within(n3.threshold, 16, 0.01, 'mean + 3 std of N(10, 2)');
});

test('pot on Exp(1): q = 1e-3 gives a threshold within 10% of ln(1000), xi ~ 0, sigma ~ 1', () => {
  const c = calibrate(exponential(100_000, SEED), pot(1e-3));
  within(c.threshold, Math.log(1000), 0.1, 'POT threshold');
  const g = c.tail.gpd;
  assert.ok(g.fitted, 'tail fitted');
  assert.ok(Math.abs(g.xi) < 0.1, `xi ${g.xi} (seed ${SEED})`);
  within(g.sigma, 1, 0.1, 'sigma');
  within(g.u, Math.log(50), 0.05, 'u at the 0.98 quantile');
  assert.equal(g.nExceed, 2000);
  assert.equal(g.n, 100_000);
  // Extrapolation beyond the data: q = 1e-6 on 1e5 points.
  within(calibrate(exponential(100_000, SEED), pot(1e-6)).threshold, Math.log(1e6), 0.1, 'POT q=1e-6');
});

test('pot on GPD samples recovers the shape and the true quantile', () => {
  for (const xi of [0.3, 0.6, -0.2]) {
    const seed = SEED + Math.round(xi * 10);
    const c = calibrate(gpd(100_000, seed, xi), pot(1e-4));
    assert.ok(Math.abs(c.tail.gpd.xi - xi) < 0.1, `xi ${c.tail.gpd.xi}, true ${xi} (seed ${seed})`);
    // Threshold stability: excesses over u are GPD(1 + xi * u, xi).
    within(c.tail.gpd.sigma, 1 + xi * c.tail.gpd.u, 0.15, `sigma_u for xi ${xi} (seed ${seed})`);
    within(c.threshold, (Math.pow(1e-4, -xi) - 1) / xi, 0.2, `z_q for xi ${xi} (seed ${seed})`);
  }
});

test('pot on a bounded (uniform) sample fits a bounded tail and stays below a sane ceiling', () => {
  const c = calibrate(sample(50_000, SEED, (u) => u), pot(1e-4));
  assert.ok(c.tail.gpd.xi < -0.3, `xi ${c.tail.gpd.xi} (seed ${SEED})`);
  assert.ok(c.threshold > 0.98 && c.threshold < 1.05, `threshold ${c.threshold} (seed ${SEED})`);
});

test('pValue: ~q at the POT threshold, ~1 - p in the body, monotone, in (0, 1], continuous at u', () => {
  const scores = exponential(100_000, SEED);
  const c = calibrate(scores, pot(1e-3));
  const p = pValue(c.tail, c.threshold);
  assert.ok(Math.abs(p - 1e-3) < 1e-9, `p at threshold ${p}`);
  assert.ok(Math.abs(pValue(c.tail, Math.log(2)) - 0.5) < 0.01, 'median of Exp(1)');
  assert.ok(Math.abs(pValue(c.tail, Math.log(10)) - 0.1) < 0.005, '0.9 quantile of Exp(1)');
  const u = c.tail.gpd.u;
  const eps = 1e-9;
  assert.ok(Math.abs(pValue(c.tail, u - eps) - pValue(c.tail, u + eps)) < 1e-6, 'continuous at u');
  assert.ok(Math.abs(pValue(c.tail, u) - 0.02) < 1e-3, `p(u) ${pValue(c.tail, u)}`);
  let prev = Number.POSITIVE_INFINITY;
  for (let s = -1; s < 1000; s += s < 20 ? 0.01 : 10) {
    const ps = pValue(c.tail, s);
    assert.ok(ps > 0 && ps <= 1, `p(${s}) = ${ps} outside (0, 1]`);
    assert.ok(ps <= prev, `p(${s}) = ${ps} > previous ${prev}: not monotone`);
    prev = ps;
  }
  assert.equal(pValue(c.tail, -1), 1);
  assert.ok(pValue(c.tail, 1e12) > 0);
  assert.throws(() => pValue(c.tail, Number.NaN), RangeError);
});

test('pValue is defined for every method and bounded tails reach the floor, not 0', () => {
  const c = calibrate(sample(10_000, SEED, (u) => u), { kind: 'percentile', percentile: 99 });
  assert.ok(c.tail.gpd.fitted);
  const p = pValue(c.tail, c.threshold);
  assert.ok(Math.abs(p - 0.01) < 0.002, `p at the 99th percentile ${p}`);
  assert.ok(pValue(c.tail, 100) > 0);
});

test('degenerate inputs fall back to the empirical quantile and never give NaN', () => {
  const flat = calibrate(new Array<number>(1000).fill(0.25), pot(1e-3));
  assert.equal(flat.threshold, 0.25);
  assert.equal(flat.tail.gpd.fitted, false);
  for (const s of [0, 0.25, 0.3, 10]) {
    const p = pValue(flat.tail, s);
    assert.ok(p > 0 && p <= 1, `p(${s}) = ${p}`);
  }
  // 50 scores: one excess over the 0.98 quantile, far too few to fit.
  const few = Array.from({ length: 50 }, (_, i) => i);
  const c = calibrate(few, pot(1e-3));
  assert.equal(c.tail.gpd.fitted, false);
  assert.ok(Math.abs(c.threshold - (49 - 0.049)) < 1e-9, `threshold ${c.threshold}`);
  const single = calibrate([3], { kind: 'percentile', percentile: 90 });
  assert.equal(single.threshold, 3);
  assert.ok(Number.isFinite(pValue(single.tail, 4)));
  // Two clusters: the excesses are all equal.
  const twoValues = calibrate(Array.from({ length: 1000 }, (_, i) => (i < 950 ? 0 : 1)), pot(1e-3));
  assert.equal(twoValues.tail.gpd.fitted, false);
  assert.ok(Number.isFinite(twoValues.threshold));
});

test('the calibration is JSON-serialisable and the body is capped', () => {
  const c = calibrate(exponential(50_000, SEED), pot(1e-3));
  assert.equal(c.tail.quantiles.length, MAX_BODY_POINTS);
  const back = JSON.parse(JSON.stringify(c)) as Calibration;
  assert.deepEqual(back, c);
  assert.doesNotThrow(() => validateTail(back.tail));
  assert.equal(pValue(back.tail, 5), pValue(c.tail, 5));
  assert.throws(() => validateTail({ ...back.tail, gpd: { ...back.tail.gpd, sigma: -1 } }), /sigma/);
  assert.throws(() => validateTail({ ...back.tail, quantiles: [2, 1] }), /ascending/);
});

test('bad input throws RangeError with a clear message', () => {
  assert.throws(() => calibrate([], pot(1e-3)), /no scores/);
  assert.throws(() => calibrate([1, Number.NaN, 2], pot(1e-3)), /index 1 is NaN/);
  assert.throws(() => calibrate([1, Number.POSITIVE_INFINITY], { kind: 'percentile', percentile: 50 }), /index 1/);
  assert.throws(() => calibrate([1, 2], pot(0)), /q must be in \(0, 1\)/);
  assert.throws(() => calibrate([1, 2], pot(1.5)), /q must be in/);
  assert.throws(() => calibrate([1, 2], pot(1e-3, 1)), /initialQuantile/);
  assert.throws(() => calibrate([1, 2], pot(0.05, 0.98)), /q must be below/);
  assert.throws(() => calibrate([1, 2], { kind: 'percentile', percentile: 100 }), /percentile/);
  assert.throws(() => calibrate([1, 2], { kind: 'sigma', k: Number.NaN }), /k must be/);
  assert.throws(() => calibrate([1], { kind: 'sigma', k: 3 }), /at least 2/);
  assert.throws(() => validateMethod({ kind: 'median' } as unknown as CalibrationMethod), /kind must be/);
});

test('robust: factor x a low quantile, unmoved by anomalies in the learning scores that move every other method', () => {
  const small = calibrate(Array.from({ length: 11 }, (_, i) => i), { kind: 'robust', quantile: 0.1, factor: 3 });
  assert.equal(small.threshold, 3);
  // Clean errors: Exp(1) + 1. Then the same learning data with 30% anomalies scoring 20 to 40.
  const clean = sample(10_000, SEED, (u) => 1 - Math.log(1 - u));
  const contaminated = Float64Array.from(clean, (v, i) => (i % 10 < 3 ? 20 + (i % 7) * 3 : v));
  const robust: CalibrationMethod = { kind: 'robust', quantile: 0.1, factor: 3 };
  const before = calibrate(clean, robust).threshold;
  const after = calibrate(contaminated, robust).threshold;
  within(after, before, 0.1, 'robust threshold with 30% anomalies');
  assert.ok(after < 20, `anomalies of 20 and more stay above the robust threshold ${after}`);
  for (const other of [pot(1e-3), { kind: 'percentile', percentile: 99 } as const, { kind: 'sigma', k: 4 } as const]) {
    const t = calibrate(contaminated, other).threshold;
    assert.ok(t > 20, `${other.kind} lands above the anomalies (${t}): the reason for robust`);
  }
  // The tail model is fitted as for every method, so p-values still exist.
  assert.ok(pValue(calibrate(clean, robust).tail, before) < 0.2);
});

test('robust: quantile in (0, 0.5] and factor >= 1, or a RangeError naming the field', () => {
  assert.throws(() => validateMethod({ kind: 'robust', quantile: 0, factor: 3 }), /quantile must be in \(0, 0\.5\]/);
  assert.throws(() => validateMethod({ kind: 'robust', quantile: 0.6, factor: 3 }), /quantile must be in/);
  assert.throws(() => validateMethod({ kind: 'robust', quantile: 0.1, factor: 0.5 }), /factor must be a finite number >= 1/);
  assert.throws(() => validateMethod({ kind: 'robust', quantile: 0.1, factor: Infinity }), /factor/);
  validateMethod({ kind: 'robust', quantile: 0.5, factor: 1 });
});
