// One source of truth for a trained model's shape. A stream bound to a configured model is cut into the windows
// the model was trained on: size and sample period from its manifest.json (what the model reads), and its hop,
// max_gap_ms and min_completeness too unless the configuration writes them; a subscription that lists no
// channels reads the model's. The configuration may leave all of these out. Where it writes a window size,
// sample period, sample rate or channel list that differs from the model's, the model could not read the
// stream's windows: `validate`, `run` and a reload refuse the configuration with one line per difference, naming
// the config path and value and the model directory and value. A written hop, max_gap_ms or min_completeness is
// honoured: the hop says how often a window is scored (scoring every 10 samples with a model trained on windows
// every 5 is a choice, e.g. to save CPU), the other two are tolerances of the live data.
//
// The result is the configuration with the model's geometry written into the window override (and its channels
// into the unset channel list) of every subscription and stream entry bound to a loaded model, so everything
// downstream (bindings, windows, the auto-learner's view of a stream) reads one complete configuration and never
// meets a schema default that
// contradicts the model.
import * as path from 'node:path';
import type { Config, ModesConfig, RhythmConfig, StreamConfig, SubscriptionConfig, WindowConfig } from '../config/schema';
import { configuredModel } from '../config/detection';
import { statedDefaultsWindow } from '../config/stated';
import { modeShapeProblems } from '../config/modes';
import { mqttSubscriptionCount, subscriptionPathText } from '../config/opcuaStreams';
import { ModelError } from '../core/errors';
import { readManifest } from '../model/artifact';
import type { Manifest } from '../model/manifest';
import { subscriptionStreams } from './detection';

/** A configured model that loaded: the directory it was read from and its manifest. */
export interface ModelShape {
  readonly dir: string;
  readonly manifest: Manifest;
}

export interface ShapedConfig {
  /** The configuration with each model-bound subscription and stream entry carrying the model's window. */
  readonly config: Config;
  /** `path: message (got value)` for every stated value that contradicts its model; empty when none does. */
  readonly problems: readonly string[];
}

/** What the model reads: a different value could not be scored by it. */
type Geometry = 'size' | 'sample_period_ms';
const GEOMETRY: readonly Geometry[] = ['size', 'sample_period_ms'];
/** Taken from the model unless written: how often windows are cut, and the live data's tolerances. */
const TAKEN_UNLESS_WRITTEN = ['hop', 'max_gap_ms', 'min_completeness'] as const;

/** Where a window value was written, and the value. */
interface Stated {
  readonly at: string;
  readonly value: number;
}

/** The model's value of a window setting, in the config's terms (undefined: the manifest does not say). */
function modelValue(m: Manifest, key: Geometry | (typeof TAKEN_UNLESS_WRITTEN)[number]): number | undefined {
  switch (key) {
    case 'size':
      return m.window.size;
    case 'hop':
      return m.window.hop;
    case 'sample_period_ms':
      return m.window.samplePeriodMs;
    case 'max_gap_ms':
      return m.window.maxGapMs;
    case 'min_completeness':
      return m.window.minCompleteness;
  }
}

const MANIFEST_KEY: Readonly<Record<Geometry, string>> = { size: 'window.size', sample_period_ms: 'window.samplePeriodMs' };

/**
 * A model-bound layer's training override with the model's rhythm (its manifest's, or off when it has none): the
 * stream's windows must carry the prematurity the model joins to its scores, tracked as it was when it learnt.
 */
function withModelRhythm<T extends { rhythm?: Partial<RhythmConfig> } | undefined>(training: T, manifest: Manifest | undefined, defaultsOn: boolean): T | { rhythm: Partial<RhythmConfig> } {
  const r = manifest?.rhythm;
  // Unchanged where neither the model nor the configuration tracks a rhythm (the configuration as written).
  if (!manifest || (!r && !defaultsOn && training?.rhythm?.enabled !== true)) return training;
  const rhythm: Partial<RhythmConfig> = r
    ? {
        enabled: true,
        channel: r.channel,
        slope_samples: r.slopeSteps,
        smoothing_samples: r.smoothingSteps,
        threshold_fraction: r.thresholdFraction,
        peak_half_life_ms: r.peakHalfLifeMs,
        refractory_ms: r.refractoryMs,
        history_events: r.historyEvents,
        exponent: r.exponent,
        late: r.late,
      }
    : { enabled: false };
  return { ...training, rhythm };
}

/** Sample periods are compared with a relative tolerance: 1000 / 250 Hz and 4 ms are the same period. */
function samePeriod(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function list(names: readonly string[]): string {
  return `[${names.join(', ')}]`;
}

/**
 * Check every stream bound to a loaded model against the model, and give the configuration the model's window.
 * `models` holds the configured models that loaded, by name; a model missing from it (failed to load, or "auto")
 * is left to its own error and its streams keep the configuration's window.
 */
export function applyModelShapes(config: Config, models: ReadonlyMap<string, ModelShape>): ShapedConfig {
  const problems: string[] = [];
  const report = (problem: string): void => {
    if (!problems.includes(problem)) problems.push(problem);
  };
  const defaults = statedDefaultsWindow(config.defaults.window);
  const statedIn = (layers: readonly { at: string; window: Partial<WindowConfig> | undefined }[], key: keyof WindowConfig): Stated | undefined => {
    for (const layer of layers) {
      const value = layer.window?.[key];
      if (typeof value === 'number') return { at: `${layer.at}.window.${key}`, value };
    }
    return undefined;
  };

  type Layers = readonly { at: string; window: Partial<WindowConfig> | undefined }[];

  /** Reports each window value stated in `layers` (most specific first) that contradicts the model. */
  const checkGeometry = (user: string, model: string, layers: Layers): void => {
    const shapeOf = models.get(model);
    if (!shapeOf) return;
    for (const key of GEOMETRY) {
      const stated = statedIn(layers, key);
      const expected = modelValue(shapeOf.manifest, key);
      if (!stated || expected === undefined) continue;
      const same = key === 'sample_period_ms' ? samePeriod(stated.value, expected) : stated.value === expected;
      if (same) continue;
      report(
        `${stated.at}: differs from model '${model}' (${MANIFEST_KEY[key]} ${expected} in ${shapeOf.dir}/manifest.json), which ${user} uses; ` +
          `leave it out to take the model's value, or train a model with this window (got ${stated.value})`,
      );
    }
    const hop = statedIn(layers, 'hop');
    const size = shapeOf.manifest.window.size;
    if (hop && hop.value > size) {
      report(`${hop.at}: exceeds the window size of model '${model}' (window.size ${size} in ${shapeOf.dir}/manifest.json), which ${user} uses, so samples would be skipped (got ${hop.value})`);
    }
  };

  /**
   * The window override of a layer bound to `model`: the model's size and sample period where the layer does not
   * write them, and its hop, max_gap_ms and min_completeness where none of `layers` (this one and those below it)
   * writes them.
   */
  const filled = (model: string, own: Partial<WindowConfig> | undefined, layers: Layers): Partial<WindowConfig> | undefined => {
    const shapeOf = models.get(model);
    if (!shapeOf) return own;
    const window: Partial<Record<keyof WindowConfig, number>> = { ...own };
    for (const key of GEOMETRY) {
      const value = modelValue(shapeOf.manifest, key);
      if (value !== undefined && window[key] === undefined) window[key] = value;
    }
    for (const key of TAKEN_UNLESS_WRITTEN) {
      if (statedIn(layers, key) === undefined) window[key] = modelValue(shapeOf.manifest, key);
    }
    return window;
  };

  const checkChannels = (at: string, user: string, model: string, channels: readonly string[]): void => {
    const shapeOf = models.get(model);
    if (!shapeOf) return;
    const expected = shapeOf.manifest.channels;
    if (expected.length === channels.length && expected.every((c, i) => c === channels[i])) return;
    report(
      `${at}: differ from model '${model}' (channels ${list(expected)} in ${shapeOf.dir}/manifest.json), which ${user} uses; ` +
        `the model reads exactly these channels in this order (got ${list(channels)})`,
    );
  };

  const checkRate = (sub: SubscriptionConfig, i: number, model: string): void => {
    const shapeOf = models.get(model);
    const period = shapeOf?.manifest.window.samplePeriodMs;
    if (!shapeOf || sub.sample_rate_hz === undefined || period === undefined) return;
    if (samePeriod(1000 / sub.sample_rate_hz, period)) return;
    report(
      `subscriptions[${i}].sample_rate_hz: differs from model '${model}' (window.samplePeriodMs ${period}, i.e. ${1000 / period} Hz, in ${shapeOf.dir}/manifest.json), ` +
        `which subscriptions[${i}] uses; the model was trained on data at its own rate (got ${sub.sample_rate_hz})`,
    );
  };

  const mqttCount = mqttSubscriptionCount(config);
  const subscriptions = config.subscriptions.map((sub, i): SubscriptionConfig => {
    if (sub.model === 'auto') return sub;
    const user = subscriptionPathText(config, i);
    const layers = [
      { at: user, window: sub.window },
      { at: 'defaults', window: defaults },
    ];
    const known = models.get(sub.model);
    // An OPC UA subscription's channels are its items' (opcuaStreams.ts).
    if (sub.channels) checkChannels(`${user}.${i < mqttCount ? 'channels' : 'items'}`, user, sub.model, sub.channels);
    else if (!known) report(`${user}.channels: unset, and model '${sub.model}' did not load, so the channels of its messages are unknown; list them or fix the model (got nothing)`);
    checkRate(sub, i, sub.model);
    checkGeometry(user, sub.model, layers);
    const window = filled(sub.model, sub.window, layers);
    const channels = sub.channels ?? known?.manifest.channels;
    const training = withModelRhythm(sub.training, known?.manifest, config.defaults.training.rhythm.enabled);
    if (window === sub.window && channels === sub.channels && training === sub.training) return sub;
    return { ...sub, window, training, ...(channels ? { channels } : {}) };
  });

  const patterns = config.subscriptions.map((sub) => subscriptionStreams(sub));
  const streams = config.streams.map((entry, j): StreamConfig => {
    const i = patterns.findIndex((p) => p.test(entry.id));
    // The subscription as shaped above: its channels are the model's where it left them out.
    const sub = subscriptions[i];
    if (!sub) return entry;
    const model = configuredModel(sub, entry);
    if (model === 'auto') return entry;
    const user = `streams[${j}] (stream '${entry.id}')`;
    // Values inherited from the subscription and `defaults` were checked against this model above unless the
    // entry names another model, which then has to be checked against them too.
    const ownModel = model !== sub.model;
    const layers = [
      { at: `streams[${j}]`, window: entry.window },
      { at: subscriptionPathText(config, i), window: config.subscriptions[i]?.window },
      { at: 'defaults', window: defaults },
    ];
    checkGeometry(user, model, ownModel ? layers : layers.slice(0, 1));
    if (entry.channels) checkChannels(`streams[${j}].channels`, user, model, entry.channels);
    else if (ownModel && sub.channels) checkChannels(`subscriptions[${i}].channels`, user, model, sub.channels);
    // An entry that writes a rhythm of its own still gets its model's: the model joins the rhythm it learnt with.
    if (!ownModel) return entry.training?.rhythm === undefined ? entry : { ...entry, training: withModelRhythm(entry.training, models.get(model)?.manifest, true) };
    checkRate(sub, i, model);
    const window = filled(model, entry.window, layers);
    const training = withModelRhythm(entry.training, models.get(model)?.manifest, config.defaults.training.rhythm.enabled || sub.training?.rhythm?.enabled === true);
    return window === entry.window && training === entry.training ? entry : { ...entry, window, training };
  });

  // A mode's own model reads the stream's windows: the same channels and window size.
  const checkModeModels = (at: string, user: string, modes: ModesConfig | undefined, channels: readonly string[] | undefined, size: number): void => {
    for (const [mode, model] of Object.entries(modes?.models ?? {})) {
      const shapeOf = models.get(model);
      if (model === 'auto' || !shapeOf) continue;
      if (channels) checkChannels(`${at}.modes.models.${mode}`, `mode '${mode}' of ${user}`, model, channels);
      const own = shapeOf.manifest.window.size;
      if (own !== size) report(`${at}.modes.models.${mode}: model '${model}' reads windows of ${own} (window.size in ${shapeOf.dir}/manifest.json), the stream's are ${size}; a mode's model must read the stream's windows (got "${model}")`);
    }
  };
  subscriptions.forEach((sub, i) => checkModeModels(`subscriptions[${i}]`, `subscriptions[${i}]`, sub.modes, sub.channels, sub.window?.size ?? config.defaults.window.size));
  streams.forEach((entry, j) => {
    const sub = subscriptions[patterns.findIndex((p) => p.test(entry.id))];
    if (!entry.modes || !sub) return;
    checkModeModels(`streams[${j}]`, `streams[${j}] (stream '${entry.id}')`, entry.modes, entry.channels ?? sub.channels, entry.window?.size ?? sub.window?.size ?? config.defaults.window.size);
  });
  const shaped: Config = { ...config, subscriptions, streams };
  // Mode conditions name channels: those of a stream whose channels came from its model are checked now.
  for (const problem of modeShapeProblems(shaped, config, (id) => shaped.subscriptions.findIndex((s) => subscriptionStreams(s).test(id)))) report(problem);
  return { config: shaped, problems };
}

/**
 * The manifests of the configured models whose manifest.json reads (a reload checks the new configuration before
 * loading its models); one that does not read is left to the model's own load error.
 */
export async function readModelShapes(config: Config): Promise<Map<string, ModelShape>> {
  const out = new Map<string, ModelShape>();
  for (const [name, entry] of Object.entries(config.models)) {
    const dir = path.resolve(entry.path);
    try {
      out.set(name, { dir, manifest: await readManifest(dir) });
    } catch (err) {
      if (!(err instanceof ModelError)) throw err;
    }
  }
  return out;
}
