import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAB_PROFILES, normalisedNabScore, probationaryRows, scaledSigmoid, scoreNabCorpus, scoreNabFile, type NabFileInput } from '../../../src/eval/nabScorer';

const STD = NAB_PROFILES.standard;
const close = (actual: number, expected: number, tol = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);

/** 100 rows (probation 15) with one window at rows 40..49 (width 10); `hits` are the rows scored 1. */
function file(hits: number[], rows = 100, windows = [{ start: 40, end: 49 }]): NabFileInput {
  const scores = new Float64Array(rows);
  for (const h of hits) scores[h] = 1;
  return { name: 'toy.csv', scores, windows };
}

void test('scaled sigmoid: the published anchor values', () => {
  close(scaledSigmoid(-1), 0.9866142981514305);
  close(scaledSigmoid(-0.5), 0.8482836399575131);
  close(scaledSigmoid(0), 0);
  close(scaledSigmoid(1), -0.9866142981514305);
  assert.equal(scaledSigmoid(3), -1);
  assert.equal(scaledSigmoid(100), -1);
});

void test('probationary period: min(floor(15% of rows), 750)', () => {
  assert.equal(probationaryRows(100), 15);
  assert.equal(probationaryRows(4032), 604);
  assert.equal(probationaryRows(5000), 750);
  assert.equal(probationaryRows(22695), 750);
  assert.equal(probationaryRows(6), 0);
});

void test('a detection at the window start earns A_TP; at the end much less; the earliest one counts', () => {
  const start = scoreNabFile(file([40]), 0.5, STD);
  close(start.raw, 1);
  assert.equal(start.detected, 1);
  // Last row: position -(49-49+1)/10 = -0.1 -> (2*sigmoid(0.5)-1)/maxTP.
  close(scoreNabFile(file([49]), 0.5, STD).raw, 0.24824154977542992);
  // Rows 42 and 45: only row 42 (position -0.8) counts.
  const two = scoreNabFile(file([42, 45]), 0.5, STD);
  close(two.raw, 0.9771068409226045);
  assert.equal(two.falsePositiveRows, 0);
  // A_TP scales the reward linearly.
  close(scoreNabFile(file([40]), 0.5, { ...STD, tpWeight: 2 }).raw, 2);
});

void test('a false positive right after a window costs less than one far away; before any window it costs A_FP', () => {
  const near = scoreNabFile(file([50]), 0.5, STD);
  const mid = scoreNabFile(file([60]), 0.5, STD);
  const far = scoreNabFile(file([90]), 0.5, STD);
  const before = scoreNabFile(file([20]), 0.5, STD);
  // Each also misses the window: -A_FN = -1.
  close(near.raw, -1 - 0.029793183036839352); // position 1/9
  close(mid.raw, -1 - 0.10951310130369775); // position 11/9
  close(far.raw, -1 - 0.11); // position 41/9 >= 3
  close(before.raw, -1 - 0.11);
  assert.equal(far.falsePositiveRows, 1);
  close(scoreNabFile(file([90]), 0.5, NAB_PROFILES.reward_low_FP_rate).raw, -1 - 0.22);
});

void test('a missed window costs A_FN per profile; detections in the probationary period are ignored', () => {
  close(scoreNabFile(file([]), 0.5, STD).raw, -1);
  close(scoreNabFile(file([]), 0.5, NAB_PROFILES.reward_low_FN_rate).raw, -2);
  const probation = scoreNabFile(file([3, 14]), 0.5, STD);
  close(probation.raw, -1);
  assert.equal(probation.falsePositiveRows, 0);
  // Row 15 is the first scored row: a far-away false positive.
  close(scoreNabFile(file([15]), 0.5, STD).raw, -1.11);
});

void test('detection means score >= threshold', () => {
  const f: NabFileInput = { name: 'f', scores: Float64Array.from({ length: 100 }, (_, i) => (i === 40 ? 0.7 : 0)), windows: [{ start: 40, end: 49 }] };
  close(scoreNabFile(f, 0.7, STD).raw, 1);
  close(scoreNabFile(f, 0.7000001, STD).raw, -1);
});

void test('corpus: null detector normalises to 0, perfect detector to 100, on the files given', () => {
  const windows = [
    { start: 20, end: 29 },
    { start: 60, end: 79 },
  ];
  const files = (hits: number[][]): NabFileInput[] => [file(hits[0], 100, windows), file(hits[1]), file(hits[2], 50, [])];
  for (const cost of Object.values(NAB_PROFILES)) {
    const nothing = scoreNabCorpus(files([[], [], []]), 0.5, cost);
    assert.equal(nothing.windows, 3);
    close(nothing.nullRaw, -3 * cost.fnWeight);
    close(nothing.perfectRaw, 3);
    close(nothing.normalised, 0);
    const perfect = scoreNabCorpus(files([[20, 60], [40], []]), 0.5, cost);
    close(perfect.normalised, 100);
    assert.equal(perfect.detected, 3);
  }
  // One of three windows found at its start, one FP far away: (1 - 1 - 1 - 0.11 + 3) / 6.
  close(scoreNabCorpus(files([[20], [], [45]]), 0.5, STD).normalised, (100 * (1 - 2 - 0.11 + 3)) / 6);
});

void test('windows that end inside the probationary period are not scored', () => {
  const f = file([], 100, [
    { start: 2, end: 8 },
    { start: 40, end: 49 },
  ]);
  const s = scoreNabFile(f, 0.5, STD);
  assert.equal(s.windows, 1);
  close(s.raw, -1);
});

void test('rejects unsorted or out-of-range windows and non-finite scores', () => {
  assert.throws(() => scoreNabFile(file([], 100, [{ start: 40, end: 100 }]), 0.5, STD), /window \[40, 100\]/);
  assert.throws(
    () =>
      scoreNabFile(
        file([], 100, [
          { start: 50, end: 60 },
          { start: 40, end: 45 },
        ]),
        0.5,
        STD,
      ),
    /sorted and disjoint/,
  );
  assert.throws(() => scoreNabFile({ name: 'n', scores: [0, NaN], windows: [] }, 0.5, STD), /row 1: anomaly score NaN/);
  assert.ok(Number.isNaN(normalisedNabScore(0, 0, 0)));
});
