// Backend selection. tfjs-node (native libtensorflow) is the first choice but cannot always be installed (its
// install script downloads libtensorflow), so it is an optional dependency and we probe for it at run time.
// Next comes anomalyd's own native addon (packages/anomalyd-native, compiled by node-gyp at `npm install` where
// a C++ compiler exists; see nativeAddon.ts), which scores and trains the dense autoencoder itself. Choosing it
// loads no tfjs: artifacts of a dense chain are then read without it (denseArtifact.ts), and tfjs is loaded on
// its cpu backend only where a model is built or trained, or is of another architecture (tfjs.ts). Then the
// WebAssembly backend (SIMD; about 35x the pure-JS cpu backend for the design's model at batch 256), and the
// cpu backend as the last resort. The choice is logged by the caller and exported as model_info{backend}.
// The choice is per process, the engine per model: the addon runs the dense and conv1d autoencoders; a model it
// does not run is computed by tfjs whatever was selected (engine.ts), and with the addon selected tfjs then moves
// to wasm (tfjsBackendFor).
import { errorMessage } from '../core/errors';
import { loadNativeAddon } from './nativeAddon';
import { preferTfjsCpuBackend, tfjs, tfjsVersion } from './tfjs';
import { ensureWasmConvGradient } from './wasmConvGrad';

export type BackendName = 'tensorflow' | 'native' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  readonly name: BackendName;
  readonly tfjsVersion: string;
  /** The tfjs backend underneath (for 'native': the one that builds and trains models, once tfjs is needed). */
  readonly tfjsBackend: string;
  /** The native addon's kernel set (avx512, avx2, generic) when name is 'native'. */
  readonly kernels?: string;
  /** Why faster backends were skipped, for the start-up log line. */
  readonly skipped: readonly string[];
}

let selected: BackendInfo | undefined;

async function tryNative(): Promise<string | undefined> {
  try {
    // A plain require: the package is optional and may be absent; it registers the 'tensorflow' backend.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return (await tfjs().setBackend('tensorflow')) ? undefined : 'tfjs-node loaded but did not initialise';
  } catch (err) {
    return `tfjs-node not available (${firstLine(err)})`;
  }
}

async function tryAddon(): Promise<string | undefined> {
  const { problem } = loadNativeAddon();
  if (problem !== undefined) return problem;
  return (await preferTfjsCpuBackend()) ? undefined : 'cpu backend did not initialise';
}

async function tryWasm(): Promise<string | undefined> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
    if (!(await tfjs().setBackend('wasm'))) return 'wasm backend did not initialise';
    ensureWasmConvGradient();
    return undefined;
  } catch (err) {
    return `wasm backend not available (${firstLine(err)})`;
  }
}

function firstLine(err: unknown): string {
  const text = errorMessage(err);
  return text.split('\n')[0] ?? text;
}

/**
 * Select the fastest working backend once per process (later calls return the first choice). `preference`
 * forces one backend (`ANOMALYD_BACKEND` overrides it), which tests and benchmarks use.
 */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (selected) return selected;
  const forced = (process.env.ANOMALYD_BACKEND || preference) as BackendPreference;
  const order: BackendName[] = forced === 'auto' ? ['tensorflow', 'native', 'wasm', 'cpu'] : [forced];
  const skipped: string[] = [];
  for (const name of order) {
    const problem = Object.hasOwn(TRY, name) ? await TRY[name]() : `unknown backend '${String(name)}'`;
    if (problem === undefined) {
      selected = name === 'native' ? nativeInfo(skipped) : await tfjsInfo(name, skipped);
      return selected;
    }
    skipped.push(problem);
  }
  throw new Error(`No TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

/** The addon computes; tfjs is not loaded for this, and will run on its cpu backend once something needs it. */
function nativeInfo(skipped: string[]): BackendInfo {
  const kernels = loadNativeAddon().kernels;
  return { name: 'native', tfjsVersion: tfjsVersion(), tfjsBackend: 'cpu', ...(kernels ? { kernels } : {}), skipped };
}

async function tfjsInfo(name: BackendName, skipped: string[]): Promise<BackendInfo> {
  const tf = tfjs();
  await tf.ready();
  return { name, tfjsVersion: tf.version.tfjs, tfjsBackend: tf.getBackend(), skipped };
}

async function cpu(): Promise<string | undefined> {
  return (await tfjs().setBackend('cpu')) ? undefined : 'cpu backend did not initialise';
}

const TRY: Record<BackendName, () => Promise<string | undefined>> = { tensorflow: tryNative, native: tryAddon, wasm: tryWasm, cpu };

export function currentBackend(): BackendInfo | undefined {
  return selected;
}

/** Where the model layer's notices go (a model computed by another engine than the selected backend): stderr
 * unless the daemon routes them to its log. */
let notify: (message: string) => void = (message) => process.stderr.write(`${message}\n`);
const noticed = new Set<string>();

export function onBackendNotice(listener: (message: string) => void): void {
  notify = listener;
}

let movedToWasm: Promise<string> | undefined;

/**
 * Readies tfjs to compute a model the native addon does not run (`why`: convTopology.ts's or nativeEngine.ts's
 * reason), and returns the tfjs backend that will. With the addon selected, tfjs sits on its plain cpu backend,
 * which only held weights so far and trains a conv1d model at tens of windows per second; it moves to wasm
 * (about 5x faster at scoring, and trainable with wasmConvGrad.ts) once per process, and says so once per
 * architecture. Tensors made on cpu before move over when next used. Other selections compute every model on
 * tfjs already.
 */
export async function tfjsBackendFor(architecture: string, why: string): Promise<string> {
  const current = selected;
  if (current?.name !== 'native') return tfjs().getBackend();
  movedToWasm ??= (async () => {
    const problem = await tryWasm();
    const backend = tfjs().getBackend();
    selected = { ...current, tfjsBackend: backend };
    if (problem !== undefined) notify(`tfjs stays on its ${backend} backend for models the native addon does not run: ${problem}.`);
    return backend;
  })();
  const backend = await movedToWasm;
  if (!noticed.has(architecture)) {
    noticed.add(architecture);
    notify(`Models of architecture ${architecture} are scored and trained by tfjs (${backend}): the native addon does not run them (${why}).`);
  }
  return backend;
}
