// Retraining inside the daemon: the window recorder and the retrainer built from the config in force, the
// pipeline's `scored` hook, the periodic drift and schedule check, the operator API's actions and the metrics.
// Kept out of daemon.ts so the composition root only names it.
import * as path from 'node:path';
import type { Config } from '../config/schema';
import type { AlertEpisode } from '../core/alertHistory';
import type { ComponentContext } from '../core/context';
import type { FeedbackLabel } from '../core/feedback';
import type { Window } from '../core/types';
import type { DetectorSpec } from '../model/fitDetector';
import type { LearnScales } from '../model/learnWorker';
import type { StreamBinding } from '../pipeline/pipeline';
import { WindowRecorder } from '../state/windowRecorder';
import type { Metrics } from '../telemetry/metrics';
import { createRetrainMetrics } from '../telemetry/retrainMetrics';
import type { RetrainActions } from '../telemetry/retrainApi';
import { backendPreference } from './backend';
import { Retrainer, retrainJobJson, type CandidateMeta, type InfluxWindows, type InfluxWindowsRequest } from './retrainer';
import type { ShadowStore } from './retrainPromotion';
import { retrainSettingsOf, type RetrainSettings } from './retrainSettings';

/** How often drift verdicts and schedules are looked at (ms). */
export const RETRAIN_TICK_MS = 5_000;

export interface RetrainingOptions {
  readonly ctx: ComponentContext;
  readonly config: () => Config;
  readonly metrics: Metrics;
  readonly specFor: (binding: StreamBinding) => DetectorSpec;
  readonly scalesFor: (binding: StreamBinding) => LearnScales;
  readonly alertWindowsOf: (binding: StreamBinding) => number;
  readonly episodes: () => readonly AlertEpisode[];
  readonly labelOf: (fingerprint: string, startsAt: number) => FeedbackLabel | undefined;
  readonly isStream: (stream: string) => boolean;
  /**
   * The operating-mode hook: false while the stream's machine is in mode `off` (nothing of it is recorded or
   * judged for drift). Absent: always on.
   */
  readonly modeAllowsLearning?: (stream: string) => boolean;
  /** The model version store's shadow judge and promotion (modelVersions), for `promotion: auto`. */
  readonly shadows?: ShadowStore;
  /** Source influx: a stream's history from InfluxDB under the config in force (given by `run`, see DaemonInfo). */
  readonly influxWindows?: (config: Config, request: InfluxWindowsRequest) => Promise<InfluxWindows>;
  /**
   * Hands a candidate on. Default: the candidate stays in its directory, named by it, and the log says where
   * (the model version store replaces this with its addCandidate, which starts it in shadow).
   */
  readonly onCandidate?: (model: string, dir: string, meta: CandidateMeta) => Promise<{ readonly version: string }>;
}

export interface Retraining {
  readonly retrainer: Retrainer;
  readonly recorder: WindowRecorder;
  readonly scored: (binding: StreamBinding, window: Window, pValue: number, learn: boolean) => void;
  readonly forget: (stream: string) => void;
  readonly api: RetrainActions;
  stop(): Promise<void>;
}

export async function startRetraining(o: RetrainingOptions): Promise<Retraining> {
  const initial = o.config();
  const recorder = new WindowRecorder(initial.state_dir, o.ctx.log);
  // A stream's settings, per config in force: looked up once per stream, not per window.
  let cachedFor = initial;
  const cache = new Map<string, RetrainSettings | null>();
  const settingsOf = (stream: string): RetrainSettings | null => {
    const config = o.config();
    if (config !== cachedFor) {
      cache.clear();
      cachedFor = config;
    }
    let s = cache.get(stream);
    if (s === undefined) {
      s = retrainSettingsOf(config, stream);
      cache.set(stream, s);
    }
    return s;
  };
  // The gauges read the retrainer made right below (they are only read at a scrape).
  const made: { retrainer?: Retrainer } = {};
  const metrics = createRetrainMetrics(o.metrics, {
    running: () => made.retrainer?.running ?? 0,
    queued: () => made.retrainer?.queued ?? 0,
    recordedBytes: () => recorder.stats().bytes,
  });
  const retrainer = new Retrainer({
    ctx: o.ctx,
    stateDir: initial.state_dir,
    recorder,
    settingsOf,
    specFor: o.specFor,
    scalesFor: o.scalesFor,
    alertWindowsOf: o.alertWindowsOf,
    episodes: o.episodes,
    labelOf: o.labelOf,
    backend: backendPreference(initial.inference.backend),
    onCandidate:
      o.onCandidate ??
      ((model, dir) => {
        o.ctx.log.info('A candidate model is ready in its directory.', { model, dir });
        return Promise.resolve({ version: path.basename(dir) });
      }),
    isStream: o.isStream,
    ...(o.modeAllowsLearning ? { modeAllowsLearning: o.modeAllowsLearning } : {}),
    ...(o.shadows ? { shadows: o.shadows } : {}),
    ...(o.influxWindows ? { influxWindows: (request: InfluxWindowsRequest) => (o.influxWindows as NonNullable<typeof o.influxWindows>)(o.config(), request) } : {}),
    metrics,
    now: () => Date.now(),
  });
  made.retrainer = retrainer;
  await retrainer.start();
  const r = retrainer;
  const timer = setInterval(() => r.tick(), RETRAIN_TICK_MS);
  timer.unref();
  return {
    retrainer: r,
    recorder,
    scored: (binding, window, pValue, learn) => r.observe(binding, window, pValue, learn),
    forget: (stream) => {
      r.forget(stream);
      cache.delete(stream);
    },
    api: {
      request: (stream) => {
        const job = r.request(stream);
        return 'refused' in job ? job : retrainJobJson(job);
      },
      last: (stream) => {
        const job = r.lastJob(stream);
        if (job) return retrainJobJson(job);
        return r.knows(stream) ? null : 'unknown';
      },
    },
    async stop() {
      clearInterval(timer);
      await recorder.flush();
    },
  };
}
