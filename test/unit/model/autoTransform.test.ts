import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { createRng, gaussian } from '../../../src/core/random';
import type { Window } from '../../../src/core/types';
import { saveArtifact } from '../../../src/model/artifact';
import { selectBackend } from '../../../src/model/backend';
import { Detector } from '../../../src/model/detector';
import { trainDetector, type DetectorSpec } from '../../../src/model/fitDetector';
import { checkManifest } from '../../../src/model/manifest';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

// A plant in miniature: 'temp' drifts slowly (it already wanders while the model learns), 'flow' is noise
// around a steady level. `input_transform: auto` must learn to ignore where temp is and to notice where flow is.
const SIZE = 16;

function windows(n: number, seed: number, temp: (t: number) => number, flow: (t: number) => number): Window[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const values = new Float32Array(SIZE * 2);
    for (let s = 0; s < SIZE; s++) {
      const t = i * 4 + s;
      values[s * 2] = temp(t) + 0.2 * gaussian(rng);
      values[s * 2 + 1] = flow(t) + gaussian(rng);
    }
    return { stream: 'plant', start: i * 4, end: i * 4 + SIZE - 1, size: SIZE, channels: 2, values, completeness: 1 };
  });
}

const drift = (t: number): number => 70 + t / 100;
const learning = windows(250, 1, drift, () => 30);
// Later: temp has drifted on, 10 units beyond anything learnt; flow is as before, or 4 noise sigma lower.
const driftedOn = windows(40, 2, (t) => drift(t) + 20, () => 30);
const flowDrop = windows(40, 3, (t) => drift(t), () => 26);
// Temp far off anything learnt: 100 units above the learnt drift, which spans about 10.
const tempJump = windows(40, 4, (t) => drift(t) + 100, () => 30);

function spec(transform: DetectorSpec['transform'], levelTolerance?: number): DetectorSpec {
  return tinyDetectorSpec({
    ...(levelTolerance !== undefined ? { levelTolerance } : {}),
    name: 'auto-test',
    stream: { id: 'plant', channels: ['temp', 'flow'] },
    window: { size: SIZE, hop: 4, maxGapMs: 5000, minCompleteness: 0.9 },
    aggregate: 'max_channel',
    transform,
    train: { epochs: 30, noise: { gaussianSigma: 0.05, maskFraction: 0.1, saltPepperFraction: 0 } },
    anomalydVersion: '0.0.0-test',
  });
}

const anomalousShare = (scored: readonly { anomalous: boolean }[]): number => scored.filter((s) => s.anomalous).length / scored.length;

before(async () => {
  await selectBackend();
});

void test('auto demeans the wandering channel only: further drift stays quiet, a level drop in the steady channel is anomalous', async () => {
  const { detector } = await trainDetector(learning, spec('auto'));
  try {
    assert.deepEqual(detector.manifest.transform, ['demean', 'none']);
    const drifted = anomalousShare(detector.score(driftedOn));
    const dropped = anomalousShare(detector.score(flowDrop));
    assert.ok(drifted <= 0.1, `drift of the wandering channel is not an anomaly (anomalous share ${drifted})`);
    assert.ok(dropped >= 0.9, `a level drop of the steady channel is (anomalous share ${dropped})`);
  } finally {
    detector.dispose();
  }
});

void test('demean on every channel would hide the drop: auto keeps the level where it is evidence', async () => {
  const { detector } = await trainDetector(learning, spec('demean'));
  try {
    assert.equal(detector.manifest.transform, 'demean');
    const dropped = anomalousShare(detector.score(flowDrop));
    assert.ok(dropped <= 0.2, `demean: the drop is hidden (anomalous share ${dropped})`);
  } finally {
    detector.dispose();
  }
});

void test('a manifest carries a per-channel transform list; a wrong length or an unknown entry is refused', async () => {
  const { detector } = await trainDetector(learning.slice(0, 40), { ...spec('auto'), train: { ...spec('auto').train, epochs: 1 } });
  const manifest = JSON.parse(JSON.stringify(detector.manifest)) as Record<string, unknown>;
  detector.dispose();
  assert.deepEqual(checkManifest(manifest, 'm').transform, ['demean', 'none']);
  assert.throws(() => checkManifest({ ...manifest, transform: ['demean'] }, 'm'), /transform must be .* one entry per channel \(2\)/);
  assert.throws(() => checkManifest({ ...manifest, transform: ['demean', 'scale'] }, 'm'), /transform must be/);
  assert.throws(() => checkManifest({ ...manifest, transform: 'auto' }, 'm'), /transform must be/);
});

void test('level_tolerance: a demeaned channel still ignores a drift like the learnt one but not a level far outside it', async () => {
  const plain = await trainDetector(learning, spec('auto'));
  const bounded = await trainDetector(learning, spec('auto', 3));
  try {
    assert.equal(plain.detector.manifest.levelBounds, undefined);
    const bounds = bounded.detector.manifest.levelBounds;
    assert.ok(bounds && bounds[0] && bounds[1] === null, `bounds for the demeaned channel only (got ${JSON.stringify(bounds)})`);
    // The learning windows' means run from about 70 to 80; three widths more on each side.
    assert.ok(Math.abs(bounds[0][0] - 40) < 2 && Math.abs(bounds[0][1] - 110) < 2, `bounds ${JSON.stringify(bounds[0])}`);
    assert.ok(anomalousShare(plain.detector.score(tempJump)) <= 0.2, 'plain demean hides the jump once it fills the window');
    const jumped = anomalousShare(bounded.detector.score(tempJump));
    const drifted = anomalousShare(bounded.detector.score(driftedOn));
    assert.ok(jumped >= 0.9, `the jump beyond the bounds is anomalous (anomalous share ${jumped})`);
    assert.ok(drifted <= 0.1, `a drift within them is not (anomalous share ${drifted})`);
    const manifest = JSON.parse(JSON.stringify(bounded.detector.manifest)) as Record<string, unknown>;
    assert.deepEqual(checkManifest(manifest, 'm').levelBounds, bounds);
    assert.throws(() => checkManifest({ ...manifest, levelBounds: [null] }, 'm'), /levelBounds must have one entry per channel \(2\)/);
    assert.throws(() => checkManifest({ ...manifest, levelBounds: [[5, 1], null] }, 'm'), /levelBounds/);
    // A saved model (what the daemon and replay load) scores the jump exactly as the trained one does.
    const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-level-'));
    try {
      await saveArtifact(dir, bounded.detector.model, bounded.detector.manifest);
      const loaded = await Detector.load(dir, { channels: ['temp', 'flow'] });
      assert.deepEqual(
        loaded.score(tempJump).map((w) => w.score),
        bounded.detector.score(tempJump).map((w) => w.score),
      );
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    plain.detector.dispose();
    bounded.detector.dispose();
  }
});
