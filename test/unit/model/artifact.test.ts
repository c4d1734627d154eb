import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelError } from '../../../src/core/errors';
import { loadArtifact, saveArtifact, MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE } from '../../../src/model/artifact';
import { selectBackend } from '../../../src/model/backend';
import { Detector } from '../../../src/model/detector';
import { trainDetector, type DetectorSpec } from '../../../src/model/fitDetector';
import { sineWindows, withFault } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

let dir: string;
let spec: DetectorSpec;

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-artifact-'));
  spec = tinyDetectorSpec({
    name: 'pump-test',
    stream: { id: 'line1/pump1', channels: ['a', 'b'] },
    window: { size: 16, hop: 4, maxGapMs: 5000, minCompleteness: 0.9 },
    train: { epochs: 15, validationFraction: 0.2, patience: 5, noise: { gaussianSigma: 0.05, maskFraction: 0.05, saltPepperFraction: 0 } },
    anomalydVersion: '0.0.0-test',
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('trained detector: calibrated threshold, faults score above it, save/load round trip scores identically', async () => {
  const windows = sineWindows(200, 16, 2, 1);
  const { detector, cleanScores } = await trainDetector(windows, spec);
  assert.ok(Number.isFinite(detector.threshold) && detector.threshold > 0);
  const exceed = cleanScores.filter((s) => s > detector.threshold).length / cleanScores.length;
  assert.ok(exceed <= 0.02, `at most ~1% of clean windows exceed the 99th percentile (got ${exceed})`);

  const faulty = sineWindows(20, 16, 2, 99).map((w) => withFault(w, 1, 6));
  const faultScores = detector.score(faulty);
  assert.ok(faultScores.every((s) => s.anomalous), 'a step fault of 2 ranges is anomalous');
  assert.ok(faultScores.every((s) => s.channelShares[1] > 0.6), 'the faulty channel carries most of the error');

  const target = path.join(dir, 'model');
  await saveArtifact(target, detector.model, detector.manifest);
  const loaded = await Detector.load(target, { channels: ['a', 'b'] });
  const a = detector.score(faulty.slice(0, 5)).map((s) => s.score);
  const b = loaded.score(faulty.slice(0, 5)).map((s) => s.score);
  assert.deepEqual(b, a);
  const manifest = JSON.parse(await readFile(path.join(target, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
  for (const key of ['format', 'channels', 'window', 'scaler', 'architecture', 'training', 'calibration', 'backend', 'versions', 'createdAt']) {
    assert.ok(key in manifest, `manifest has ${key}`);
  }
  loaded.dispose();
  detector.dispose();
});

test('refuses a model whose channels or window do not match, saying what differs', async () => {
  const target = path.join(dir, 'model');
  await assert.rejects(Detector.load(target, { channels: ['b', 'a'] }), (err: Error) => {
    assert.ok(err instanceof ModelError);
    assert.match(err.message, /channels: model has \[a, b\], data has \[b, a\]/);
    return true;
  });
  await assert.rejects(Detector.load(target, { channels: ['a', 'b'], windowSize: 32 }), /window size: model has 16, data has 32/);
});

test('missing directory, corrupt manifest, truncated weights and wrong shape give clear ModelErrors', async () => {
  await assert.rejects(loadArtifact(path.join(dir, 'nope')), /cannot read manifest\.json: not found/);

  const copy = async (name: string): Promise<string> => {
    const d = path.join(dir, name);
    await rm(d, { recursive: true, force: true });
    await saveArtifact(d, (await loadArtifact(path.join(dir, 'model'))).model, (await loadArtifact(path.join(dir, 'model'))).manifest);
    return d;
  };
  const corrupt = await copy('corrupt');
  await writeFile(path.join(corrupt, MANIFEST_FILE), '{"format": 1, "chan');
  await assert.rejects(loadArtifact(corrupt), /manifest\.json is corrupt/);

  const truncated = await copy('truncated');
  await truncate(path.join(truncated, WEIGHTS_FILE), 100);
  await assert.rejects(loadArtifact(truncated), /weights are 100 bytes, the topology needs \d+ \(truncated/);

  const badTopology = await copy('topology');
  await writeFile(path.join(badTopology, MODEL_FILE), '{"modelTopology": {}, "weightsManifest": [{"paths": ["weights.bin"], "weights": []}]}');
  await assert.rejects(loadArtifact(badTopology), ModelError);

  const wrongShape = await copy('shape');
  const m = JSON.parse(await readFile(path.join(wrongShape, MANIFEST_FILE), 'utf8')) as { window: { size: number }; architecture: { inputSize: number } };
  m.window.size = 20;
  m.architecture.inputSize = 40;
  await writeFile(path.join(wrongShape, MANIFEST_FILE), JSON.stringify(m));
  await assert.rejects(loadArtifact(wrongShape), /network maps 32 -> 32 values but the manifest says windows of 40/);
});
