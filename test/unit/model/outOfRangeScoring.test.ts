// training.out_of_range and training.score_steps on a trained detector: a channel that settles far outside its
// learnt range reads as an anomaly only when the scaled value is kept (clipping holds it at the range's edge, a
// place the model reconstructs as easily as the noise it learnt); scoring the newest steps lets the score fall as
// soon as a change has left the newest part of the window. Both are recorded in the manifest and checked there.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createRng, gaussian } from '../../../src/core/random';
import type { Window } from '../../../src/core/types';
import { selectBackend } from '../../../src/model/backend';
import { trainDetector, type DetectorSpec } from '../../../src/model/fitDetector';
import { checkManifest } from '../../../src/model/manifest';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

const SIZE = 16;

/** Two channels: 'flow' jumps between three levels 76, 77, 78 (a coarse meter), 'current' is noise around 2. */
function windows(n: number, seed: number, flow: (t: number, rng: () => number) => number): Window[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const values = new Float32Array(SIZE * 2);
    for (let s = 0; s < SIZE; s++) {
      values[s * 2] = flow(i * 4 + s, rng);
      values[s * 2 + 1] = 2 + 0.1 * gaussian(rng);
    }
    return { stream: 'rig', start: i * 4, end: i * 4 + SIZE - 1, size: SIZE, channels: 2, values, completeness: 1 };
  });
}

const coarse = (_t: number, rng: () => number): number => 76 + Math.floor(rng() * 3);
const learning = windows(250, 1, coarse);
// Later the flow settles at 72, four meter steps below anything learnt, and stays there.
const settledLow = windows(40, 2, () => 72);
const settledFarLow = windows(40, 2, () => 60); // the same current noise as settledLow

function spec(over: Partial<Omit<DetectorSpec, 'train'>>, epochs = 30): DetectorSpec {
  return tinyDetectorSpec({
    name: 'range-test',
    stream: { id: 'rig', channels: ['flow', 'current'] },
    window: { size: SIZE, hop: 4, maxGapMs: 5000, minCompleteness: 0.9 },
    aggregate: 'max_channel',
    train: { epochs },
    ...over,
  });
}

const anomalousShare = (scored: readonly { anomalous: boolean }[]): number => scored.filter((s) => s.anomalous).length / scored.length;

before(async () => {
  await selectBackend();
});

void test('clip: a flow settled far below its learnt range scores as one at the edge; keep: the farther, the higher', async () => {
  const clipped = (await trainDetector(learning, spec({}))).detector;
  const kept = (await trainDetector(learning, spec({ outOfRange: 'keep' }))).detector;
  try {
    assert.equal(clipped.manifest.scaler.outOfRange, undefined, 'clip is the default and is not written');
    assert.equal(kept.manifest.scaler.outOfRange, 'keep');
    const meanScore = (d: typeof kept, w: readonly Window[]): number => d.score(w).reduce((s, x) => s + x.score, 0) / w.length;
    // Clipped, 72 and 60 are the same input (the range's lower edge): the same score, however far the flow fell.
    assert.equal(meanScore(clipped, settledLow), meanScore(clipped, settledFarLow));
    const near = meanScore(kept, settledLow);
    const far = meanScore(kept, settledFarLow);
    assert.ok(far > 4 * near, `keep: 16 steps below scores far above 4 steps below (${far} vs ${near})`);
    assert.ok(near > 2 * meanScore(clipped, settledLow), `keep: 4 steps below scores above the clipped edge (${near})`);
    assert.equal(anomalousShare(kept.score(settledLow)), 1);
    // Both count the same values as outside the range: keeping changes what the model sees, not the count.
    assert.equal(kept.clippedValues, clipped.clippedValues);
    assert.ok(kept.clippedValues >= 2 * 40 * SIZE, 'every settled flow value is outside the range');
    // The learning windows lie inside the range the scaler was fitted on: none of theirs is counted.
    const before = kept.clippedValues;
    kept.score(learning.slice(0, 20));
    assert.equal(kept.clippedValues, before);
  } finally {
    clipped.dispose();
    kept.dispose();
  }
});

void test('score_steps: a spike in the oldest half of a window counts for the whole-window score only', async () => {
  const whole = (await trainDetector(learning, spec({ outOfRange: 'keep' }))).detector;
  const newest = (await trainDetector(learning, spec({ outOfRange: 'keep', scoreSteps: SIZE / 2 }))).detector;
  try {
    assert.equal(whole.manifest.scoring.steps, undefined);
    assert.equal(newest.manifest.scoring.steps, SIZE / 2);
    // The same network (same seed, same data): only the scoring differs.
    const [quiet] = windows(1, 7, coarse);
    const spiked = { ...quiet, values: Float32Array.from(quiet.values) };
    for (let s = 0; s < 3; s++) spiked.values[s * 2] = 90;
    const [wq, ws] = whole.score([quiet, spiked]);
    const [nq, ns] = newest.score([quiet, spiked]);
    assert.ok(ws.score > wq.score * 5, `whole window: the old spike dominates (${ws.score} vs ${wq.score})`);
    // The network still reads the spike (the newest steps' reconstruction moves a little), but its own error is not counted.
    assert.ok(ns.score / nq.score < ws.score / wq.score / 3, `newest half: the old spike counts far less (${ns.score} vs ${nq.score})`);
    assert.ok(ws.channelShares[0] > 0.9, 'the spike channel holds the whole-window error');
  } finally {
    whole.dispose();
    newest.dispose();
  }
});

void test('the manifest refuses an unknown out-of-range mode and score steps outside 1..window.size', async () => {
  const { detector } = await trainDetector(learning.slice(0, 40), spec({ outOfRange: 'keep', scoreSteps: 8 }, 1));
  const manifest = JSON.parse(JSON.stringify(detector.manifest)) as { scaler: object; scoring: object };
  detector.dispose();
  const loaded = checkManifest(manifest, 'm');
  assert.equal(loaded.scaler.outOfRange, 'keep');
  assert.equal(loaded.scoring.steps, 8);
  assert.throws(() => checkManifest({ ...manifest, scaler: { ...manifest.scaler, outOfRange: 'wrap' } }, 'm'), /scaler\.outOfRange must be clip or keep/);
  for (const steps of [0, 17, 2.5]) {
    assert.throws(() => checkManifest({ ...manifest, scoring: { ...manifest.scoring, steps } }, 'm'), /scoring\.steps must be a whole number from 1 to window\.size/);
  }
});
