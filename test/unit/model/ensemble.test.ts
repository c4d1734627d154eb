import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { calibrate } from '../../../src/core/calibration';
import { createRng, gaussian } from '../../../src/core/random';
import type { Window } from '../../../src/core/types';
import { selectBackend } from '../../../src/model/backend';
import { EnsembleDetector, trainEnsemble } from '../../../src/model/ensemble';
import { trainDetector } from '../../../src/model/fitDetector';
import { completeWindows, tinyDetectorSpec } from '../../helpers/tinyDetector';

const STREAM = { id: 'e', channels: ['a', 'b'] };
const WINDOW = { size: 8, hop: 2, maxGapMs: 10_000, minCompleteness: 0.5 };
const SPEC = tinyDetectorSpec({
  name: 'ensemble-test', stream: STREAM, window: WINDOW, encoderUnits: [8], latentUnits: 2, scaleMargin: 0.1, train: { batchSize: 16, seed: 5 },
});
let windows: Window[];

before(async () => {
  await selectBackend();
  const rng = createRng(9);
  const rows = 300;
  const times = Float64Array.from({ length: rows }, (_, i) => i * 1000);
  const values = Float32Array.from({ length: rows * 2 }, (_, k) => Math.sin(k / 7) + 0.1 * gaussian(rng));
  windows = completeWindows(STREAM, times, values, WINDOW);
});

void test('an ensemble scores the mean of its members and is calibrated on that mean', async () => {
  const trained = await trainEnsemble(windows, SPEC, 3);
  const ensemble = trained.detector;
  try {
    assert.ok(ensemble instanceof EnsembleDetector);
    assert.equal(ensemble.members.length, 3);
    assert.deepEqual(
      ensemble.members.map((m) => m.manifest.training.seed),
      [5, 6, 7],
    );
    const scored = ensemble.score(windows);
    // Its scaling counters are its members' (they scale the same windows alike).
    assert.equal(ensemble.scaledValues, ensemble.members[0].scaledValues);
    assert.ok(ensemble.scaledValues >= windows.length * 16);
    const each = ensemble.members.map((m) => m.score(windows));
    scored.forEach((s, i) => {
      const mean = each.reduce((a, m) => a + m[i].score, 0) / 3;
      assert.ok(Math.abs(s.score - mean) < 1e-9);
      assert.ok(Math.abs(s.channelShares[0] + s.channelShares[1] - 1) < 1e-5);
      assert.equal(s.anomalous, s.score > ensemble.threshold);
    });
    // The threshold is the one calibration gives on the mean clean scores, which the members' seeds differ on.
    assert.equal(ensemble.threshold, calibrate(trained.cleanScores, { kind: 'percentile', percentile: 99 }).threshold);
    assert.notEqual(each[0][0].score, each[1][0].score);
    assert.ok(scored.some((s) => s.pValue < 1) && scored.every((s) => s.pValue > 0 && s.pValue <= 1));
  } finally {
    ensemble.dispose();
  }
});

void test('an ensemble of one is exactly the single detector', async () => {
  const one = await trainEnsemble(windows, SPEC, 1);
  const plain = await trainDetector(windows, SPEC);
  try {
    assert.ok(!(one.detector instanceof EnsembleDetector));
    assert.deepEqual(one.cleanScores, plain.cleanScores);
    assert.equal(one.detector.threshold, plain.detector.threshold);
  } finally {
    one.detector.dispose();
    plain.detector.dispose();
  }
  await assert.rejects(trainEnsemble(windows, SPEC, 0), /size must be an integer >= 1/);
});
