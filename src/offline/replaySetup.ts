// The settings `anomalyd replay` streams a recording with: the ones the daemon binds the same stream with.
// With a config, the stream's effective detection settings (defaults, the auto_learn profile for a stream that
// learns its own model, then its subscription's and stream entry's overrides), its window options, lateness,
// score filter and sensor checks, and the operator's fixed threshold of its model; without one, the schema's
// defaults and the model's own window. Window size, hop and channels always come from the model (the only
// shape it can score); where the config says otherwise, the daemon would not score the stream as replay does,
// and a warning says so. A stream the config lets learn its own model (model "auto"), replayed with a trained
// model given by --model, gets the settings the daemon gives a stream bound to that model (`init --model` then
// binds it): the auto_learn profile is for the models the daemon learns itself, under state_dir/models.
import * as path from 'node:path';
import { configuredModel, effectiveDetection, streamDetection } from '../config/detection';
import { loadConfigText } from '../config/load';
import type { Config, DetectionConfig } from '../config/schema';
import type { StreamSpec } from '../core/types';
import type { WindowOptions } from '../core/window';
import type { Manifest } from '../model/manifest';
import { subscriptionStreams, windowOptions, withRhythm } from '../app/detection';

export interface ReplayConfig {
  readonly config: Config;
  /** The file it was read from, for messages. */
  readonly file: string;
}

export interface ReplaySetup {
  readonly stream: StreamSpec;
  readonly detection: DetectionConfig;
  readonly window: WindowOptions;
  readonly maxLatenessMs: number;
  /** The stream learns its own model (model "auto"): the daemon loads it with its ensemble and coarse scale. */
  readonly learnsOwnModel: boolean;
  /** The model the config binds the stream to, when it names one (undefined: none, or it learns its own). */
  readonly configuredModel?: { readonly name: string; readonly path: string; readonly threshold?: number };
  /** Where the settings came from, for the summary. */
  readonly settingsFrom: string;
  /** Where the replay cannot be what the daemon does with this config; printed, and in --json `warnings`. */
  readonly warnings: readonly string[];
}

/**
 * The stream `streamId` (default: the model's own stream) as the daemon would bind it under `cfg`, scored by a
 * model with `manifest` (read from `modelDir`, when given).
 */
export function replaySetup(manifest: Manifest, cfg: ReplayConfig | undefined, streamId = manifest.stream, modelDir?: string): ReplaySetup {
  const stream: StreamSpec = { id: streamId, channels: [...manifest.channels] };
  const fromModel = { size: manifest.window.size, hop: manifest.window.hop };
  if (!cfg) {
    const detection = loadConfigText('{}', '<defaults>').defaults;
    const w = manifest.window;
    const window: WindowOptions = withRhythm(
      {
        ...fromModel,
        maxGapMs: w.maxGapMs,
        minCompleteness: w.minCompleteness,
        ...(w.samplePeriodMs !== undefined ? { samplePeriodMs: w.samplePeriodMs } : {}),
      },
      manifest.rhythm,
      manifest.channels,
    );
    return { stream, detection, window, maxLatenessMs: 0, learnsOwnModel: false, settingsFrom: 'the default settings (no -c)', warnings: [] };
  }
  const { config, file } = cfg;
  const warnings: string[] = [];
  const index = config.subscriptions.findIndex((s) => subscriptionStreams(s).test(streamId));
  const subscription = config.subscriptions[index];
  if (!subscription) {
    const templates = config.subscriptions.map((s) => `'${s.stream}'`).join(', ') || 'none';
    warnings.push(
      `${file}: no subscription produces stream '${streamId}' (stream templates: ${templates}); replaying with the file's defaults (pass --stream ID to pick a configured stream)`,
    );
    return { stream, ...withModelShape(config.defaults, fromModel, manifest, file, warnings), learnsOwnModel: false, settingsFrom: `${file}: defaults`, warnings };
  }
  const explicit = config.streams.find((s) => s.id === streamId);
  const name = configuredModel(subscription, explicit);
  const boundToTrained = name === 'auto' && modelDir !== undefined && !isInside(path.resolve(modelDir), path.join(config.state_dir, 'models'));
  const detection = boundToTrained ? effectiveDetection(config.defaults, subscription, explicit) : streamDetection(config, subscription, explicit);
  const at = explicit ? `streams[${config.streams.indexOf(explicit)}]` : `subscriptions[${index}]`;
  const channels = explicit?.channels ?? subscription.channels ?? manifest.channels;
  if (channels.length !== manifest.channels.length || channels.some((c, i) => c !== manifest.channels[i])) {
    warnings.push(
      `${file}: ${at}.channels are [${channels.join(', ')}], the model's are [${manifest.channels.join(', ')}]: the daemon refuses this model for the stream; replaying with the model's channels`,
    );
  }
  const entry = name === 'auto' ? undefined : config.models[name];
  const model = entry ? { name, path: path.resolve(entry.path), ...(entry.threshold !== undefined ? { threshold: entry.threshold } : {}) } : undefined;
  const bound = boundToTrained ? `, as bound to the trained model ${modelDir} (the config lets it learn its own: model "auto")` : '';
  return {
    stream,
    ...withModelShape(detection, fromModel, manifest, file, warnings),
    learnsOwnModel: name === 'auto' && !boundToTrained,
    ...(model ? { configuredModel: model } : {}),
    settingsFrom: `${file}: stream '${streamId}' (${at})${bound}`,
    warnings,
  };
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The config's window options with the model's size and hop, and a warning where the config's differ. */
function withModelShape(
  detection: DetectionConfig,
  shape: { size: number; hop: number },
  manifest: Manifest,
  file: string,
  warnings: string[],
): { detection: DetectionConfig; window: WindowOptions; maxLatenessMs: number } {
  const w = detection.window;
  for (const key of ['size', 'hop'] as const) {
    if (w[key] !== shape[key]) {
      warnings.push(`${file}: window.${key} is ${w[key]} for this stream, the model's is ${shape[key]} (${manifest.name}): replaying with the model's`);
    }
  }
  // The model's rhythm, as the daemon's binding of a model-bound stream takes it (app/modelShape.ts).
  return { detection, window: withRhythm({ ...windowOptions(w), ...shape }, manifest.rhythm, manifest.channels), maxLatenessMs: w.max_lateness_ms };
}

/** The directory of the model `cfg` binds stream `streamId` to, or why there is none. */
export function configuredModelPath(cfg: ReplayConfig, streamId: string): string | { problem: string } {
  const { config, file } = cfg;
  const subscription = config.subscriptions.find((s) => subscriptionStreams(s).test(streamId));
  if (!subscription) return { problem: `${file}: no subscription produces stream '${streamId}'` };
  const name = configuredModel(subscription, config.streams.find((s) => s.id === streamId));
  if (name === 'auto') return { problem: `${file}: stream '${streamId}' learns its own model (model "auto"); its directory is under state_dir/models` };
  const entry = config.models[name];
  return entry ? entry.path : { problem: `${file}: model '${name}' of stream '${streamId}' is not configured` };
}
