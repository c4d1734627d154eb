// A conv1d model where the native addon is the selected backend: the addon runs dense chains only, so the model
// is trained and scored by tfjs, which moves from its cpu backend to wasm for it (tfjsBackendFor) and says so
// once; a dense model in the same process still scores on the addon; a saved conv1d artifact loads through tfjs
// and scores as before. Skips itself where the addon was not built (no C++ compiler at install).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { saveArtifact } from '../../../src/model/artifact';
import { currentBackend, onBackendNotice, selectBackend } from '../../../src/model/backend';
import { DenseAutoencoder } from '../../../src/model/denseNetwork';
import { Detector } from '../../../src/model/detector';
import { trainDetector } from '../../../src/model/fitDetector';
import { loadNativeAddon } from '../../../src/model/nativeAddon';
import { tfjs } from '../../../src/model/tfjs';
import { sineWindows } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

const native = loadNativeAddon();
const notices: string[] = [];
let nativeSelected = false;
let dir: string;

before(async () => {
  onBackendNotice((m) => notices.push(m));
  if (native.addon) nativeSelected = (await selectBackend('native').catch(() => undefined))?.name === 'native';
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-conv-native-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stream = { id: 's', channels: ['a', 'b'] };
const window = { size: 24, hop: 6, maxGapMs: 5000, minCompleteness: 0.9 };

test('conv1d on the native backend: trained and scored by tfjs (wasm), said once; dense stays native; artifacts load', async (t) => {
  if (!nativeSelected) return t.skip(`native backend not selected: ${native.problem ?? 'ANOMALYD_BACKEND forces another'}`);
  const windows = sineWindows(120, 24, 2, 3);
  const dense = await trainDetector(windows, tinyDetectorSpec({ name: 'dense', stream, window }));
  assert.equal(dense.detector.scorer.engine.kind, 'native');
  assert.equal(notices.length, 0, 'a dense model needs no notice');

  const spec = tinyDetectorSpec({ name: 'conv', stream, window, architecture: 'conv1d', conv: { filters: [8, 4], kernelSize: 5 } });
  const conv = await trainDetector(windows, spec);
  assert.equal(conv.detector.scorer.engine.kind, 'tfjs');
  assert.equal(conv.detector.manifest.backend, 'wasm', 'the manifest names the backend that trained it');
  assert.equal(tfjs().getBackend(), 'wasm');
  assert.equal(currentBackend()?.name, 'native');
  assert.equal(currentBackend()?.tfjsBackend, 'wasm');
  assert.deepEqual(notices, ['Models of architecture conv1d are scored and trained by tfjs (wasm): the native addon runs dense models only.']);
  await trainDetector(windows, { ...spec, name: 'conv2' });
  assert.equal(notices.length, 1, 'said once per process');
  // The dense model made while tfjs was on cpu still scores natively, its weights read from wherever tfjs keeps them.
  assert.equal(dense.detector.scorer.engine.kind, 'native');
  assert.ok(dense.detector.score(windows.slice(0, 3)).every((s) => Number.isFinite(s.score)));

  await saveArtifact(path.join(dir, 'conv'), conv.detector.model, conv.detector.manifest);
  await saveArtifact(path.join(dir, 'dense'), dense.detector.model, dense.detector.manifest);
  const loadedConv = await Detector.load(path.join(dir, 'conv'));
  const loadedDense = await Detector.load(path.join(dir, 'dense'));
  assert.ok(!(loadedConv.model instanceof DenseAutoencoder));
  assert.equal(loadedConv.scorer.engine.kind, 'tfjs');
  assert.ok(loadedDense.model instanceof DenseAutoencoder, 'a dense artifact is still read without tfjs');
  assert.deepEqual(loadedConv.score(windows.slice(0, 5)).map((s) => s.score), conv.detector.score(windows.slice(0, 5)).map((s) => s.score));
  for (const d of [loadedConv, loadedDense, conv.detector, dense.detector]) d.dispose();
});
