// `anomalyd replay` below its command line: the model loaded as the daemon loads it for the stream, the
// recording streamed through the daemon's Pipeline (streamReplay.ts) with the stream's window options, lateness,
// score filter, sensor checks and alert state machine (replaySetup.ts), and the alert episodes read off the
// notices the daemon's sinks would have received.
import * as path from 'node:path';
import { SensorCheck } from '../core/sensorCheck';
import { loadLearnedModel, scalesOfLearned, type LearnedScales } from '../model/learnedModel';
import { readManifest } from '../model/artifact';
import { Detector } from '../model/detector';
import { readCsv, type CsvSeries, type TimeUnit } from '../sources/csv';
import { learnedRange } from '../app/autoLearner';
import { alertSettings, newScoreFilter, scoreFilterKind, sensorCheckOptions } from '../app/detection';
import { withScales } from '../app/scaleFilters';
import { alertEpisodes, type AlertEpisode } from './replayEpisodes';
import { replaySetup, type ReplayConfig, type ReplaySetup } from './replaySetup';
import { streamThroughPipeline, type PipelineRecord } from './streamReplay';
import { withFixedThreshold } from '../app/models';

export interface ReplayModel {
  readonly detector: Detector;
  /** The extra scales' detectors of a learned model (coarse, transformed), those it has. */
  readonly scales?: LearnedScales;
  readonly setup: ReplaySetup;
  /** True when the config's models.<name>.threshold replaced the model's calibrated threshold. */
  readonly fixedThreshold: boolean;
  dispose(): void;
}

/**
 * The model in `dir` and the stream settings it is replayed with. A stream that learns its own model is loaded
 * as the daemon loads learned models (ensemble members and extra scales); a stream bound to a configured model
 * whose path is `dir` gets that entry's fixed threshold, if it sets one.
 */
export async function loadReplayModel(dir: string, cfg: ReplayConfig | undefined, streamId?: string): Promise<ReplayModel> {
  const setup = replaySetup(await readManifest(dir), cfg, streamId, dir);
  const configured = setup.configuredModel;
  const warnings = [...setup.warnings];
  if (setup.learnsOwnModel) {
    const learned = await loadLearnedModel(dir);
    const { detector, coarse, transformed } = learned;
    const dispose = (): void => {
      detector.dispose();
      coarse?.dispose();
      transformed?.dispose();
    };
    return { detector, scales: scalesOfLearned(learned), setup, fixedThreshold: false, dispose };
  }
  const loaded = await Detector.load(dir);
  const same = configured !== undefined && configured.path === path.resolve(dir);
  if (configured && !same) {
    warnings.push(`${cfg?.file ?? ''}: stream '${setup.stream.id}' is scored by model '${configured.name}' (${configured.path}) in the daemon; replaying '${dir}' instead`);
  }
  const detector = same && configured.threshold !== undefined ? withFixedThreshold(loaded, configured.threshold) : loaded;
  return { detector, setup: { ...setup, warnings }, fixedThreshold: detector !== loaded, dispose: () => detector.dispose() };
}

export interface RecordingReplay extends PipelineRecord {
  readonly series: CsvSeries;
  /** Anomaly alert episodes, in start order. */
  readonly alerts: readonly AlertEpisode[];
  /** Insufficient-data and sensor-check episodes, in start order. */
  readonly otherAlerts: readonly AlertEpisode[];
  /** The score filter: the likelihood produced the scores and decisions, SPOT moved the threshold, or none. */
  readonly filtered: 'likelihood' | 'spot' | 'none';
}

/** Streams the CSV file through the daemon's pipeline as the daemon would have processed it live. */
export async function replayRecording(model: ReplayModel, input: string, timeUnit?: TimeUnit): Promise<RecordingReplay> {
  const { setup, detector } = model;
  const { stream, detection } = setup;
  const series = await readCsv(input, {
    channels: stream.channels,
    ...(setup.window.samplePeriodMs ? { samplePeriodMs: setup.window.samplePeriodMs } : {}),
    ...(timeUnit ? { timeUnit } : {}),
  });
  const modelName = setup.configuredModel?.name ?? detector.manifest.name;
  const scales = model.scales;
  const filter = withScales(newScoreFilter(detection.calibration, () => detector.manifest.calibration), detection, () => scales, {
    stream: stream.id,
    channels: stream.channels.length,
    size: setup.window.size,
    hop: setup.window.hop,
  });
  if (filter && setup.learnsOwnModel) {
    const range = learnedRange(detector, stream.channels);
    filter.seedRange?.(range.lo, range.hi);
  }
  let sequence = 0;
  const sensors = new SensorCheck(sensorCheckOptions(detection.alerting, { stream: stream.id, model: modelName, labels: {}, nextSequence: () => ++sequence }, stream.channels));
  const record = streamThroughPipeline(detector, {
    stream,
    times: series.ts,
    values: series.values,
    window: setup.window,
    maxLatenessMs: setup.maxLatenessMs,
    alerting: alertSettings(detection.alerting),
    model: modelName,
    ...(filter ? { scoreFilter: filter } : {}),
    ...(sensors.enabled ? { sensors } : {}),
  });
  const episodes = alertEpisodes(record.notices, record.scores);
  return {
    ...record,
    series,
    alerts: episodes.filter((e) => e.kind === 'anomaly'),
    otherAlerts: episodes.filter((e) => e.kind !== 'anomaly'),
    filtered: filter ? scoreFilterKind(detection.calibration) : 'none',
  };
}

export type { ReplayConfig } from './replaySetup';
export type { AlertEpisode } from './replayEpisodes';
