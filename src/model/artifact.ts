// Model artifact I/O: model.json + weights.bin in the standard tfjs layers format (so tfjs-node's file://
// loader and the tfjs converter read it too) plus manifest.json. Written by hand because the pure-JS tfjs
// packages have no file-system handler; only tfjs-node ships one, and it is optional here.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../core/errors';
import { checkManifest, type Manifest } from './manifest';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'manifest.json';

export interface LoadedArtifact {
  readonly model: tf.LayersModel;
  readonly manifest: Manifest;
  readonly dir: string;
}

export async function saveArtifact(dir: string, model: tf.LayersModel, manifest: Manifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      if (!artifacts.modelTopology || !artifacts.weightSpecs || !weightData) {
        throw new Error('tfjs returned an incomplete model to save');
      }
      const bytes = Buffer.concat(
        (Array.isArray(weightData) ? weightData : [weightData]).map((b) => Buffer.from(new Uint8Array(b))),
      );
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
      };
      await writeAtomic(path.join(dir, WEIGHTS_FILE), bytes);
      await writeAtomic(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
    }),
  );
  await writeManifest(dir, manifest);
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
  const modelJson = parseJson((await readOrExplain(path.join(dir, MODEL_FILE), dir)).toString('utf8'), MODEL_FILE, dir) as {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new ModelError(`Model '${dir}': ${MODEL_FILE} has no modelTopology or weightsManifest`);
  }
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(
    modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => readOrExplain(path.join(dir, path.basename(p)), dir)),
  );
  const weights = Buffer.concat(buffers);
  const expected = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weights.length !== expected) {
    throw new ModelError(`Model '${dir}': weights are ${weights.length} bytes, the topology needs ${expected} (truncated or mismatched file)`);
  }
  let model: tf.LayersModel;
  try {
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length);
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData }));
  } catch (err) {
    throw new ModelError(`Model '${dir}': cannot build the network from ${MODEL_FILE}: ${(err as Error).message}`);
  }
  const inputSize = model.inputs[0].shape[1];
  const outputSize = (model.outputs[0].shape as number[])[1];
  if (inputSize !== manifest.architecture.inputSize || outputSize !== manifest.architecture.inputSize) {
    model.dispose();
    throw new ModelError(
      `Model '${dir}': network maps ${String(inputSize)} -> ${String(outputSize)} values but the manifest says windows of ${manifest.architecture.inputSize}`,
    );
  }
  return { model, manifest, dir };
}

/** SHA-256 of the training data, recorded so a model can be traced back to what it learned from. */
export function sha256(data: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

async function readOrExplain(file: string, dir: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ModelError(`Model '${dir}': cannot read ${path.basename(file)}: ${why}`);
  }
}

function parseJson(text: string, name: string, dir: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ModelError(`Model '${dir}': ${name} is corrupt: ${(err as Error).message}`);
  }
}

/** Write to a temporary file and rename, so a crash never leaves half an artifact. */
async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}
