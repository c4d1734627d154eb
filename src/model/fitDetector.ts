// Train and calibrate a detector from raw windows: fit the scaler, train the denoising autoencoder, then set
// the threshold from the clean reconstruction errors. Shared by `train`, `calibrate`, `evaluate` and the
// daemon's auto-learning, so every path builds models the same way.
import { calibrate, type CalibrationMethod } from '../core/calibration';
import { fitScaler, scaleInto, type OutOfRange } from '../core/scaling';
import { CONV_STRIDE, type ConvLayers } from '../core/convShape';
import type { RhythmSettings } from '../core/rhythm';
import type { StreamSpec, Window } from '../core/types';
import { chooseChannelTransforms, isIdentity, learntLevelBounds, transformWindows, type ChannelTransforms, type WindowTransform } from '../core/windowTransform';
import type { WindowOptions } from '../core/window';
import { sha256 } from './artifact';
import { tfjsBackendFor } from './backend';
import { Detector } from './detector';
import { nativeScoringSelected } from './engine';
import { nativeUnsupported } from './nativeEngine';
import { MANIFEST_FORMAT, type ChannelSummary, type Manifest } from './manifest';
import { buildNetwork, type ArchitectureKind } from './network';
import type { ScoreAggregate, ScoreMetric } from './scorer';
import { tfjsVersion } from './tfjs';
import { trainAutoencoder, type EpochReport, type TrainOptions, type TrainingHistory, type WindowMatrix } from './train';

export interface DetectorSpec {
  readonly name: string;
  readonly stream: StreamSpec;
  readonly window: WindowOptions;
  /** The network's form (default dense): `encoderUnits` shape a dense one, `conv` a conv1d one. */
  readonly architecture?: ArchitectureKind;
  readonly encoderUnits: readonly number[];
  readonly conv?: ConvLayers;
  readonly latentUnits: number;
  readonly scaleMargin: number;
  /** Values outside the learnt range when scored: clipped (default) or kept (core/scaling.ts). */
  readonly outOfRange?: OutOfRange;
  /** Only the newest this many steps of a window count toward its score (default: all). */
  readonly scoreSteps?: number;
  /** Applied to each raw window before scaling (default 'none'); 'auto' chooses per channel from these windows. */
  readonly transform?: WindowTransform | 'auto' | readonly WindowTransform[];
  /** Demeaned channels: how far beyond the learnt range of window means (in that range's widths) a level is held (unset: not at all). */
  readonly levelTolerance?: number;
  readonly metric: ScoreMetric;
  readonly aggregate?: ScoreAggregate;
  /** A coarse-scale model's pooling (raw samples per input step), recorded in its manifest; absent for other models. */
  readonly pool?: number;
  /** The stream's period (samples) found on the learning data, recorded in the manifest (period_baseline); absent: none. */
  readonly period?: number;
  /**
   * The stream's rhythm joins the score (core/rhythm.ts); the windows must then carry their prematurity (cut with
   * window.rhythm), and the threshold is calibrated on the joined scores. Absent: none.
   */
  readonly rhythm?: RhythmSettings;
  readonly train: TrainOptions;
  /** Null leaves the model uncalibrated (calibrate later on other data). */
  readonly calibration: CalibrationMethod | null;
  readonly backend: string;
  readonly anomalydVersion: string;
}

export interface TrainedDetector {
  readonly detector: Detector;
  readonly history: TrainingHistory;
  /** Clean reconstruction errors of the training windows (what calibration used). */
  readonly cleanScores: number[];
}

export async function trainDetector(
  windows: readonly Window[],
  spec: DetectorSpec,
  onEpoch?: (r: EpochReport) => void,
): Promise<TrainedDetector> {
  const channels = spec.stream.channels.length;
  if (windows.length === 0) throw new RangeError(`No complete windows to train on for stream '${spec.stream.id}'`);
  const inputSize = spec.window.size * channels;
  const raw = new Float32Array(windows.length * inputSize);
  windows.forEach((w, i) => raw.set(w.values, i * inputSize));
  const transform: ChannelTransforms = spec.transform === 'auto' ? chooseChannelTransforms(raw, channels, spec.window.size) : (spec.transform ?? 'none');
  const input = transformWindows(transform, raw, channels, spec.window.size);
  // Every learning window's mean lies within its channel's bounds, so they change nothing of what is learnt here.
  const levelBounds = spec.levelTolerance === undefined ? undefined : learntLevelBounds(transform, raw, channels, spec.window.size, spec.levelTolerance);

  const scaler = fitScaler(input, channels, spec.scaleMargin);
  const scaled = new Float32Array(input.length);
  const clipped = scaleInto(scaler, input, channels, scaled);
  const matrix: WindowMatrix = { data: scaled, n: windows.length, inputSize };

  const kind = spec.architecture ?? 'dense';
  const model = buildNetwork({ kind, inputSize, channels, encoderUnits: spec.encoderUnits, conv: spec.conv, latentUnits: spec.latentUnits, seed: spec.train.seed });
  // The native addon trains dense and conv1d networks; a form it does not run is trained by tfjs, which must be
  // ready to (and say so), and the manifest records the tfjs backend that trained it.
  const unsupported = kind === 'dense' || !nativeScoringSelected() ? undefined : nativeUnsupported(model);
  const backend = unsupported === undefined ? spec.backend : await tfjsBackendFor(kind, unsupported);
  const history = await trainAutoencoder(model, matrix, spec.train, onEpoch);

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name: spec.name,
    stream: spec.stream.id,
    channels: [...spec.stream.channels],
    window: manifestWindow(spec.window),
    ...(!isIdentity(transform) ? { transform } : {}),
    ...(levelBounds ? { levelBounds } : {}),
    ...(spec.pool !== undefined ? { pool: spec.pool } : {}),
    ...(spec.period !== undefined ? { period: spec.period } : {}),
    scaler: { ...scaler, margin: spec.scaleMargin, ...(spec.outOfRange === 'keep' ? { outOfRange: 'keep' as const } : {}) },
    architecture: {
      // Absent means dense: manifests from before conv1d existed are dense models.
      ...(kind !== 'dense' ? { kind } : {}),
      inputSize,
      encoderUnits: kind === 'dense' ? [...spec.encoderUnits] : [],
      ...(kind === 'conv1d' && spec.conv ? { conv: { filters: [...spec.conv.filters], kernelSize: spec.conv.kernelSize, stride: CONV_STRIDE } } : {}),
      latentUnits: spec.latentUnits,
      hiddenActivation: 'relu',
      outputActivation: 'sigmoid',
    },
    training: {
      loss: spec.train.loss,
      noise: { ...spec.train.noise },
      epochs: spec.train.epochs,
      epochsRun: history.epochsRun,
      bestEpoch: history.bestEpoch,
      batchSize: spec.train.batchSize,
      learningRate: spec.train.learningRate,
      validationFraction: spec.train.validationFraction,
      patience: spec.train.patience,
      seed: spec.train.seed,
      ...(history.trimmedWindows > 0 ? { trim: trimRecord(spec.train, history.trimmedWindows) } : {}),
      finalLoss: history.loss[history.bestEpoch - 1] ?? NaN,
      finalValLoss: history.valLoss[history.bestEpoch - 1] ?? null,
      windows: windows.length,
      dataSha256: sha256(raw),
      channelSummary: summarise(raw, spec.stream.channels),
      clippedFraction: clipped / raw.length,
      durationMs: history.durationMs,
    },
    scoring: { metric: spec.metric, aggregate: spec.aggregate ?? 'mean', ...(spec.scoreSteps ? { steps: spec.scoreSteps } : {}) },
    ...(spec.rhythm ? { rhythm: { ...spec.rhythm } } : {}),
    calibration: null,
    backend,
    versions: { anomalyd: spec.anomalydVersion, tfjs: tfjsVersion(), node: process.versions.node },
    createdAt: new Date().toISOString(),
    calibratedAt: null,
  };
  let detector = new Detector(model, manifest, `<trained ${spec.name}>`);
  const cleanScores = detector.score(windows).map((s) => s.score);
  if (spec.calibration) detector = withCalibration(detector, cleanScores, spec.calibration);
  return { detector, history, cleanScores };
}

/** The window geometry a manifest records: the rhythm tracker's options are the manifest's `rhythm`, by channel name. */
function manifestWindow(w: WindowOptions): Manifest['window'] {
  const out: WindowOptions = { ...w };
  delete out.rhythm;
  return out;
}

/** A detector sharing the same network with a new threshold fitted on `scores` (clean data). */
export function withCalibration(detector: Detector, scores: readonly number[], method: CalibrationMethod): Detector {
  const calibration = calibrate(scores, method);
  const manifest: Manifest = { ...detector.manifest, calibration, calibratedAt: new Date().toISOString() };
  return new Detector(detector.model, manifest, detector.dir);
}

function trimRecord(t: TrainOptions, windows: number): NonNullable<Manifest['training']['trim']> {
  const fraction = t.trimFraction ?? 0;
  return fraction > 0 ? { fraction, windows } : { fraction: 0, fence: t.trimFence ?? 0, windows };
}

function summarise(raw: Float32Array, names: readonly string[]): ChannelSummary[] {
  const c = names.length;
  return names.map((name, ch) => {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let sumSq = 0;
    let n = 0;
    for (let i = ch; i < raw.length; i += c) {
      const v = raw[i];
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
      sumSq += v * v;
      n++;
    }
    const mean = sum / n;
    return { name, min, max, mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
  });
}
