// The replay harness: the daemon's pipeline with a fake clock, and the row bookkeeping around it.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import { createRng, gaussian } from '../../../src/core/random';
import { monotoneTimes, replayThroughPipeline, type AlertSettings } from '../../../src/offline/streamReplay';
import type { Detector } from '../../../src/model/detector';
import { completeWindows, trainTinyDetector } from '../../helpers/tinyDetector';

const SIZE = 16;
const STREAM = { id: 'sine', channels: ['v'] };
const WINDOW = { size: SIZE, hop: 1, maxGapMs: 10_000, minCompleteness: 0.5 };
const ALERTS: AlertSettings = {
  k: 2,
  n: 3,
  resetWindows: 3,
  resetRatio: 0.9,
  keepFiringForMs: 0,
  severityCriticalPValue: 1e-5,
  insufficientWindows: 5,
  flapMaxStarts: 0,
  flapPeriodMs: 60_000,
  flapQuietMs: 0,
  topChannels: 1,
};
const ROWS = 900;
const FAULT = [600, 660];
let detector: Detector;
let times: Float64Array;
let values: Float32Array;

before(async () => {
  const rng = createRng(7);
  times = Float64Array.from({ length: ROWS }, (_, i) => i * 1000);
  values = Float32Array.from({ length: ROWS }, (_, i) => 10 + 3 * Math.sin((2 * Math.PI * i) / 20) + 0.05 * gaussian(rng) + (i >= FAULT[0] && i < FAULT[1] ? 4 : 0));
  const train = completeWindows(STREAM, times.subarray(0, 400), values.subarray(0, 400), WINDOW);
  detector = (
    await trainTinyDetector(train, {
      name: 'replay-test',
      stream: STREAM,
      window: WINDOW,
      scaleMargin: 0.1,
      train: { epochs: 40 },
      calibration: { kind: 'percentile', percentile: 99.5 },
    })
  ).detector;
});

void test('every row from the first full window on gets the score of the window ending there', () => {
  const r = replayThroughPipeline(detector, { stream: STREAM, times, values, window: WINDOW, alerting: ALERTS });
  assert.equal(r.windows, ROWS - SIZE + 1);
  assert.ok(r.score.subarray(0, SIZE - 1).every((s) => Number.isNaN(s)));
  assert.ok(r.score.subarray(SIZE - 1).every((s) => Number.isFinite(s)));
  // The same windows scored directly by the detector give the same scores: the pipeline adds nothing.
  const direct = detector.score(completeWindows(STREAM, times, values, WINDOW));
  direct.forEach((d, i) => assert.ok(Math.abs(d.score - r.score[SIZE - 1 + i]) < 1e-6));
});

void test('the fault raises an alert whose firing span covers its rows; alert starts are pages', () => {
  const r = replayThroughPipeline(detector, { stream: STREAM, times, values, window: WINDOW, alerting: ALERTS, chunkRows: 100 });
  const starts = [...r.alertStarts.keys()].filter((i) => r.alertStarts[i] === 1);
  assert.ok(starts.some((s) => s >= FAULT[0] && s <= FAULT[0] + SIZE), `alert starts at rows ${starts.join(', ')}`);
  const firingInFault = r.firing.subarray(FAULT[0] + SIZE, FAULT[1]).reduce((a, b) => a + b, 0);
  assert.ok(firingInFault > 0.8 * (FAULT[1] - FAULT[0] - SIZE), `firing on ${firingInFault} fault rows`);
  for (const s of starts) assert.equal(r.firing[s], 1);
});

void test('a score filter replaces score, threshold and decision per stream', () => {
  const filter = new AnomalyLikelihood({ averageWindows: 1, historyWindows: 300, learningWindows: 100, threshold: 0.5, suppressWindows: 50 });
  const r = replayThroughPipeline(detector, { stream: STREAM, times, values, window: WINDOW, alerting: ALERTS, scoreFilter: filter });
  const scored = r.score.subarray(SIZE - 1);
  assert.ok(scored.every((s) => s >= 0 && s <= 1));
  assert.ok(r.threshold.subarray(SIZE - 1).every((t) => t === 0.5));
  const flagged = [...r.anomalous.keys()].filter((i) => r.anomalous[i] === 1);
  assert.ok(flagged.some((i) => i >= FAULT[0] && i < FAULT[1]), `anomalous rows ${flagged.join(', ')}`);
});

void test("the pipeline hands each window's values to the filter: range novelty flags the fault's first row", () => {
  // The likelihood alone never judges here (it would need 2000 windows of history); only the range can fire.
  const filter = new AnomalyLikelihood({ averageWindows: 1, historyWindows: 2000, learningWindows: 2000, threshold: 0.5, suppressWindows: 50, rangeTolerance: 0.05 });
  const r = replayThroughPipeline(detector, { stream: STREAM, times, values, window: WINDOW, alerting: ALERTS, scoreFilter: filter });
  const flagged = [...r.anomalous.keys()].filter((i) => r.anomalous[i] === 1);
  assert.equal(flagged[0], FAULT[0], `anomalous rows ${flagged.join(', ')}`);
  assert.equal(r.score[FAULT[0]], 1);
  assert.ok(flagged.every((i) => i >= FAULT[0] && i < FAULT[1]), `anomalous rows ${flagged.join(', ')}`);
});

void test('monotoneTimes moves repeated or backward times 1 ms after their predecessor', () => {
  assert.deepEqual([...monotoneTimes([0, 1000, 1000, 500, 2000])], [0, 1000, 1001, 1002, 2000]);
});
