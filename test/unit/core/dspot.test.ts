// DSPOT (core/dspot.ts): depth 0 is SPOT from the calibration; depth d follows a drifting level that makes
// SPOT alarm; an anomaly moves neither the level nor the tail; state() and restoreState() continue exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, Spot } from '../../../src/core/calibration';
import { Dspot } from '../../../src/core/dspot';
import { createRng } from '../../../src/core/random';

const SEED = 20261206;
const Q = 1e-3;

function exponential(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => -Math.log(1 - rng()));
}

test('depth 0 starts at the calibrated POT threshold and decides as SPOT from the same tail', () => {
  const c = calibrate(exponential(20_000, SEED), { kind: 'spot', q: Q, initialQuantile: 0.98, depth: 0, maxExcesses: 500 });
  const d = Dspot.fromTail(c.tail, { q: Q, depth: 0, maxExcesses: 500 });
  const s = new Spot(c.tail, { q: Q, maxExcesses: 500 });
  assert.equal(d.threshold, s.threshold);
  assert.ok(Math.abs(d.threshold / c.threshold - 1) < 0.02, `${d.threshold} vs calibrated ${c.threshold}`);
  for (const x of exponential(5000, SEED + 1)) assert.equal(d.push(x), s.push(x));
  assert.equal(d.threshold, s.threshold);
});

test('depth > 0 starts where the calibration put the threshold, then rides a drifting level that SPOT alarms on', () => {
  const c = calibrate(exponential(20_000, SEED), { kind: 'pot', q: Q, initialQuantile: 0.98 });
  const dspot = Dspot.fromTail(c.tail, { q: Q, depth: 50 });
  const spot = Dspot.fromTail(c.tail, { q: Q, depth: 0 });
  assert.ok(Math.abs(dspot.threshold / spot.threshold - 1) < 1e-9, `${dspot.threshold} vs ${spot.threshold}`);
  // The level climbs by 5 (five times the noise's mean) over 50,000 scores.
  const noise = exponential(50_000, SEED + 2);
  let dAlarms = 0;
  let sAlarms = 0;
  for (let i = 0; i < noise.length; i++) {
    const x = (5 * i) / noise.length + noise[i];
    if (dspot.push(x) === 'anomaly') dAlarms++;
    if (spot.push(x) === 'anomaly') sAlarms++;
  }
  // The excess over the 50-score mean is Exp(1) minus a mean of 50 Exp(1): its 1e-3 tail is near the calibration's.
  assert.ok(dAlarms / noise.length < 3 * Q, `DSPOT alarm rate ${dAlarms / noise.length} (seed ${SEED})`);
  assert.ok(sAlarms > 5 * dAlarms, `SPOT alarms ${sAlarms}, DSPOT ${dAlarms} (seed ${SEED})`);
  assert.ok(dspot.threshold > 5, `the threshold rode the level up: ${dspot.threshold}`);
});

test('a sustained fault is flagged throughout and moves neither the level nor the threshold much', () => {
  const d = Dspot.fromScores(exponential(20_000, SEED), { q: Q, initialQuantile: 0.98, depth: 20 });
  const before = d.threshold;
  for (let i = 0; i < 2000; i++) assert.equal(d.push(100), 'anomaly', `fault score ${i}`);
  assert.ok(d.threshold < before * 1.1, `threshold ${before} -> ${d.threshold} (seed ${SEED})`);
});

test('judge decides without learning', () => {
  const d = Dspot.fromScores(exponential(5000, SEED), { q: Q, initialQuantile: 0.98, depth: 5 });
  const before = JSON.stringify([d.threshold, Array.from(d.state().window), d.state().spot.gpd]);
  assert.equal(d.judge(1000), 'anomaly');
  assert.equal(d.judge(0), 'normal');
  assert.equal(JSON.stringify([d.threshold, Array.from(d.state().window), d.state().spot.gpd]), before);
});

test('fromScores detrends by the mean of the previous depth scores', () => {
  // A ramp plus noise: the threshold sits on the mean of the last 3 scores, not on the ramp's start.
  const noise = exponential(3000, SEED + 3);
  const scores = Float64Array.from(noise, (x, i) => i * 0.01 + x);
  const d = Dspot.fromScores(scores, { q: Q, initialQuantile: 0.98, depth: 3 });
  const tail = d.state();
  assert.deepEqual(Array.from(tail.window), Array.from(scores.subarray(scores.length - 3)));
  const level = (scores[scores.length - 1] + scores[scores.length - 2] + scores[scores.length - 3]) / 3;
  assert.ok(d.threshold > level && d.threshold < level + 15, `threshold ${d.threshold} over level ${level}`);
  assert.throws(() => Dspot.fromScores(scores.subarray(0, 3), { q: Q, initialQuantile: 0.98, depth: 3 }), /needs more/);
});

test('a restored state continues bit for bit, including the censored excesses of a fault', () => {
  const c = calibrate(exponential(10_000, SEED), { kind: 'pot', q: Q, initialQuantile: 0.98 });
  const opts = { q: Q, depth: 7, maxExcesses: 40 };
  const a = Dspot.fromTail(c.tail, opts);
  const input = exponential(6000, SEED + 4);
  // A fault in the middle makes censored excesses; 6000 scores overfill the 40-excess ring.
  for (let i = 0; i < 3000; i++) a.push(i > 1000 && i < 1010 ? 30 : input[i]);
  const saved = a.state();
  const b = Dspot.fromTail(c.tail, opts);
  b.restoreState(structuredClone(saved));
  assert.equal(b.threshold, a.threshold);
  for (let i = 3000; i < input.length; i++) {
    assert.equal(b.push(input[i]), a.push(input[i]));
    assert.equal(b.threshold, a.threshold, `score ${i}`);
  }
  assert.ok(saved.spot.censoredLevels.length > 0, 'the fault left censored excesses');
});

test('a state that does not fit is refused and changes nothing', () => {
  const c = calibrate(exponential(10_000, SEED), { kind: 'pot', q: Q, initialQuantile: 0.98 });
  const a = Dspot.fromTail(c.tail, { q: Q, depth: 3, maxExcesses: 40 });
  for (const x of exponential(500, SEED + 5)) a.push(x);
  const saved = a.state();
  const other = Dspot.fromTail(c.tail, { q: Q, depth: 3, maxExcesses: 50 });
  const before = other.threshold;
  assert.throws(() => other.restoreState(saved), /max_excesses 40/);
  assert.throws(() => Dspot.fromTail(c.tail, { q: Q, depth: 4, maxExcesses: 40 }).restoreState(saved), /depth is 4/);
  const bad = { ...saved, spot: { ...saved.spot, excesses: Float64Array.of(Number.NaN, ...saved.spot.excesses.subarray(1)) } };
  assert.throws(() => Dspot.fromTail(c.tail, { q: Q, depth: 3, maxExcesses: 40 }).restoreState(bad), /excess NaN/);
  assert.equal(other.threshold, before);
  assert.throws(() => Dspot.fromTail(c.tail, { q: Q, depth: -1 }), /depth must be/);
});
