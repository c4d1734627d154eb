// Model artifact I/O: model.json + weights.bin in the standard tfjs layers format (so tfjs-node's file://
// loader and the tfjs converter read it too) plus manifest.json. Written by hand because the pure-JS tfjs
// packages have no file-system handler; only tfjs-node ships one, and it is optional here. With the native
// addon scoring, a plain dense chain is read without tfjs (denseArtifact.ts); every other model (conv1d, which
// the addon computes from the tfjs model's weights), and every model on the tfjs backends, is built by tfjs,
// loaded then. A conv1d model is stock tfjs layers, so it
// saves and loads through the same code.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { errorMessage, ModelError } from '../core/errors';
import { tmpNameFor } from '../core/tmpName';
import { tfjsBackendFor } from './backend';
import { readDenseAutoencoder } from './denseArtifact';
import { DenseAutoencoder, disposeModel, modelInputSize, modelOutputSize, type AutoencoderModel, type ModelJsonHead, type WeightSpec } from './denseNetwork';
import { nativeScoringSelected } from './engine';
import { nativeUnsupported } from './nativeEngine';
import { architectureOf, checkManifest, type Manifest } from './manifest';
import { tfjs, tfjsVersion } from './tfjs';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'manifest.json';

export interface LoadedArtifact {
  readonly model: AutoencoderModel;
  readonly manifest: Manifest;
  readonly dir: string;
}

interface ModelJson extends ModelJsonHead {
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly WeightSpec[] }[];
}

export async function saveArtifact(dir: string, model: AutoencoderModel, manifest: Manifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { head, specs, weights } = model instanceof DenseAutoencoder ? denseParts(model) : await tfjsParts(model);
  const modelJson = { ...head, weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }] };
  await writeAtomic(path.join(dir, WEIGHTS_FILE), weights);
  await writeAtomic(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
  await writeManifest(dir, manifest);
}

interface ModelParts {
  readonly head: ModelJsonHead;
  readonly specs: readonly WeightSpec[];
  readonly weights: Buffer;
}

/** What tfjs serialises of a model (through a save handler: no file-system handler is needed, nor tfjs.io). */
async function tfjsParts(model: tf.LayersModel): Promise<ModelParts> {
  let parts: ModelParts | undefined;
  await model.save({
    save: (artifacts) => {
      const weightData = artifacts.weightData;
      if (!artifacts.modelTopology || !artifacts.weightSpecs || !weightData) {
        return Promise.reject(new Error('tfjs returned an incomplete model to save'));
      }
      const weights = Buffer.concat((Array.isArray(weightData) ? weightData : [weightData]).map((b) => Buffer.from(new Uint8Array(b))));
      const head = { format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tfjsVersion()}`, convertedBy: null, modelTopology: artifacts.modelTopology };
      parts = { head, specs: artifacts.weightSpecs, weights };
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } });
    },
  });
  if (!parts) throw new Error('tfjs did not hand the model to its save handler');
  return parts;
}

/** A model read without tfjs is written back as it was read: the same model.json head, specs and weight order. */
function denseParts(model: DenseAutoencoder): ModelParts {
  const { head, specs } = model.source;
  const weights = Buffer.concat(specs.map((s) => {
    const w = model.weight(s.name) as Float32Array;
    return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
  }));
  return { head, specs, weights };
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeAtomic(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

export async function readManifest(dir: string): Promise<Manifest> {
  const text = await readOrExplain(path.join(dir, MANIFEST_FILE), dir);
  return checkManifest(parseJson(text.toString('utf8'), MANIFEST_FILE, dir), path.join(dir, MANIFEST_FILE));
}

export async function loadArtifact(dir: string): Promise<LoadedArtifact> {
  const manifest = await readManifest(dir);
  const modelJson = checkModelJson(parseJson((await readOrExplain(path.join(dir, MODEL_FILE), dir)).toString('utf8'), MODEL_FILE, dir), dir);
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(
    modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => readOrExplain(path.join(dir, path.basename(p)), dir)),
  );
  const weights = Buffer.concat(buffers);
  const expected = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weights.length !== expected) {
    throw new ModelError(`Model '${dir}': weights are ${weights.length} bytes, the topology needs ${expected} (truncated or mismatched file)`);
  }
  let model: AutoencoderModel;
  try {
    const native = nativeScoringSelected() ? readDenseAutoencoder(modelJson, specs, weights) : undefined;
    model = native ?? (await loadWithTfjs(modelJson, specs, weights));
    // A model the addon cannot run is computed by tfjs, which must be ready to do so (and say it). A conv1d
    // model is read through tfjs (its weights held on tfjs's cpu backend) and computed by the addon.
    const unsupported = native || !nativeScoringSelected() ? undefined : nativeUnsupported(model);
    if (unsupported !== undefined) await tfjsBackendFor(architectureOf(manifest), unsupported);
  } catch (err) {
    throw new ModelError(`Model '${dir}': cannot build the network from ${MODEL_FILE}: ${errorMessage(err)}`);
  }
  const inputSize = modelInputSize(model);
  const outputSize = modelOutputSize(model);
  if (inputSize !== manifest.architecture.inputSize || outputSize !== manifest.architecture.inputSize) {
    disposeModel(model);
    throw new ModelError(
      `Model '${dir}': network maps ${String(inputSize)} -> ${String(outputSize)} values but the manifest says windows of ${manifest.architecture.inputSize}`,
    );
  }
  return { model, manifest, dir };
}

function loadWithTfjs(modelJson: ModelJson, specs: WeightSpec[], weights: Buffer): Promise<tf.LayersModel> {
  const tf = tfjs();
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length);
  const weightSpecs = specs as tf.io.WeightsManifestEntry[];
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}

/** The fields of model.json that loading relies on, each checked, so a damaged file gets a ModelError, not a TypeError. */
function checkModelJson(value: unknown, dir: string): ModelJson {
  const m = value as Partial<ModelJson> | null;
  if (typeof m !== 'object' || m === null || typeof m.modelTopology !== 'object' || m.modelTopology === null || !Array.isArray(m.weightsManifest)) {
    throw new ModelError(`Model '${dir}': ${MODEL_FILE} has no modelTopology or weightsManifest`);
  }
  const groups = m.weightsManifest as unknown[];
  const wellFormed = groups.every((g) => {
    const group = g as { paths?: unknown; weights?: unknown } | null;
    return typeof group === 'object' && group !== null && isArrayOf(group.paths, (p) => typeof p === 'string') && isArrayOf(group.weights, isWeightSpec);
  });
  if (!wellFormed) throw new ModelError(`Model '${dir}': ${MODEL_FILE} has a malformed weightsManifest (each group needs paths and weights with name, shape, dtype)`);
  return m as ModelJson;
}

/** SHA-256 of the training data, recorded so a model can be traced back to what it learned from. */
export function sha256(data: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

function isWeightSpec(value: unknown): boolean {
  const w = value as Partial<WeightSpec> | null;
  return typeof w === 'object' && w !== null && typeof w.name === 'string' && typeof w.dtype === 'string' && isArrayOf(w.shape, (v) => Number.isInteger(v) && (v as number) >= 0);
}

function isArrayOf(value: unknown, each: (item: unknown) => boolean): boolean {
  return Array.isArray(value) && (value as unknown[]).every(each);
}

async function readOrExplain(file: string, dir: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new ModelError(`Model '${dir}': cannot read ${path.basename(file)}: ${why}`);
  }
}

function parseJson(text: string, name: string, dir: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ModelError(`Model '${dir}': ${name} is corrupt: ${errorMessage(err)}`);
  }
}

/** Write to a temporary file and rename, so a crash never leaves half an artifact. */
async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = tmpNameFor(file);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
