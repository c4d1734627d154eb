// The coarse time scale: the pooled view the filter keeps from the windows it sees, the coarse detector's
// score handed to the likelihood as a second scale, and the steps auto-learning recovers from windows.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { CoarseScaleFilter } from '../../../src/model/coarseScale';
import { pooledWindows, stepsOfWindows } from '../../../src/core/pooledSteps';
import { MIN_COARSE_WINDOWS, trainCoarseDetector } from '../../../src/model/coarseModel';
import { createRng, gaussian } from '../../../src/core/random';
import type { ScoreObservation, StreamScoreFilter } from '../../../src/core/scoreFilter';
import { windowsFromSeries } from '../../../src/core/window';
import { selectBackend } from '../../../src/model/backend';
import type { Detector } from '../../../src/model/detector';
import { completeWindows, tinyDetectorSpec } from '../../helpers/tinyDetector';

const SIZE = 8;
const POOL = 4;
const STREAM = { id: 'daily', channels: ['v'] };
const WINDOW = { size: SIZE, hop: 1, maxGapMs: 10_000, minCompleteness: 0.5 };
const ROWS = 400;
const SPEC = tinyDetectorSpec({ name: 'coarse-test', stream: STREAM, window: WINDOW, encoderUnits: [8], latentUnits: 2, scaleMargin: 0.1, train: { epochs: 10 } });

let times: Float64Array;
let values: Float32Array;
let coarse: Detector;

/** Records what the likelihood would be handed. */
class Recorder implements StreamScoreFilter {
  readonly seen: ScoreObservation[] = [];
  filter(o: ScoreObservation): ScoreObservation {
    this.seen.push(o);
    return o;
  }
}

before(async () => {
  await selectBackend();
  const rng = createRng(3);
  times = Float64Array.from({ length: ROWS }, (_, i) => i * 1000);
  values = Float32Array.from({ length: ROWS }, (_, i) => 5 + Math.sin((2 * Math.PI * i) / 96) + 0.05 * gaussian(rng));
  const trained = await trainCoarseDetector(SPEC, POOL, times.subarray(0, 200), values.subarray(0, 200));
  assert.ok(trained, '200 steps hold 169 pooled windows');
  coarse = trained.detector;
  assert.equal(coarse.manifest.name, 'coarse-test/coarse');
  assert.equal(coarse.manifest.training.windows, 200 - SIZE * POOL + 1);
});

void test('coarse_period: the pool spans the learning steps\' period and the manifest records it; without a period, the configured pool', async () => {
  // The learning rows cycle every 96 steps, 12 windows of 8: pool 12 (96 + 63 of the 200 steps make its windows).
  const chosen = await trainCoarseDetector(SPEC, { pool: POOL, fromPeriod: true }, times.subarray(0, 200), values.subarray(0, 200));
  assert.equal(chosen?.detector.manifest.pool, 12);
  chosen?.detector.dispose();
  const flat = new Float32Array(200).fill(5);
  const fallback = await trainCoarseDetector(SPEC, { pool: POOL, fromPeriod: true }, times.subarray(0, 200), flat);
  assert.equal(fallback?.detector.manifest.pool, POOL);
  fallback?.detector.dispose();
});

void test('too few learning steps for the pooled windows: no coarse model', async () => {
  const steps = SIZE * POOL + MIN_COARSE_WINDOWS - 2;
  assert.equal(await trainCoarseDetector(SPEC, POOL, times.subarray(0, steps), values.subarray(0, steps)), undefined);
});

void test('the filter hands the coarse score of the pooled view to the likelihood, refreshed every pool samples', () => {
  const inner = new Recorder();
  const filter = new CoarseScaleFilter(inner, () => coarse, { stream: STREAM.id, pool: POOL, size: SIZE, hop: 1, channels: 1 });
  const windows = completeWindows(STREAM, times, values, WINDOW);
  for (const w of windows) filter.filter({ time: w.end, score: 0.1, threshold: 1, pValue: 0.5, anomalous: false, window: { values: w.values, channels: 1 } });
  const span = SIZE * POOL;
  // Windows end at rows SIZE-1 ..; the pooled view is full from row span-1 on.
  const first = span - SIZE;
  assert.ok(inner.seen.slice(0, first).every((o) => o.otherScales === undefined));
  const expected = coarse.score(pooledWindows(STREAM.id, times, values, 1, POOL, SIZE));
  const handed = inner.seen.slice(first).map((o) => o.otherScales?.[0] ?? Number.NaN);
  assert.equal(handed.length, expected.length);
  handed.forEach((h, i) => {
    // Scored at the first full view and then every POOL rows; held in between.
    const at = i - (i % POOL);
    assert.ok(Math.abs(h - expected[at].score) < 1e-6, `row ${first + i}: ${h} vs ${expected[at].score}`);
  });
  assert.ok(new Set(handed).size > 10, 'the coarse score moves with the stream');
});

void test('without a coarse detector yet, windows pass with the main scale alone', () => {
  const inner = new Recorder();
  const filter = new CoarseScaleFilter(inner, () => undefined, { stream: STREAM.id, pool: POOL, size: SIZE, hop: 1, channels: 1 });
  for (const e of windowsFromSeries(STREAM, times, values, WINDOW)) {
    if (e.kind === 'window') filter.filter({ time: e.window.end, score: 1, threshold: 1, pValue: 0.5, anomalous: false, window: { values: e.window.values, channels: 1 } });
  }
  assert.equal(inner.seen.length, ROWS - SIZE + 1);
  assert.ok(inner.seen.every((o) => o.otherScales === undefined));
});

void test('stepsOfWindows recovers the steps under consecutive windows of a hop', () => {
  const hop = 3;
  const windows = completeWindows(STREAM, times.subarray(0, 50), values.subarray(0, 50), { ...WINDOW, hop });
  const { times: t, steps } = stepsOfWindows(windows, hop);
  const covered = SIZE + (windows.length - 1) * hop;
  assert.equal(steps.length, covered);
  const offset = windows[0].start / 1000;
  for (let i = 0; i < covered; i++) {
    assert.equal(steps[i], values[offset + i]);
    assert.equal(t[i], times[offset + i]);
  }
});
