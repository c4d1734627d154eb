// Worker-thread entry for auto-learning: trains and calibrates a detector from collected windows and saves the
// artifact, off the main thread so ingestion and scoring go on meanwhile. One job per worker.
import { parentPort, workerData } from 'node:worker_threads';
import type { Window } from '../core/types';
import { saveArtifact } from './artifact';
import { selectBackend, type BackendPreference } from './backend';
import { trainDetector, type DetectorSpec } from './fitDetector';

export interface LearnJob {
  readonly spec: DetectorSpec;
  readonly windows: readonly Window[];
  readonly outDir: string;
  readonly backend: BackendPreference;
}

export type LearnResult =
  | { readonly ok: true; readonly dir: string; readonly threshold: number; readonly epochs: number; readonly seconds: number }
  | { readonly ok: false; readonly error: string };

async function run(job: LearnJob): Promise<LearnResult> {
  const backend = await selectBackend(job.backend);
  const { detector, history } = await trainDetector(job.windows, { ...job.spec, backend: backend.name });
  await saveArtifact(job.outDir, detector.model, detector.manifest);
  const result = { ok: true as const, dir: job.outDir, threshold: detector.threshold, epochs: history.epochsRun, seconds: history.durationMs / 1000 };
  detector.dispose();
  return result;
}

if (parentPort) {
  const port = parentPort;
  run(workerData as LearnJob).then(
    (r) => port.postMessage(r),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies LearnResult),
  );
}
