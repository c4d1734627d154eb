// Artifacts read without tfjs for the native addon (denseArtifact.ts): the weights are the ones tfjs reads, bit
// for bit; the scores equal the native engine's on the tfjs-loaded model bit for bit (same weights, same kernels)
// and tfjs's within 1e-5 relative; a model read this way saves back unchanged; anything but a plain dense chain
// goes to tfjs; damaged files get the same clear ModelErrors as on the tfjs path. Needs the native addon (the
// reader is only used with it); skips itself where it was not built.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../../../src/core/errors';
import { createRng } from '../../../src/core/random';
import type { Window } from '../../../src/core/types';
import { loadArtifact, saveArtifact, MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE } from '../../../src/model/artifact';
import { selectBackend } from '../../../src/model/backend';
import { denseChainOf } from '../../../src/model/denseArtifact';
import { DenseAutoencoder } from '../../../src/model/denseNetwork';
import { Detector } from '../../../src/model/detector';
import type { ScoreMetric } from '../../../src/model/engineTypes';
import { loadNativeAddon } from '../../../src/model/nativeAddon';
import { NativeScoring } from '../../../src/model/nativeEngine';
import { TfjsScoring } from '../../../src/model/tfjsEngine';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const BUNDLED = ['pump', 'ecg'].map((m) => path.join(ROOT, 'models', m));
const PUMP = BUNDLED[0];
const native = loadNativeAddon();
const KERNEL_SETS = ['generic', 'avx2', 'avx512'].filter((k) => native.addon?.kernels(k) != null);
let nativeSelected = false;
let dir: string;

before(async () => {
  if (native.addon) nativeSelected = (await selectBackend('native').catch(() => undefined))?.name === 'native';
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-dense-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Skips the test unless this process scores on the native addon (ANOMALYD_BACKEND may force another). */
function needsNative(t: TestContext): boolean {
  if (!nativeSelected) t.skip(`native backend not selected: ${native.problem ?? 'ANOMALYD_BACKEND forces another'}`);
  return nativeSelected;
}

/** The same artifact as tfjs reads it (what loadArtifact returned before the tfjs-free reader). */
async function tfjsModelOf(artifact: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(path.join(artifact, MODEL_FILE), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const bytes = await readFile(path.join(artifact, WEIGHTS_FILE));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

function bits(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertSameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  assert.ok(bits(got).equals(bits(want)), `${what}: not bit for bit equal`);
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-30));
  return worst;
}

function uniform(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng());
}

/** Raw windows around each channel's training mean, some beyond its range, for the Detector API. */
function rawWindows(d: Detector, n: number, seed: number): Window[] {
  const rng = createRng(seed);
  const { size } = d.manifest.window;
  const summary = d.manifest.training.channelSummary;
  return Array.from({ length: n }, (_, i) => {
    const values = new Float32Array(size * summary.length);
    for (let k = 0; k < values.length; k++) {
      const s = summary[k % summary.length];
      values[k] = s.mean + 3 * s.std * (rng() - 0.5) * (i % 5 === 0 ? 3 : 1);
    }
    return { stream: 's', start: i * 1000, end: i * 1000 + size - 1, size, channels: summary.length, values, completeness: 1 };
  });
}

test('the bundled models read without tfjs hold the weights tfjs reads, bit for bit', async (t) => {
  if (!needsNative(t)) return;
  for (const artifact of BUNDLED) {
    const { model } = await loadArtifact(artifact);
    assert.ok(model instanceof DenseAutoencoder, `${artifact} is read without tfjs`);
    const reference = await tfjsModelOf(artifact);
    const want = reference.getWeights().map((w) => w.dataSync() as Float32Array);
    assert.equal(model.weights.length, want.length);
    model.weights.forEach((w, i) => assertSameBits(w, want[i], `${path.basename(artifact)} weight ${reference.weights[i].originalName}`));
    reference.dispose();
  }
});

test('scores, reconstructions and latent codes equal the native engine on the tfjs-loaded model bit for bit, and tfjs within 1e-5', async (t) => {
  if (!needsNative(t)) return;
  for (const artifact of BUNDLED) {
    const { model } = await loadArtifact(artifact);
    const reference = await tfjsModelOf(artifact);
    const d = reference.inputs[0].shape[1] as number;
    for (const metric of ['mse', 'mae', 'bce'] as ScoreMetric[]) {
      const setup = { channels: 1, metric };
      const viaTfjs = new TfjsScoring(reference, setup);
      for (const kernels of KERNEL_SETS) {
        const fromFile = new NativeScoring(model, setup, kernels);
        const fromTfjsModel = new NativeScoring(reference, setup, kernels);
        for (const n of [1, 7, 256]) {
          const x = uniform(n * d, n + d);
          const where = `${path.basename(artifact)}, ${metric}, ${kernels}, batch ${n}`;
          const got = fromFile.errors(x, n);
          const want = fromTfjsModel.errors(x, n);
          assertSameBits(got.total, want.total, `window scores (${where})`);
          assertSameBits(got.perChannel, want.perChannel, `channel sums (${where})`);
          const tfjsScores = viaTfjs.errors(x, n).total;
          assert.ok(maxRelative(got.total, tfjsScores) < 1e-5, `against tfjs (${where}): ${maxRelative(got.total, tfjsScores)}`);
        }
        const x = uniform(19 * d, 3);
        assertSameBits(fromFile.reconstruct(x, 19), fromTfjsModel.reconstruct(x, 19), `reconstruction (${kernels})`);
        assertSameBits(fromFile.latent(x, 19), fromTfjsModel.latent(x, 19), `latent (${kernels})`);
      }
    }
    reference.dispose();
  }
});

test('through the Detector API: the same scored windows as a detector on the tfjs-loaded model', async (t) => {
  if (!needsNative(t)) return;
  for (const artifact of BUNDLED) {
    const fromFile = await Detector.load(artifact);
    assert.equal(fromFile.scorer.engine.kind, 'native');
    const reference = await tfjsModelOf(artifact);
    const viaTfjsModel = new Detector(reference, fromFile.manifest, artifact);
    const windows = rawWindows(fromFile, 64, 7);
    assert.deepEqual(fromFile.score(windows), viaTfjsModel.score(windows));
    assertSameBits(fromFile.denoise(windows), viaTfjsModel.denoise(windows), 'denoised windows');
    assertSameBits(fromFile.latent(windows).data, viaTfjsModel.latent(windows).data, 'latent codes');
    fromFile.dispose();
    viaTfjsModel.dispose();
  }
});

test('a model read without tfjs saves back unchanged: same weights.bin, same model.json', async (t) => {
  if (!needsNative(t)) return;
  const { model, manifest } = await loadArtifact(PUMP);
  const copy = path.join(dir, 'saved');
  await saveArtifact(copy, model, manifest);
  assert.ok((await readFile(path.join(copy, WEIGHTS_FILE))).equals(await readFile(path.join(PUMP, WEIGHTS_FILE))));
  const json = async (d: string): Promise<unknown> => JSON.parse(await readFile(path.join(d, MODEL_FILE), 'utf8'));
  assert.deepEqual(await json(copy), await json(PUMP));
  const again = (await loadArtifact(copy)).model;
  assert.ok(again instanceof DenseAutoencoder && model instanceof DenseAutoencoder);
  again.weights.forEach((w, i) => assertSameBits(w, model.weights[i], `weight ${i}`));
});

/** A copy of the pump artifact with model.json (parsed) and the manifest changed by `edit`. */
async function pumpWith(name: string, edit: (modelJson: PumpModelJson, manifest: Record<string, unknown>) => void): Promise<string> {
  const target = path.join(dir, name);
  await cp(PUMP, target, { recursive: true });
  const modelJson = JSON.parse(await readFile(path.join(target, MODEL_FILE), 'utf8')) as PumpModelJson;
  const manifest = JSON.parse(await readFile(path.join(target, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
  edit(modelJson, manifest);
  await writeFile(path.join(target, MODEL_FILE), JSON.stringify(modelJson));
  await writeFile(path.join(target, MANIFEST_FILE), JSON.stringify(manifest));
  return target;
}

interface LayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

interface PumpModelJson {
  modelTopology: { class_name: string; config: { layers: LayerJson[]; output_layers: unknown[] } };
  weightsManifest: { paths: string[]; weights: { name: string; shape: unknown; dtype: string }[] }[];
}

test('the dense chain of a topology: only what buildAutoencoder makes, anything else is left to tfjs', async () => {
  const original = (JSON.parse(await readFile(path.join(PUMP, MODEL_FILE), 'utf8')) as PumpModelJson).modelTopology;
  const chain = denseChainOf(original);
  assert.deepEqual(chain?.sizes, [240, 128, 64, 16, 64, 128, 240]);
  assert.deepEqual(chain?.activations, ['relu', 'relu', 'relu', 'relu', 'relu', 'sigmoid']);
  assert.equal(chain?.latentDepth, 3);

  const variant = (edit: (t: PumpModelJson['modelTopology']) => void): object => {
    const t = structuredClone(original);
    edit(t);
    return t;
  };
  const others: Record<string, object> = {
    'a Sequential model': variant((t) => (t.class_name = 'Sequential')),
    'a tanh hidden layer': variant((t) => (t.config.layers[2].config.activation = 'tanh')),
    'a linear output': variant((t) => (t.config.layers[6].config.activation = 'linear')),
    'a layer without bias': variant((t) => (t.config.layers[3].config.use_bias = false)),
    'float16 weights': variant((t) => (t.config.layers[1].config.dtype = 'float16')),
    'a dropout layer': variant((t) => t.config.layers.splice(2, 0, { class_name: 'Dropout', name: 'drop', config: { rate: 0.1 }, inbound_nodes: [[['encoder_1', 0, 0, {}]]] })),
    'a skip connection': variant((t) => (t.config.layers[3].inbound_nodes = [[['encoder_1', 0, 0, {}]]])),
    'a layer called twice': variant((t) => t.config.layers[2].inbound_nodes.push([['encoder_1', 0, 0, {}]])),
    'an output that is not the last layer': variant((t) => (t.config.output_layers = [['latent', 0, 0]])),
    'no layers': variant((t) => (t.config.layers = [])),
  };
  for (const [what, topology] of Object.entries(others)) assert.equal(denseChainOf(topology), undefined, what);
});

test('a model that is not a plain dense chain is loaded by tfjs and scored there', async (t) => {
  if (!needsNative(t)) return;
  const linear = await pumpWith('linear-output', (m) => (m.modelTopology.config.layers[6].config.activation = 'linear'));
  const { model } = await loadArtifact(linear);
  assert.ok(!(model instanceof DenseAutoencoder), 'tfjs built it');
  const detector = await Detector.load(linear);
  assert.equal(detector.scorer.engine.kind, 'tfjs');
  detector.dispose();
  model.dispose();

  const float16 = await pumpWith('float16-spec', (m) => (m.weightsManifest[0].weights[0].dtype = 'float16'));
  // Not a form the reader takes: tfjs judges it (and refuses a float16 weight that is not quantized).
  await assert.rejects(loadArtifact(float16), /cannot build the network from model\.json: Unsupported dtype in weight 'encoder_1\/kernel': float16/);
});

test('damaged artifacts give the clear ModelErrors of the tfjs path', async (t) => {
  if (!needsNative(t)) return;
  const truncated = path.join(dir, 'truncated');
  await cp(PUMP, truncated, { recursive: true });
  await truncate(path.join(truncated, WEIGHTS_FILE), 100);
  await assert.rejects(loadArtifact(truncated), /weights are 100 bytes, the topology needs 322048 \(truncated or mismatched file\)/);

  const corrupt = path.join(dir, 'corrupt');
  await cp(PUMP, corrupt, { recursive: true });
  await writeFile(path.join(corrupt, MODEL_FILE), '{"modelTopology": {"class_na');
  await assert.rejects(loadArtifact(corrupt), /model\.json is corrupt/);

  const cases: [string, (m: PumpModelJson, manifest: Record<string, unknown>) => void, RegExp][] = [
    ['transposed', (m) => (m.weightsManifest[0].weights[0].shape = [128, 240]), /cannot build the network from model\.json: weight 'encoder_1\/kernel' has shape \[128, 240\], its layer needs \[240, 128\]/],
    ['renamed', (m) => (m.weightsManifest[0].weights[1].name = 'encoder_9/bias'), /cannot build the network from model\.json: its weights are \[encoder_1\/kernel, encoder_9\/bias, /],
    ['malformed', (m) => (m.weightsManifest[0].weights[2].shape = 'big'), /model\.json has a malformed weightsManifest/],
    ['no-topology', (m) => delete (m as Partial<PumpModelJson>).modelTopology, /model\.json has no modelTopology or weightsManifest/],
    [
      'other-window',
      (_, manifest) => {
        (manifest.window as { size: number }).size = 20;
        (manifest.architecture as { inputSize: number }).inputSize = 160;
      },
      /network maps 240 -> 240 values but the manifest says windows of 160/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    await assert.rejects(loadArtifact(await pumpWith(name, edit)), (err: Error) => {
      assert.ok(err instanceof ModelError, `${name}: ${err.message}`);
      assert.match(err.message, message, name);
      return true;
    });
  }
});
