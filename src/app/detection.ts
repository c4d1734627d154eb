// From configuration to detection components: which stream a name refers to, its merged detection settings
// (defaults, then subscription, then stream overrides) and the specs that model/ and core/ take. Only
// app/ and cli/ know both the config shape and the component option shapes.
import type { Calibration, CalibrationMethod } from '../core/calibration';
import { ConfigError } from '../core/errors';
import type { StreamSpec } from '../core/types';
import { effectiveDetection, windowOptions } from '../config/detection';
import type { AlertingConfig, CalibrationConfig, Config, DetectionConfig, RhythmConfig, SubscriptionConfig } from '../config/schema';
import { rhythmTrackerOptions, type RhythmSettings } from '../core/rhythm';
import type { WindowOptions } from '../core/window';
import { sparkplugNodePattern } from '../core/sparkplugNames';
import type { AlertStateOptions } from '../core/alerting';
import { AnomalyLikelihood } from '../core/anomalyLikelihood';
import type { StreamScoreFilter } from '../core/scoreFilter';
import { SpotFilter } from '../core/spotFilter';
import type { SensorCheckOptions } from '../core/sensorCheck';
import type { DetectorSpec } from '../model/fitDetector';

// Kept importable from here, where the other config -> options mappings live.
export { windowOptions };

export interface ResolvedStream {
  readonly stream: StreamSpec;
  readonly detection: DetectionConfig;
  /** Configured model name, or 'auto'. */
  readonly model: string;
}

export function resolveStream(config: Config, file: string, streamId: string): ResolvedStream {
  const explicit = config.streams.find((s) => s.id === streamId);
  const subscription = config.subscriptions.find((sub) => subscriptionStreams(sub).test(streamId));
  if (!subscription) {
    const known = config.subscriptions.map((s) => `'${s.stream}'`).join(', ') || 'none';
    throw new ConfigError(file, [`streams: no subscription produces stream '${streamId}' (stream templates: ${known})`]);
  }
  const channels = explicit?.channels ?? subscription.channels;
  if (!channels) {
    const i = config.subscriptions.indexOf(subscription);
    throw new ConfigError(file, [
      `subscriptions[${i}].channels: unset, so stream '${streamId}' takes the channels of its model when the daemon runs; to train or calibrate from this file, list them (in the model's input order)`,
    ]);
  }
  const detection = effectiveDetection(config.defaults, subscription, explicit);
  const model = explicit?.model !== undefined && explicit.model !== 'auto' ? explicit.model : subscription.model;
  return { stream: { id: streamId, channels: [...channels] }, detection, model };
}

/**
 * The stream ids a subscription produces: its `stream` pattern's, and for a sparkplug_b subscription also its edge
 * nodes' own streams (their topic has no device: sparkplugNodePattern).
 */
export function subscriptionStreams(sub: Pick<SubscriptionConfig, 'stream' | 'decoder' | 'sparkplug'>): RegExp {
  const own = streamTemplateRegex(sub.stream);
  if (sub.decoder !== 'sparkplug_b') return own;
  return new RegExp(`${own.source}|${streamTemplateRegex(sparkplugNodePattern(sub.stream, sub.sparkplug?.node_device)).source}`);
}

/** `{line}/{asset}` -> /^([^/]+)\/([^/]+)$/ ; `{topic}` may span levels. */
export function streamTemplateRegex(template: string): RegExp {
  const parts = template.split(/(\{[A-Za-z_][A-Za-z0-9_]*\})/);
  const body = parts
    .map((p) => (p === '{topic}' ? '(.+)' : /^\{.+\}$/.test(p) ? '([^/]+)' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

export function calibrationMethod(c: CalibrationConfig): CalibrationMethod {
  // The fence is left out of the method (and so of the manifest) when off: such a model calibrates as before.
  const fence = c.outlier_fence > 0 ? { outlierFence: c.outlier_fence } : {};
  switch (c.method) {
    case 'pot':
      return { kind: 'pot', q: c.pot.q, initialQuantile: c.pot.initial_quantile, ...fence };
    case 'percentile':
      return { kind: 'percentile', percentile: c.percentile, ...fence };
    case 'sigma':
      return { kind: 'sigma', k: c.sigma_k, ...fence };
    case 'robust':
      return { kind: 'robust', quantile: c.robust.quantile, factor: c.robust.factor, ...fence };
    case 'spot':
      return { kind: 'spot', q: c.spot.q, initialQuantile: c.spot.initial_quantile, depth: c.spot.depth, maxExcesses: c.spot.max_excesses, ...fence };
  }
}

/** The rhythm settings as a model records them (core/rhythm.ts), or undefined when off. */
export function rhythmSettings(r: RhythmConfig): RhythmSettings | undefined {
  if (!r.enabled) return undefined;
  return {
    channel: r.channel,
    slopeSteps: r.slope_samples,
    smoothingSteps: r.smoothing_samples,
    thresholdFraction: r.threshold_fraction,
    peakHalfLifeMs: r.peak_half_life_ms,
    refractoryMs: r.refractory_ms,
    historyEvents: r.history_events,
    exponent: r.exponent,
    late: r.late,
  };
}

/** Window options with the rhythm tracker of `rhythm` (undefined: none) for a stream of `channels`. */
export function withRhythm(window: WindowOptions, rhythm: RhythmSettings | undefined, channels: readonly string[]): WindowOptions {
  return rhythm ? { ...window, rhythm: rhythmTrackerOptions(rhythm, channels) } : window;
}

/** A stream's window options as its WindowBuffer takes them: the window settings and, when on, its rhythm tracker. */
export function streamWindowOptions(d: DetectionConfig, channels: readonly string[]): WindowOptions {
  return withRhythm(windowOptions(d.window), rhythmSettings(d.training.rhythm), channels);
}

export function detectorSpec(
  d: DetectionConfig,
  name: string,
  stream: StreamSpec,
  backend: string,
  anomalydVersion: string,
): DetectorSpec {
  const t = d.training;
  const rhythm = rhythmSettings(t.rhythm);
  return {
    name,
    stream,
    window: streamWindowOptions(d, stream.channels),
    ...(rhythm ? { rhythm } : {}),
    architecture: t.architecture,
    encoderUnits: [...t.encoder_units],
    conv: { filters: [...t.conv_filters], kernelSize: t.kernel_size },
    latentUnits: t.latent_units,
    scaleMargin: t.scale_margin,
    outOfRange: t.out_of_range,
    ...(t.score_steps > 0 ? { scoreSteps: t.score_steps } : {}),
    metric: t.score_metric,
    aggregate: t.score_aggregate,
    train: {
      loss: t.loss,
      epochs: t.epochs,
      batchSize: t.batch_size,
      learningRate: t.learning_rate,
      validationFraction: t.validation_fraction,
      patience: t.patience,
      seed: t.seed,
      trimFraction: t.trim_fraction,
      trimFence: t.trim_fence,
      noise: {
        gaussianSigma: t.noise.gaussian_sigma,
        maskFraction: t.noise.mask_fraction,
        saltPepperFraction: t.noise.salt_pepper_fraction,
      },
    },
    calibration: calibrationMethod(d.calibration),
    transform: t.input_transform,
    ...(t.level_tolerance !== undefined ? { levelTolerance: t.level_tolerance } : {}),
    backend,
    anomalydVersion,
  };
}

/** Alert state machine settings without the per-stream parts. */
export type AlertSettings = Omit<AlertStateOptions, 'stream' | 'model' | 'labels' | 'nextSequence'>;

/** Alert state machine settings (the per-stream parts, stream/model/labels/sequence, are added by alertOptions). */
export function alertSettings(a: AlertingConfig): AlertSettings {
  return {
    k: a.k,
    n: a.n,
    resetWindows: a.reset_windows,
    resetRatio: a.reset_ratio,
    keepFiringForMs: a.keep_firing_for_ms,
    severityCriticalPValue: a.severity_critical_p_value,
    insufficientWindows: a.insufficient_windows,
    flapMaxStarts: a.flap_max_starts,
    flapPeriodMs: a.flap_period_ms,
    flapQuietMs: a.flap_quiet_ms,
    topChannels: a.top_channels,
  };
}

/** What identifies a stream's alerts: the per-stream part of the alert and sensor-check options. */
export interface StreamAlertIdentity {
  readonly stream: string;
  readonly model: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nextSequence: () => number;
}

// The per-stream options below are one object literal each, never `{ ...settings, stream, ... }` (nor
// Object.assign, measured the same in the daemon): V8 gives an object made by spreading and then adding fields a
// hidden class (map and descriptor array) of its own, about 400 bytes per stream and object (a heap snapshot at
// 10,000 streams held 20,000 of them); literals of one shape share one.

/** A stream's alert state machine options. */
export function alertOptions(a: AlertingConfig, id: StreamAlertIdentity): AlertStateOptions {
  return streamAlertOptions(alertSettings(a), id);
}

/** Alert settings with a stream's identity, as one literal (see above). */
export function streamAlertOptions(s: AlertSettings, id: StreamAlertIdentity): AlertStateOptions {
  return {
    stream: id.stream,
    model: id.model,
    labels: id.labels,
    nextSequence: id.nextSequence,
    k: s.k,
    n: s.n,
    resetWindows: s.resetWindows,
    resetRatio: s.resetRatio,
    keepFiringForMs: s.keepFiringForMs,
    severityCriticalPValue: s.severityCriticalPValue,
    insufficientWindows: s.insufficientWindows,
    flapMaxStarts: s.flapMaxStarts,
    flapPeriodMs: s.flapPeriodMs,
    flapQuietMs: s.flapQuietMs,
    topChannels: s.topChannels,
  };
}

/** A stream's sensor check (flatline, spikes) options. */
export function sensorCheckOptions(a: AlertingConfig, id: StreamAlertIdentity, channels: readonly string[]): SensorCheckOptions {
  return {
    stream: id.stream,
    model: id.model,
    channels,
    labels: id.labels,
    nextSequence: id.nextSequence,
    flatlineSamples: a.flatline_samples,
    spikeFactor: a.spike_factor,
    spikeCount: a.spike_count,
    spikeWindowSamples: a.spike_window_samples,
  };
}

/**
 * Which score filter the settings give a stream. The likelihood replaces the calibrated threshold whatever the
 * method (its own threshold on a log-likelihood), so with it enabled method spot only calibrates (as pot);
 * without it, method spot moves the threshold on the raw score (docs/design.md, SPOT).
 */
export function scoreFilterKind(c: CalibrationConfig): 'likelihood' | 'spot' | 'none' {
  return c.likelihood.enabled ? 'likelihood' : c.method === 'spot' ? 'spot' : 'none';
}

/** What a stream's score filter is built from: a config reload keeps the filter when this is unchanged. */
export function scoreFilterKey(c: CalibrationConfig): string {
  return scoreFilterKind(c) === 'spot' ? JSON.stringify(['spot', c.spot]) : JSON.stringify(c.likelihood);
}

/** The calibration (in its manifest) of the model scoring a stream now, looked up per window. */
export type CalibrationSource = () => Calibration | null | undefined;

/**
 * A new filter for one stream, or undefined when the config enables none. Method spot needs `calibrationOf`, the
 * calibration of the model scoring the stream: its moving threshold starts from that model's tail.
 */
export function newScoreFilter(c: CalibrationConfig, calibrationOf?: CalibrationSource): StreamScoreFilter | undefined {
  if (scoreFilterKind(c) === 'spot') {
    if (!calibrationOf) throw new Error("newScoreFilter: calibration.method spot needs the stream's model calibration (calibrationOf)");
    return new SpotFilter({ q: c.spot.q, depth: c.spot.depth, maxExcesses: c.spot.max_excesses, calibrationOf });
  }
  const l = c.likelihood;
  if (!l.enabled) return undefined;
  return new AnomalyLikelihood({
    averageWindows: l.average_windows,
    historyWindows: l.history_windows,
    learningWindows: l.learning_windows,
    threshold: l.threshold,
    suppressWindows: l.suppress_windows,
    rangeTolerance: l.range_tolerance,
  });
}
