import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUTO_PROMOTER, promoteShadows, type ShadowStore } from '../../../src/app/retrainPromotion';
import type { RetrainJob } from '../../../src/app/retrainJobs';
import type { RetrainSettings } from '../../../src/app/retrainSettings';
import { testContext } from '../../helpers/context';

const settings = (promotion: 'manual' | 'auto'): RetrainSettings => ({
  everyMs: null, drift: null, lookbackMs: 1, source: 'recorded', influxQuery: null, minCleanWindows: 10, shadowForMs: 86_400_000,
  promotion, autoPromote: { maxAlertRateRatio: 1, minLabelAgreement: 0.8 },
});

function job(stream: string, model: string, version: string): RetrainJob {
  return { id: `j-${stream}`, stream, model, trigger: 'drift', state: 'shadow', requestedAt: 0, version };
}

test('auto: a promote verdict promotes with the bounds of the stream; reject leaves it in shadow with the reason; manual and wait do nothing', async () => {
  const asked: unknown[] = [];
  const promoted: unknown[] = [];
  const verdicts: Record<string, 'promote' | 'wait' | 'reject'> = { m1: 'promote', m2: 'reject', m3: 'wait', m4: 'promote' };
  const store: ShadowStore = {
    judgeShadow: (model, bounds) => {
      asked.push([model, bounds]);
      return { version: model === 'm4' ? 'v9' : 'v2', verdict: verdicts[model], reason: `${model} verdict` };
    },
    promote: (model, version, who) => {
      promoted.push([model, version, who]);
      return Promise.resolve({ model, live: version, previous: 'v1' });
    },
  };
  const jobs = [job('a', 'm1', 'v2'), job('b', 'm2', 'v2'), job('c', 'm3', 'v2'), job('d', 'm4', 'v2'), job('manual', 'm1', 'v2')];
  const changed = await promoteShadows(jobs, (s) => settings(s === 'manual' ? 'manual' : 'auto'), store, testContext().ctx.log, 1000);
  assert.equal(changed, true);
  assert.deepEqual(promoted, [['m1', 'v2', AUTO_PROMOTER]]);
  assert.deepEqual(asked[0], ['m1', { maxAlertRateRatio: 1, minLabelAgreement: 0.8, minShadowMs: 86_400_000 }]);
  assert.deepEqual(jobs.map((j) => j.state), ['promoted', 'rejected', 'shadow', 'shadow', 'shadow'], 'm4\'s shadow is another candidate (v9): not this job\'s');
  assert.equal(jobs[1].reason, 'm2 verdict');
  assert.equal(asked.length, 4, 'the manual stream is not judged');
});

test('a promotion the store refuses leaves the job in shadow, judged again later', async () => {
  const store: ShadowStore = {
    judgeShadow: () => ({ version: 'v2', verdict: 'promote', reason: 'ok' }),
    promote: () => Promise.resolve({ refused: 'conflict', reason: 'v2 is no longer the shadow' }),
  };
  const t = testContext();
  const jobs = [job('a', 'm1', 'v2')];
  assert.equal(await promoteShadows(jobs, () => settings('auto'), store, t.ctx.log, 0), false);
  assert.equal(jobs[0].state, 'shadow');
  assert.ok(t.logs.some((l) => l.level === 'error' && l.fields?.['error'] === 'v2 is no longer the shadow'));
});
