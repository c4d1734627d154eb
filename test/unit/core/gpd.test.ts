import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XI_MAX, XI_MIN, fitGpd, gpdInverseSurvival, gpdSurvival } from '../../../src/core/gpd';
import { createRng } from '../../../src/core/random';

const SEED = 7;

test('survival and inverse survival are inverses, including the exponential limit', () => {
  for (const p of [
    { sigma: 2, xi: 0.4 },
    { sigma: 0.5, xi: 0 },
    { sigma: 1, xi: -0.3 },
    { sigma: 1, xi: 1e-12 },
  ]) {
    for (const s of [0.5, 0.1, 1e-3, 1e-8]) {
      const y = gpdInverseSurvival(s, p);
      assert.ok(Math.abs(gpdSurvival(y, p) / s - 1) < 1e-9, `${JSON.stringify(p)} s=${s}`);
    }
  }
  assert.equal(gpdSurvival(0, { sigma: 1, xi: 0.2 }), 1);
  assert.equal(gpdSurvival(5, { sigma: 1, xi: -0.5 }), 0, 'beyond the end point of a bounded tail');
});

test('fitGpd returns null when the excesses carry no shape information', () => {
  assert.equal(fitGpd([]), null);
  assert.equal(fitGpd([1]), null);
  assert.equal(fitGpd([2, 2, 2, 2]), null);
  assert.equal(fitGpd([1, Number.NaN, 2]), null);
  assert.equal(fitGpd([1, -1, 2]), null);
});

test('fitGpd recovers parameters; a warm start reaches the same optimum', () => {
  const rng = createRng(SEED);
  const xi = 0.25;
  const sigma = 3;
  const y = Float64Array.from({ length: 20_000 }, () => (sigma / xi) * (Math.pow(1 - rng(), -xi) - 1));
  const fit = fitGpd(y);
  assert.ok(fit !== null);
  assert.ok(Math.abs(fit.xi - xi) < 0.05, `xi ${fit.xi} (seed ${SEED})`);
  assert.ok(Math.abs(fit.sigma / sigma - 1) < 0.05, `sigma ${fit.sigma} (seed ${SEED})`);
  const warm = fitGpd(y, fit.theta * 1.3);
  assert.ok(warm !== null);
  assert.ok(Math.abs(warm.xi - fit.xi) < 1e-5 && Math.abs(warm.sigma / fit.sigma - 1) < 1e-5, JSON.stringify(warm));
  assert.ok(fit.xi >= XI_MIN && fit.xi <= XI_MAX);
});

test('censored excesses raise the fitted tail relative to dropping them', () => {
  const rng = createRng(SEED);
  const all = Float64Array.from({ length: 5000 }, () => -Math.log(1 - rng()));
  const cut = 3;
  const kept = all.filter((v) => v <= cut);
  const censored = new Float64Array(all.length - kept.length).fill(cut);
  const truncated = fitGpd(kept);
  const withCensoring = fitGpd(kept, undefined, censored);
  assert.ok(truncated !== null && withCensoring !== null);
  // Dropping the top of an Exp(1) sample makes it look bounded; censoring restores xi ~ 0.
  assert.ok(truncated.xi < -0.1, `truncated xi ${truncated.xi} (seed ${SEED})`);
  assert.ok(Math.abs(withCensoring.xi) < 0.08, `censored xi ${withCensoring.xi} (seed ${SEED})`);
  assert.ok(Math.abs(withCensoring.sigma - 1) < 0.08, `censored sigma ${withCensoring.sigma} (seed ${SEED})`);
});
