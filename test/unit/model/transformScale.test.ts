// The transformed scale (calibration.likelihood.transform_scale): its model learns the main model's windows
// through another input transform, the filter hands its score of each window to the likelihood at its own
// slot (beside the coarse scale's), the likelihood judges that scale, and a learned model saves and loads it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import { createRng, gaussian } from '../../../src/core/random';
import { SCALE_SLOT, type ScoreObservation, type StreamScoreFilter } from '../../../src/core/scoreFilter';
import type { Window } from '../../../src/core/types';
import { selectBackend } from '../../../src/model/backend';
import { CoarseScaleFilter } from '../../../src/model/coarseScale';
import type { Detector } from '../../../src/model/detector';
import { EnsembleDetector, trainEnsemble } from '../../../src/model/ensemble';
import { loadLearnedModel, saveLearnedModel } from '../../../src/model/learnedModel';
import { trainTransformDetector } from '../../../src/model/transformModel';
import { TransformScaleFilter } from '../../../src/model/transformScale';
import { sineWindows } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

const SIZE = 16;
const STREAM = { id: 's', channels: ['v'] };
const SPEC = tinyDetectorSpec({ name: 'transform-test', stream: STREAM, window: { size: SIZE, hop: 1, maxGapMs: 10_000, minCompleteness: 0.5 }, train: { epochs: 10 } });

let dir: string;
let windows: Window[];
let main: Detector;
let transformed: Detector;

/** Records what the likelihood would be handed. */
class Recorder implements StreamScoreFilter {
  readonly seen: ScoreObservation[] = [];
  filter(o: ScoreObservation): ScoreObservation {
    this.seen.push(o);
    return o;
  }
}

function observe(w: Window, score = 0.1): ScoreObservation {
  return { time: w.end, score, threshold: 1, pValue: 0.5, anomalous: false, window: { values: w.values, channels: w.channels } };
}

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-transform-'));
  windows = sineWindows(160, SIZE, 1, 4);
  main = (await trainEnsemble(windows, SPEC, 1)).detector;
  transformed = (await trainTransformDetector(SPEC, 'diff', windows, 2)).detector;
});

after(async () => {
  main.dispose();
  transformed.dispose();
  await rm(dir, { recursive: true, force: true });
});

void test('the transformed model is an ensemble of the main shape learning the differenced windows', () => {
  assert.ok(transformed instanceof EnsembleDetector && transformed.members.length === 2);
  assert.equal(transformed.manifest.name, 'transform-test/transform');
  assert.equal(transformed.manifest.transform, 'diff');
  assert.ok(transformed.members.every((m) => m.manifest.transform === 'diff'));
  assert.equal(transformed.manifest.architecture.inputSize, main.manifest.architecture.inputSize);
  assert.equal(main.manifest.transform, undefined, 'the main model keeps its own input');
});

void test("the filter hands the transformed model's score of each window at its slot, beside the coarse scale's", () => {
  const inner = new Recorder();
  const alone = new TransformScaleFilter(inner, () => transformed, { stream: STREAM.id, size: SIZE });
  const probe = windows.slice(0, 20);
  for (const w of probe) alone.filter(observe(w));
  const expected = transformed.score(probe).map((s) => s.score);
  assert.equal(inner.seen.length, probe.length);
  inner.seen.forEach((o, i) => {
    assert.equal(o.otherScales?.length, SCALE_SLOT.transform + 1);
    assert.ok(Number.isNaN(o.otherScales?.[SCALE_SLOT.coarse]), 'no coarse score: its slot is empty');
    assert.ok(Math.abs((o.otherScales?.[SCALE_SLOT.transform] ?? NaN) - expected[i]) < 1e-6);
  });
  // With the coarse scale outside it (as withScales builds them), both land at their own slots.
  const both = new Recorder();
  const coarse = new CoarseScaleFilter(new TransformScaleFilter(both, () => transformed, { stream: STREAM.id, size: SIZE }), () => main, {
    stream: STREAM.id,
    pool: 1,
    size: SIZE,
    hop: 1,
    channels: 1,
  });
  for (const w of probe) coarse.filter(observe(w));
  const last = both.seen.at(-1)?.otherScales ?? [];
  assert.ok(Number.isFinite(last[SCALE_SLOT.coarse]));
  assert.ok(Math.abs(last[SCALE_SLOT.transform] - expected.at(-1)!) < 1e-6);
});

void test('without a transformed model yet (or for a window of another shape), windows pass with the other scales alone', () => {
  const inner = new Recorder();
  const none = new TransformScaleFilter(inner, () => undefined, { stream: STREAM.id, size: SIZE });
  for (const w of windows.slice(0, 5)) none.filter(observe(w));
  const other = new TransformScaleFilter(inner, () => transformed, { stream: STREAM.id, size: SIZE });
  other.filter({ time: 1, score: 0.1, threshold: 1, pValue: 0.5, anomalous: false, window: { values: new Float32Array(SIZE + 1), channels: 1 } });
  assert.equal(inner.seen.length, 6);
  assert.ok(inner.seen.every((o) => o.otherScales === undefined));
});

void test('the likelihood judges the transformed scale: a window only it finds surprising is anomalous', () => {
  const options = { averageWindows: 1, historyWindows: 500, learningWindows: 100, threshold: 0.5, suppressWindows: 0 };
  const withScale = new AnomalyLikelihood(options);
  const without = new AnomalyLikelihood(options);
  const rng = createRng(7);
  for (let i = 0; i < 300; i++) {
    const main = 1 + 0.1 * gaussian(rng);
    const other = 1 + 0.1 * gaussian(rng);
    const o = { time: i, score: main, threshold: 1, pValue: 0.5, anomalous: false };
    assert.equal(withScale.filter({ ...o, otherScales: [NaN, other] }).anomalous, false, `window ${i}`);
    without.filter(o);
  }
  const calm = { time: 300, score: 1, threshold: 1, pValue: 0.5, anomalous: false };
  const judged = withScale.filter({ ...calm, otherScales: [NaN, 3] });
  assert.ok(judged.anomalous && judged.score >= 0.5, `judged ${judged.score}`);
  assert.equal(without.filter(calm).anomalous, false);
  // The transformed scale keeps its own history at its slot (scale 0 the model's, 1 the coarse, empty here).
  const scales = withScale.snapshot().scales;
  assert.equal(scales.length, SCALE_SLOT.transform + 2);
  assert.equal(scales[SCALE_SLOT.coarse + 1].history.length, 0);
  assert.equal(scales[SCALE_SLOT.transform + 1].history.length, 301);
});

void test('a learned model saves its transformed scale under transform/ and loads it scoring the same; saved again without, it is gone', async () => {
  const target = path.join(dir, 'learned');
  await saveLearnedModel(target, { detector: main, transformed });
  assert.ok(existsSync(path.join(target, 'transform', 'manifest.json')));
  const loaded = await loadLearnedModel(target, { channels: ['v'] });
  try {
    assert.equal(loaded.coarse, undefined);
    assert.ok(loaded.transformed instanceof EnsembleDetector && loaded.transformed.members.length === 2);
    assert.equal(loaded.transformed.manifest.transform, 'diff', 'the manifest says which transform the scale learned');
    const probe = sineWindows(6, SIZE, 1, 9);
    assert.deepEqual(loaded.transformed.score(probe).map((s) => s.score), transformed.score(probe).map((s) => s.score));
    assert.deepEqual(loaded.detector.score(probe).map((s) => s.score), main.score(probe).map((s) => s.score));
  } finally {
    loaded.detector.dispose();
    loaded.transformed?.dispose();
  }
  await saveLearnedModel(target, { detector: main });
  assert.ok(!existsSync(path.join(target, 'transform')));
  const again = await loadLearnedModel(target);
  assert.equal(again.transformed, undefined);
  again.detector.dispose();
});
