// TensorFlow.js, loaded on first use. Loading it costs about 31 MB of RSS and 240 to 330 ms, and a daemon whose
// models score on the native addon never needs it (artifacts are read by denseArtifact.ts there): only
// training, the tfjs/wasm backends and models that are not a plain dense chain do. Every file of model/ reaches
// tfjs through tfjs() inside the function that needs it, and imports its types only (`import type`), which
// compile to nothing.
import { readFileSync } from 'node:fs';
import type * as Tf from '@tensorflow/tfjs';

export type Tfjs = typeof Tf;

const TFJS_PACKAGE = '@tensorflow/tfjs';

let loaded: Tfjs | undefined;
/** Set when the native addon computes: tfjs, when something needs it, runs quietly on its plain cpu backend. */
let cpuBackendWanted = false;

/** The tfjs module, required (and configured for the selected backend) on the first call. */
export function tfjs(): Tfjs {
  if (!loaded) {
    // A plain require: this is the one place tfjs is loaded, on demand.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(TFJS_PACKAGE) as Tfjs;
    // Should the cpu backend fail, tfjs keeps the backend it picks itself.
    if (cpuBackendWanted) void useCpuBackend(loaded).catch(() => false);
  }
  return loaded;
}

/**
 * With the native addon selected, tfjs only builds, trains through and saves models, which needs no speed: the
 * pure-JS cpu backend does it. Not the wasm backend: initialising it reserves a WebAssembly memory (~16 MB of
 * RSS) that nothing would use. tfjs is configured now when something has loaded it already, else when it is.
 */
export async function preferTfjsCpuBackend(): Promise<boolean> {
  cpuBackendWanted = true;
  if (!loaded && !requiredElsewhere()) return true;
  return useCpuBackend(tfjs());
}

function useCpuBackend(tf: Tfjs): Promise<boolean> {
  // Its first use would print a banner urging tfjs-node, wrong advice here and noise in an operator's console:
  // production mode silences tfjs's warnings. The cpu backend initialises synchronously, so the backend is set
  // when setBackend returns, before its promise settles.
  tf.env().set('PROD', true);
  return tf.setBackend('cpu');
}

/** Whether tfjs was required already without tfjs() (a test or benchmark that imports it directly). */
function requiredElsewhere(): boolean {
  try {
    return require.cache[require.resolve(TFJS_PACKAGE)] !== undefined;
  } catch {
    return false;
  }
}

/** The installed tfjs version, read from its package.json without loading tfjs. */
export function tfjsVersion(): string {
  if (loaded) return loaded.version.tfjs;
  try {
    const file = require.resolve(`${TFJS_PACKAGE}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
