// The running daemon's side of the model version store (modelVersions.ts): where each model's v1 artifact is
// (the configured path, or an auto stream's learned folder), how a version loads (a configured model's fixed
// threshold applies to its own artifact only: a retrained version brings its own calibration), and what making
// a version live means (the registry's detector and the model's scoring lane, swapped between batches); and the
// daemon's shadow lanes with their counters.
import * as path from 'node:path';
import type { Config, DetectionConfig } from '../config/schema';
import type { Log } from '../core/context';
import type { Sink } from '../core/sink';
import type { AlertFeedback } from '../core/feedback';
import { Detector } from '../model/detector';
import { loadLearnedDetector } from '../model/learnedModel';
import type { Pipeline } from '../pipeline/pipeline';
import { learnedModelDir } from './learnedDirs';
import { AUTO_PREFIX, withFixedThreshold, type ModelRegistry } from './models';
import { BASE_VERSION, type VersionRuntime } from './modelVersions';
import { ShadowScoring } from './modelVersionsShadow';
import type { Metrics } from '../telemetry/metrics';

export interface DaemonVersionParts {
  /** The config in force (a reload may change models). */
  readonly config: () => Config;
  /** state_dir/models, where auto streams' models are learned. */
  readonly learnedDir: string;
  readonly models: ModelRegistry;
  readonly pipeline: () => Pipeline | undefined;
  readonly shadow: ShadowScoring;
  readonly labels: () => readonly AlertFeedback[];
}

export function daemonVersionRuntime(p: DaemonVersionParts): VersionRuntime {
  return {
    baseDir(model) {
      if (model.startsWith(AUTO_PREFIX)) return p.models.get(model) ? learnedModelDir(p.learnedDir, model.slice(AUTO_PREFIX.length)) : undefined;
      const entry = p.config().models[model];
      return entry ? path.resolve(entry.path) : undefined;
    },
    async load(model, version, dir) {
      if (model.startsWith(AUTO_PREFIX)) return loadLearnedDetector(dir);
      const detector = await Detector.load(dir);
      const threshold = p.config().models[model]?.threshold;
      return version === BASE_VERSION && threshold !== undefined ? withFixedThreshold(detector, threshold) : detector;
    },
    live: (model) => p.models.get(model),
    install(model, version, dir, detector) {
      p.models.set(model, dir, detector, version);
      p.pipeline()?.modelReady(model, detector);
    },
    shadow: p.shadow,
    labels: p.labels,
    names: () => p.models.statuses().map((s) => s.name),
  };
}

/** The shadow lanes of the daemon: the live lanes' batching, a queue as large, and the anomalyd_shadow_* counters. */
export function daemonShadow(c: Config, log: Log, metrics: Metrics, sinks: () => readonly Sink[], detectionOf: (stream: string) => DetectionConfig | undefined): ShadowScoring {
  return new ShadowScoring({
    log,
    lane: { capacity: c.queues.capacity, maxBatch: c.batching.max_batch, maxWaitMs: c.batching.max_wait_ms },
    sinks,
    detectionOf,
    counters: {
      scored: (model, n) => metrics.shadowWindows.inc({ model }, n),
      dropped: (model, n) => metrics.shadowDropped.inc({ model }, n),
      wouldFire: (model) => metrics.shadowAlerts.inc({ model }),
    },
    now: () => Date.now(),
  });
}
