// A conv1d model where the native addon is the selected backend: the addon trains and scores it (tfjs only
// builds the model and holds its weights, on its cpu backend), nothing is said, a dense model beside it is native
// too, and a saved conv1d artifact loads and scores natively as before saving. A conv1d model the addon does not
// run (its layers changed by hand) is computed by tfjs, which moves to wasm for it (tfjsBackendFor) and says
// why, once. Skips itself where the addon was not built (no C++ compiler at install).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type * as tf from '@tensorflow/tfjs';
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

test('conv1d on the native backend: trained and scored by the addon, nothing said; artifacts load and score natively', async (t) => {
  if (!nativeSelected) return t.skip(`native backend not selected: ${native.problem ?? 'ANOMALYD_BACKEND forces another'}`);
  const windows = sineWindows(120, 24, 2, 3);
  const dense = await trainDetector(windows, tinyDetectorSpec({ name: 'dense', stream, window, backend: 'native' }));
  assert.equal(dense.detector.scorer.engine.kind, 'native');

  const spec = tinyDetectorSpec({ name: 'conv', stream, window, architecture: 'conv1d', conv: { filters: [8, 4], kernelSize: 5 }, backend: 'native' });
  const conv = await trainDetector(windows, spec);
  assert.ok(conv.history.loss.at(-1)! < conv.history.loss[0], `native training lowers the loss (${conv.history.loss.join(' ')})`);
  assert.equal(conv.detector.scorer.engine.kind, 'native');
  assert.equal(conv.detector.manifest.backend, 'native', 'the manifest names the backend that trained it');
  assert.equal(tfjs().getBackend(), 'cpu', 'tfjs stays on its cpu backend: it computes nothing');
  assert.equal(currentBackend()?.tfjsBackend, 'cpu');
  assert.deepEqual(notices, [], 'no model fell back to tfjs');
  assert.equal(dense.detector.scorer.engine.kind, 'native');

  await saveArtifact(path.join(dir, 'conv'), conv.detector.model, conv.detector.manifest);
  await saveArtifact(path.join(dir, 'dense'), dense.detector.model, dense.detector.manifest);
  const loadedConv = await Detector.load(path.join(dir, 'conv'));
  const loadedDense = await Detector.load(path.join(dir, 'dense'));
  assert.ok(!(loadedConv.model instanceof DenseAutoencoder), 'a conv1d artifact is read through tfjs');
  assert.equal(loadedConv.scorer.engine.kind, 'native');
  assert.ok(loadedDense.model instanceof DenseAutoencoder, 'a dense artifact is still read without tfjs');
  assert.deepEqual(loadedConv.score(windows.slice(0, 5)).map((s) => s.score), conv.detector.score(windows.slice(0, 5)).map((s) => s.score));
  assert.deepEqual(notices, []);

  // The same artifact with one decoder layer's activation changed by hand: tfjs computes it (on wasm), and says why.
  const trained = conv.detector.model;
  assert.ok(!(trained instanceof DenseAutoencoder));
  const json = JSON.parse(JSON.stringify(trained.toJSON(null, false))) as { config: { layers: { name: string; config: { activation?: string } }[] } };
  const changed = json.config.layers.find((l) => l.name === 'decoder_conv_1');
  assert.ok(changed);
  changed.config.activation = 'tanh';
  const odd = await tfjs().models.modelFromJSON({ modelTopology: json as unknown as tf.io.ModelJSON['modelTopology'] });
  odd.setWeights(trained.getWeights());
  await saveArtifact(path.join(dir, 'odd'), odd, conv.detector.manifest);
  const loadedOdd = await Detector.load(path.join(dir, 'odd'));
  assert.equal(loadedOdd.scorer.engine.kind, 'tfjs');
  assert.equal(tfjs().getBackend(), 'wasm');
  assert.equal(currentBackend()?.name, 'native');
  assert.equal(currentBackend()?.tfjsBackend, 'wasm');
  assert.equal(notices.length, 1);
  assert.match(notices[0], /^Models of architecture conv1d are scored and trained by tfjs \(wasm\): the native addon does not run them \(layer 'decoder_conv_1' is .* tanh bias, the native conv1d network computes .* relu bias\)\.$/);
  assert.ok(loadedOdd.score(windows.slice(0, 3)).every((s) => Number.isFinite(s.score)));
  assert.equal(loadedConv.scorer.engine.kind, 'native', 'the supported model stays native');
  for (const d of [loadedConv, loadedDense, loadedOdd, conv.detector, dense.detector]) d.dispose();
  odd.dispose();
});
