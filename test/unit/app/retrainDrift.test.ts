import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUCKETS, DriftMonitor, driftAllowed, scheduledDue } from '../../../src/app/retrainDrift';

const rule = { overMs: 24 * 3_600_000, factor: 3, minWindows: 500 };
const T0 = Date.parse('2026-12-01T00:00:00Z');

/** n windows spread over `spanMs` from t0, a fraction `low` of them with p < 0.01. */
function feed(m: DriftMonitor, n: number, low: number, t0 = T0, spanMs = rule.overMs, seed = 1): void {
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) m.add('s', t0 + (i * spanMs) / n, rand() < low ? 0.001 * rand() : 0.01 + 0.99 * rand(), rule.overMs);
}

test('calibrated data (1 % of p-values below 0.01) is no drift; 10 % is', () => {
  const calm = new DriftMonitor();
  feed(calm, 5000, 0.01);
  const v = calm.judge('s', T0 + rule.overMs, rule);
  assert.equal(v.windows, 5000);
  assert.ok(v.share > 0.005 && v.share < 0.02, `share ${v.share}`);
  assert.equal(v.drift, false);
  const drifted = new DriftMonitor();
  feed(drifted, 5000, 0.1);
  const d = drifted.judge('s', T0 + rule.overMs, rule);
  assert.ok(d.share > 0.08, `share ${d.share}`);
  assert.equal(d.drift, true);
});

test('no verdict below min_windows, however large the share', () => {
  const m = new DriftMonitor();
  feed(m, 499, 0.5);
  const v = m.judge('s', T0 + rule.overMs, rule);
  assert.ok(v.share > 0.4);
  assert.equal(v.drift, false);
});

test('only the last `over` counts: an old drifted day slides out', () => {
  const m = new DriftMonitor();
  feed(m, 2000, 0.2, T0);
  feed(m, 2000, 0.0, T0 + rule.overMs, rule.overMs, 7);
  const v = m.judge('s', T0 + 2 * rule.overMs, rule);
  assert.ok(v.windows <= 2000 + 2000 / BUCKETS + 1, `windows ${v.windows}`);
  assert.equal(v.drift, false, `share ${v.share}`);
  m.reset('s');
  assert.equal(m.judge('s', T0 + 2 * rule.overMs, rule).windows, 0);
});

test('non-finite p-values are not counted', () => {
  const m = new DriftMonitor();
  m.add('s', T0, Number.NaN, rule.overMs);
  assert.equal(m.judge('s', T0, rule).windows, 0);
});

test('schedule: due `every` after the last retrain, or after first sight; drift at most once per period', () => {
  const day = 86_400_000;
  assert.equal(scheduledDue(null, null, 0, 100 * day), false, 'no schedule');
  assert.equal(scheduledDue(7 * day, null, 0, 7 * day - 1), false);
  assert.equal(scheduledDue(7 * day, null, 0, 7 * day), true);
  assert.equal(scheduledDue(7 * day, 10 * day, 0, 16 * day), false, 'counted from the last retrain');
  assert.equal(scheduledDue(7 * day, 10 * day, 0, 17 * day), true);
  assert.equal(driftAllowed(null, day, 0), true);
  assert.equal(driftAllowed(5 * day, day, 5.5 * day), false);
  assert.equal(driftAllowed(5 * day, day, 6 * day), true);
});
