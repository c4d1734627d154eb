// The pipeline's two hooks for model versions: each score point carries the version of the model that scored
// it (versionOf, asked per batch, so a promotion between batches shows in the next one), and the windows the
// live model scored are handed on (shadow) after the live points are written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScoredWindow, ScoringModel } from '../../../src/core/scoringModel';
import type { Window } from '../../../src/core/types';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { CaptureSink } from '../../../src/sinks/capture';
import { ManualClock } from '../../../src/core/clock';
import { testContext } from '../../helpers/context';

const scorer: ScoringModel = {
  dir: '/m',
  manifest: { architecture: { inputSize: 2 }, window: { size: 2 }, channels: ['x'] },
  score: (windows: readonly Window[]): ScoredWindow[] =>
    windows.map((w) => ({ stream: w.stream, start: w.start, end: w.end, score: 0.1, threshold: 1, pValue: 0.5, anomalous: false, completeness: 1, channelShares: new Float32Array([1]) })),
  readings: () => ({ of: () => undefined }),
};

test('score points carry the version in force; the scored windows go on to the shadow hook', async () => {
  let version = 'v1';
  const handed: { model: string; ends: number[] }[] = [];
  const sink = new CaptureSink();
  const pipeline = new Pipeline({
    ctx: testContext('pipeline', new ManualClock(0)).ctx,
    options: { queueCapacity: 100, whenFull: 'block', maxBatch: 64, maxWaitMs: 5, maxStreams: 10 },
    bind: (batch) => ({
      spec: { id: batch.stream, channels: ['x'] }, model: 'pump', window: { size: 2, hop: 2, maxGapMs: 5000, minCompleteness: 0.5 }, labels: {},
      alerts: { observe: () => [], observeInsufficient: () => [] },
    }),
    detectorFor: () => scorer,
    sinks: [sink],
    versionOf: () => version,
    shadow: (model, windows) => handed.push({ model, ends: windows.map((w) => w.end) }),
  });
  const send = (t0: number): void | Promise<void> =>
    pipeline.deliver({ stream: 'l1/p1', subscription: 0, labels: {}, samples: [0, 1].map((i) => ({ ts: (t0 + i) * 1000, values: [1] })) });
  await send(0);
  pipeline.drain();
  version = 'v2';
  await send(2);
  pipeline.drain();
  assert.deepEqual(sink.scores.map((p) => [p.time, p.modelVersion]), [[1000, 'v1'], [3000, 'v2']]);
  assert.deepEqual(handed, [{ model: 'pump', ends: [1000] }, { model: 'pump', ends: [3000] }]);
});
