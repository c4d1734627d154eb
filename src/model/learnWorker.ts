// Worker-thread entry for auto-learning: trains and calibrates a detector from collected windows and saves the
// artifact, off the main thread so ingestion and scoring go on meanwhile. One job per worker.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../core/errors';
import type { Window } from '../core/types';
import { findPeriod } from '../core/period';
import { stepsOfWindows } from '../core/pooledSteps';
import { onBackendNotice, selectBackend, type BackendPreference } from './backend';
import type { WindowTransform } from '../core/windowTransform';
import { trainCoarseDetector } from './coarseModel';
import type { Detector } from './detector';
import { trainEnsemble } from './ensemble';
import type { DetectorSpec } from './fitDetector';
import { saveLearnedModel } from './learnedModel';
import { trainTransformDetector } from './transformModel';

/** The scales a stream's model learns besides the main one, and the networks per scale. */
export interface LearnScales {
  /** Networks per scale (training.ensemble). */
  readonly ensemble: number;
  /** Coarse time scale's pooling (calibration.likelihood.coarse_pool; below 2: none). */
  readonly coarsePool: number;
  /** The coarse pool is chosen from the learning steps' period (calibration.likelihood.coarse_period). */
  readonly coarsePeriod: boolean;
  /** The stream's period is found on the learning steps and recorded in the model (calibration.likelihood.period_baseline). */
  readonly periodBaseline: boolean;
  /** Transformed scale's input transform (calibration.likelihood.transform_scale). */
  readonly transformScale: WindowTransform;
}

/** What a worker learns from; a scale the job leaves out is not learned (ensemble left out: 1 network). */
export interface LearnJob extends Partial<LearnScales> {
  readonly spec: DetectorSpec;
  readonly windows: readonly Window[];
  readonly outDir: string;
  readonly backend: BackendPreference;
  /** The windows' hop, to recover the steps under them for the coarse scale. */
  readonly hop?: number;
  /**
   * Niceness of this worker's thread (Linux; 0-19): a retrain yields the cores to the scoring thread. Absent
   * or not possible (other systems): the thread keeps the process's priority.
   */
  readonly nice?: number;
}

export type LearnResult =
  | { readonly ok: true; readonly dir: string; readonly threshold: number; readonly epochs: number; readonly seconds: number; readonly coarse: boolean; readonly transformed: boolean }
  | { readonly ok: false; readonly error: string };

/** Lowers this thread's priority: Linux schedules threads on their own, by the id /proc/thread-self names. */
function niceThisThread(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or not permitted: training runs at the process's priority.
  }
}

async function run(job: LearnJob): Promise<LearnResult> {
  if (job.nice !== undefined && job.nice > 0) niceThisThread(job.nice);
  // The main thread says where a model is computed when it loads the learned model; a line from here would reach
  // its stderr unformatted.
  onBackendNotice(() => undefined);
  const backend = await selectBackend(job.backend);
  const pool = job.coarsePool ?? 0;
  // The steps under the windows, recovered once for the period and the coarse scale (only when one needs them).
  const learning = job.periodBaseline || pool >= 2 ? stepsOfWindows(job.windows, job.hop ?? job.spec.window.hop) : undefined;
  const period = job.periodBaseline && learning ? findPeriod(learning.steps, job.spec.stream.channels.length)?.steps : undefined;
  const spec = { ...job.spec, backend: backend.name };
  const ensemble = job.ensemble ?? 1;
  // The period belongs to the stream's own model (the filter reads it there), not to its other scales'.
  const { detector, history } = await trainEnsemble(job.windows, { ...spec, ...(period !== undefined ? { period } : {}) }, ensemble);
  try {
    let coarse: Detector | undefined;
    let transformed: Detector | undefined;
    try {
      if (pool >= 2 && learning) {
        coarse = (await trainCoarseDetector(spec, { pool, fromPeriod: job.coarsePeriod ?? false }, learning.times, learning.steps, ensemble))?.detector;
      }
      const transform = job.transformScale ?? 'none';
      if (transform !== 'none') transformed = (await trainTransformDetector(spec, transform, job.windows, ensemble)).detector;
      await saveLearnedModel(job.outDir, { detector, ...(coarse ? { coarse } : {}), ...(transformed ? { transformed } : {}) });
    } finally {
      coarse?.dispose();
      transformed?.dispose();
    }
    return {
      ok: true,
      dir: job.outDir,
      threshold: detector.threshold,
      epochs: history.epochsRun,
      seconds: history.durationMs / 1000,
      coarse: coarse !== undefined,
      transformed: transformed !== undefined,
    };
  } finally {
    detector.dispose();
  }
}

if (parentPort) {
  const port = parentPort;
  run(workerData as LearnJob).then(
    (r) => port.postMessage(r),
    (err: unknown) => port.postMessage({ ok: false, error: errorMessage(err) } satisfies LearnResult),
  );
}
