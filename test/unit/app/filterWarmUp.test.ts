// An auto-learnt stream's score filter starts with the learning windows in its history, scored by the model
// learnt from them (AutoLearner, warmScoreFilter), as `evaluate` streams the learning rows through the pipeline.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { AutoLearner, warmScoreFilter } from '../../../src/app/autoLearner';
import { detectorSpec, windowOptions } from '../../../src/app/detection';
import type { DetectionConfig } from '../../../src/config/schema';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import type { ScoreObservation } from '../../../src/core/scoreFilter';
import type { ScoredWindow } from '../../../src/core/scoringModel';
import type { Window } from '../../../src/core/types';
import { selectBackend } from '../../../src/model/backend';
import type { Detector } from '../../../src/model/detector';
import type { StreamBinding } from '../../../src/pipeline/pipeline';
import { testContext } from '../../helpers/context';
import { tinyDetection } from './tinyDetection';

let dir: string;
let detection: DetectionConfig;

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-filter-warm-'));
  detection = await tinyDetection(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function windows(id: string, n: number): Window[] {
  return Array.from({ length: n }, (_, w) => {
    const values = Float32Array.from({ length: 8 }, (_, t) => Math.sin((w * 4 + t) / 3));
    return { stream: id, start: w * 4000, end: w * 4000 + 7000, size: 8, channels: 1, values, completeness: 1 };
  });
}

function likelihood(): AnomalyLikelihood {
  return new AnomalyLikelihood({ averageWindows: 2, historyWindows: 100, learningWindows: 10, threshold: 0.5, suppressWindows: 0, rangeTolerance: 0.05 });
}

test('the learning windows, scored by the new model, fill the stream filter history before any later window', async () => {
  const id = 'line1/pump9';
  const filter = likelihood();
  const binding = { spec: { id, channels: ['v'] }, model: `auto:${id}`, window: windowOptions(detection.window), labels: {}, scoreFilter: filter } as unknown as StreamBinding;
  const t = testContext('learner');
  let learnt: Detector | undefined;
  let done!: () => void;
  const ready = new Promise<void>((r) => (done = r));
  const learner = new AutoLearner(t.ctx, {
    windows: 30,
    modelsDir: path.join(dir, 'models'),
    backend: 'auto',
    specFor: (b) => detectorSpec(detection, b.model, b.spec, 'test', 'test'),
    onLearned: (_model, detector) => {
      learnt = detector;
      assert.equal(filter.snapshot()?.scales[0]?.history.length ?? 0, 0, 'nothing fed before the model is handed over');
      done();
    },
  });
  try {
    const learning = windows(id, 30);
    for (const w of learning) learner.offer(binding, w);
    await ready;
    const history = filter.snapshot()?.scales[0]?.history;
    assert.ok(learnt);
    const expected = learnt.score(learning).map((s) => s.score);
    assert.deepEqual(Array.from(history ?? []), expected, 'the history holds the learning windows as the new model scores them, in order');
    const log = t.logs.find((l) => l.msg === 'Score filter warmed with the learning windows.');
    assert.equal(log?.fields?.['windows'], 30);
  } finally {
    t.abort.abort();
    learnt?.dispose();
  }
});

test('warmScoreFilter feeds every window once, in time order, with its values, as learning', () => {
  const seen: ScoreObservation[] = [];
  const filter = { filter: (o: ScoreObservation) => (seen.push(o), o) };
  const ws = windows('s', 7);
  const detector = {
    score: (part: readonly Window[]): ScoredWindow[] =>
      part.map((w) => ({ stream: w.stream, start: w.start, end: w.end, score: w.start / 1000, threshold: 1, pValue: 0.5, anomalous: false, completeness: 1, channelShares: new Float32Array(1) })),
  };
  assert.equal(warmScoreFilter(filter, detector, ws, 3), 7);
  assert.deepEqual(seen.map((o) => o.time), ws.map((w) => w.end));
  assert.deepEqual(seen.map((o) => o.score), ws.map((w) => w.start / 1000));
  assert.ok(seen.every((o, i) => o.learn === true && o.window?.values === ws[i].values && o.window.channels === 1));
});
