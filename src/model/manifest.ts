// manifest.json: everything needed to use a model artifact correctly besides its weights, and to refuse it
// when it does not fit the data or stream it is given. Field list: docs/design.md, "Model artifact".
import type { Calibration } from '../core/calibration';
import { OUT_OF_RANGE, type OutOfRange, type ScalerParams } from '../core/scaling';
import { WINDOW_TRANSFORMS, type ChannelTransforms, type LevelBounds, type WindowTransform } from '../core/windowTransform';
import { ModelError } from '../core/errors';
import { rhythmSettingsProblems, type RhythmSettings } from '../core/rhythm';
import { windowOptionProblems } from '../core/window';
import { ARCHITECTURE_KINDS, type ArchitectureKind } from './network';
import type { NoiseOptions } from './noise';
import type { ScoreAggregate, ScoreMetric } from './scorer';
import type { LossName } from './train';

export const MANIFEST_FORMAT = 1;

export interface ChannelSummary {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
}

export interface Manifest {
  readonly format: number;
  readonly name: string;
  readonly stream: string;
  readonly channels: readonly string[];
  readonly window: {
    readonly size: number;
    readonly hop: number;
    readonly maxGapMs: number;
    readonly minCompleteness: number;
    readonly samplePeriodMs?: number;
  };
  /**
   * Applied to each raw window before scaling: one for all channels, or one per channel (what `auto` chose);
   * absent in older manifests, meaning 'none'.
   */
  readonly transform?: ChannelTransforms;
  /**
   * Per channel, [low, high] within which a demeaned channel's window mean is subtracted (the learnt level range
   * widened by training.level_tolerance), null for the other channels; absent = the whole mean (plain demean).
   */
  readonly levelBounds?: LevelBounds;
  /**
   * A coarse-scale model only: raw samples mean-pooled into each of its input steps. Absent (every coarse model
   * from before it, and every other model): the stream's configured calibration.likelihood.coarse_pool.
   */
  readonly pool?: number;
  /**
   * The stream's period in samples, found on the learning data (core/period.ts) when the model was learned with
   * calibration.likelihood.period_baseline; absent otherwise (and in every manifest from before it).
   */
  readonly period?: number;
  /** `outOfRange` absent (every manifest from before it existed) means 'clip'. */
  readonly scaler: ScalerParams & { readonly margin: number; readonly outOfRange?: OutOfRange };
  readonly architecture: {
    /** The network's form; absent (every manifest from before conv1d) means dense. */
    readonly kind?: ArchitectureKind;
    readonly inputSize: number;
    /** Dense encoder layers; [] for the shallow dense form and for conv1d. */
    readonly encoderUnits: readonly number[];
    /** conv1d only: encoder filters (outermost first), kernel taps and stride along the time axis. */
    readonly conv?: { readonly filters: readonly number[]; readonly kernelSize: number; readonly stride: number };
    readonly latentUnits: number;
    readonly hiddenActivation: 'relu';
    readonly outputActivation: 'sigmoid';
  };
  readonly training: {
    readonly loss: LossName;
    readonly noise: NoiseOptions;
    readonly epochs: number;
    readonly epochsRun: number;
    readonly bestEpoch: number;
    readonly batchSize: number;
    readonly learningRate: number;
    readonly validationFraction: number;
    readonly patience: number;
    readonly seed: number;
    /** Trimmed training: the fraction of worst-reconstructed windows dropped before the refit, and how many (absent when off). */
    /** Trimmed training: a fixed fraction, or (fraction 0) the outlier fence's k; windows dropped before the refit. */
    readonly trim?: { readonly fraction: number; readonly fence?: number; readonly windows: number };
    readonly finalLoss: number;
    readonly finalValLoss: number | null;
    readonly windows: number;
    readonly dataSha256: string;
    readonly channelSummary: readonly ChannelSummary[];
    readonly clippedFraction: number;
    readonly durationMs: number;
  };
  /** `aggregate` absent (older artifacts) means 'mean'; `steps` absent means every step of the window counts. */
  readonly scoring: { readonly metric: ScoreMetric; readonly aggregate?: ScoreAggregate; readonly steps?: number };
  /**
   * The stream's rhythm joins the score (core/rhythm.ts): each window's score is multiplied by its prematurity^-exponent
   * before calibration and judgement. Absent (every manifest from before it, and models without it): scores as they are.
   */
  readonly rhythm?: RhythmSettings;
  /** Null until `anomalyd calibrate` (or train's built-in calibration) has run. */
  readonly calibration: Calibration | null;
  readonly backend: string;
  readonly versions: { readonly anomalyd: string; readonly tfjs: string; readonly node: string };
  readonly createdAt: string;
  readonly calibratedAt: string | null;
}

/** Check the fields the daemon relies on; a manifest from a newer format or a hand-edited one is refused. */
export function checkManifest(value: unknown, where: string): Manifest {
  const problems: string[] = [];
  const m = value as Partial<Manifest> | null;
  if (typeof m !== 'object' || m === null) throw new ModelError(`${where}: manifest is not a JSON object`);
  if (m.format !== MANIFEST_FORMAT) problems.push(`format is ${String(m.format)}, this anomalyd reads ${MANIFEST_FORMAT}`);
  if (!Array.isArray(m.channels) || m.channels.length === 0 || !m.channels.every((c) => typeof c === 'string')) {
    problems.push('channels must be a non-empty list of names');
  }
  const w = m.window;
  if (!w || !isPositiveInt(w.size) || !isPositiveInt(w.hop)) problems.push('window.size and window.hop must be positive integers');
  else {
    // The rest of what a stream's WindowBuffer would refuse, so a bad manifest fails when the model loads, not per message.
    for (const p of windowOptionProblems(w)) problems.push(`window.${p.option} ${p.message} (got ${String(p.got)})`);
  }
  const s = m.scaler;
  const nCh = Array.isArray(m.channels) ? m.channels.length : 0;
  if (!s || !Array.isArray(s.min) || !Array.isArray(s.max) || s.min.length !== nCh || s.max.length !== nCh) {
    problems.push(`scaler.min/max must have one entry per channel (${nCh})`);
  }
  if (s?.outOfRange !== undefined && !OUT_OF_RANGE.includes(s.outOfRange)) problems.push(`scaler.outOfRange must be ${OUT_OF_RANGE.join(' or ')}`);
  const a = m.architecture;
  if (!a || !isPositiveInt(a.inputSize) || !isPositiveInt(a.latentUnits) || !Array.isArray(a.encoderUnits)) {
    problems.push('architecture is incomplete');
  } else if (w && isPositiveInt(w.size) && a.inputSize !== w.size * nCh) {
    problems.push(`architecture.inputSize ${a.inputSize} != window.size ${w.size} x ${nCh} channels`);
  }
  if (a?.kind !== undefined && !ARCHITECTURE_KINDS.includes(a.kind)) {
    problems.push(`architecture.kind must be ${ARCHITECTURE_KINDS.join(' or ')} (got ${String(a.kind)}): a model from a newer anomalyd?`);
  } else if (a?.kind === 'conv1d' && !validConv(a.conv)) {
    problems.push('architecture.conv must give filters (positive integers), kernelSize and stride for a conv1d model');
  }
  if (m.transform !== undefined && !validTransform(m.transform, nCh)) problems.push(`transform must be none, demean or diff, or a list of those with one entry per channel (${nCh})`);
  if (m.period !== undefined && (!isPositiveInt(m.period) || m.period < 2)) problems.push(`period must be a whole number >= 2 (got ${String(m.period)})`);
  if (m.pool !== undefined && (!isPositiveInt(m.pool) || m.pool < 2)) problems.push(`pool must be a whole number >= 2 (got ${String(m.pool)})`);
  if (m.levelBounds !== undefined && !validLevelBounds(m.levelBounds, nCh)) {
    problems.push(`levelBounds must have one entry per channel (${nCh}), each null or [low, high] with finite low <= high`);
  }
  if (!m.scoring || !['mse', 'mae', 'bce'].includes(m.scoring.metric)) problems.push('scoring.metric must be mse, mae or bce');
  if (m.scoring?.aggregate !== undefined && !['mean', 'max_channel'].includes(m.scoring.aggregate)) {
    problems.push('scoring.aggregate must be mean or max_channel');
  }
  const steps = m.scoring?.steps;
  if (steps !== undefined && (!isPositiveInt(steps) || (w && isPositiveInt(w.size) && steps > w.size))) {
    problems.push(`scoring.steps must be a whole number from 1 to window.size (got ${String(steps)})`);
  }
  if (m.rhythm !== undefined) {
    if (typeof m.rhythm !== 'object' || m.rhythm === null) problems.push('rhythm must be an object');
    else if (Array.isArray(m.channels)) problems.push(...rhythmSettingsProblems(m.rhythm, m.channels));
  }
  if (m.calibration !== null && m.calibration !== undefined && !Number.isFinite(m.calibration.threshold)) {
    problems.push('calibration.threshold must be a finite number');
  }
  if (problems.length > 0) throw new ModelError(`${where}: invalid manifest: ${problems.join('; ')}`);
  return m as Manifest;
}

/** What the data or stream offers a model, to be compared with its manifest. */
export interface ModelUse {
  readonly channels: readonly string[];
  readonly windowSize?: number;
}

/** Refuse a model whose manifest does not fit, saying exactly what differs. */
export function assertCompatible(m: Manifest, use: ModelUse, modelDir: string): void {
  const differences: string[] = [];
  const same = m.channels.length === use.channels.length && m.channels.every((c, i) => c === use.channels[i]);
  if (!same) {
    differences.push(`channels: model has [${m.channels.join(', ')}], data has [${use.channels.join(', ')}]`);
  }
  if (use.windowSize !== undefined && use.windowSize !== m.window.size) {
    differences.push(`window size: model has ${m.window.size}, data has ${use.windowSize}`);
  }
  if (differences.length > 0) {
    throw new ModelError(`Model '${modelDir}' does not match: ${differences.join('; ')}`);
  }
}

function validConv(c: unknown): boolean {
  const conv = c as { filters?: unknown; kernelSize?: unknown; stride?: unknown } | undefined;
  return typeof conv === 'object' && conv !== null && Array.isArray(conv.filters) && conv.filters.length > 0 && conv.filters.every(isPositiveInt) && isPositiveInt(conv.kernelSize) && isPositiveInt(conv.stride);
}

/** The network's form a manifest records (dense when it says none). */
export function architectureOf(m: Manifest): ArchitectureKind {
  return m.architecture.kind ?? 'dense';
}

function validTransform(t: unknown, channels: number): boolean {
  const known = (k: unknown): boolean => WINDOW_TRANSFORMS.includes(k as WindowTransform);
  return Array.isArray(t) ? t.length === channels && t.every(known) : known(t);
}

function validLevelBounds(b: unknown, channels: number): boolean {
  const entry = (e: unknown): boolean =>
    e === null || (Array.isArray(e) && e.length === 2 && Number.isFinite(e[0]) && Number.isFinite(e[1]) && (e[0] as number) <= (e[1] as number));
  return Array.isArray(b) && b.length === channels && b.every(entry);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
