// Effective detection settings of a stream: `defaults`, then its subscription's overrides, then its stream
// entry's. Mappings merge key by key; lists (encoder_units) are replaced whole.
import type { WindowOptions } from '../core/window';
import type { DetectionConfig, DetectionOverrides, WindowConfig } from './schema';

export function effectiveDetection(defaults: DetectionConfig, ...layers: (DetectionOverrides | undefined)[]): DetectionConfig {
  let merged: unknown = defaults;
  for (const layer of layers) {
    if (!layer) continue;
    // Only the detection sections: a subscription or stream entry can be passed as it is.
    const { window, training, calibration, alerting, expected } = layer;
    merged = mergeDeep(merged, { window, training, calibration, alerting, expected });
  }
  return merged as DetectionConfig;
}

/** `over` laid on `base` key by key through nested mappings; lists and values are replaced whole. */
export function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isMapping(base) || !isMapping(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeDeep(base[key], value);
  return out;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * HTM's likelihood counts in samples: NAB's rows, where every row is scored (hop 1). 10 scores averaged, 30 days
 * of 5-minute rows in the history, one day of learning, 200 rows of suppression after a detection.
 */
export const HTM_LIKELIHOOD_SAMPLES = { average_windows: 10, history_windows: 8640, learning_windows: 288, suppress_windows: 200 } as const;
const MIN_WINDOWS = { average_windows: 1, history_windows: 20, learning_windows: 10, suppress_windows: 0 } as const;
type CountKey = keyof typeof HTM_LIKELIHOOD_SAMPLES;

/**
 * Effective detection settings of a stream that auto-learns: `defaults`, then the auto_learn profile, then the
 * subscription's and stream entry's overrides. Likelihood counts that none of the layers above `defaults` writes
 * are HTM's counts in samples converted to the stream's windows (divided by its hop, rounded up), so the
 * likelihood remembers, learns and suppresses over the same time as on NAB whatever the hop.
 */
export function autoLearnDetection(defaults: DetectionConfig, profile: DetectionOverrides, ...layers: (DetectionOverrides | undefined)[]): DetectionConfig {
  const merged = effectiveDetection(defaults, profile, ...layers);
  const written = (key: CountKey): boolean => [profile, ...layers].some((l) => l?.calibration?.likelihood?.[key] !== undefined);
  const hop = merged.window.hop;
  const likelihood: Record<CountKey, number> = { ...pickCounts(merged.calibration.likelihood) };
  for (const key of Object.keys(HTM_LIKELIHOOD_SAMPLES) as CountKey[]) {
    if (!written(key)) likelihood[key] = Math.max(MIN_WINDOWS[key], Math.ceil(HTM_LIKELIHOOD_SAMPLES[key] / hop));
  }
  // A count the user wrote wins over a converted one: the other side of learning <= history gives way.
  if (likelihood.learning_windows > likelihood.history_windows) {
    if (!written('history_windows')) likelihood.history_windows = likelihood.learning_windows;
    else if (!written('learning_windows')) likelihood.learning_windows = likelihood.history_windows;
  }
  return { ...merged, calibration: { ...merged.calibration, likelihood: { ...merged.calibration.likelihood, ...likelihood } } };
}

function pickCounts(l: DetectionConfig['calibration']['likelihood']): Record<CountKey, number> {
  return { average_windows: l.average_windows, history_windows: l.history_windows, learning_windows: l.learning_windows, suppress_windows: l.suppress_windows };
}

/** The layers of one stream: its subscription and (optional) stream entry, as the config holds them. */
interface StreamLayers {
  readonly model: string;
}

/** The model a stream uses: its stream entry's, unless that is absent or "auto", else its subscription's. */
export function configuredModel(subscription: StreamLayers, explicit: Partial<StreamLayers> | undefined): string {
  return explicit?.model !== undefined && explicit.model !== 'auto' ? explicit.model : subscription.model;
}

/**
 * Effective detection settings of a stream: with model "auto" (it learns its own) the auto_learn profile joins
 * the layers; a configured model gets `defaults` and the overrides only.
 */
export function streamDetection(
  config: { readonly defaults: DetectionConfig; readonly auto_learn: DetectionOverrides },
  subscription: DetectionOverrides & StreamLayers,
  explicit: (DetectionOverrides & Partial<StreamLayers>) | undefined,
): DetectionConfig {
  return configuredModel(subscription, explicit) === 'auto'
    ? autoLearnDetection(config.defaults, config.auto_learn, subscription, explicit)
    : effectiveDetection(config.defaults, subscription, explicit);
}

/** A stream's window settings as WindowBuffer takes them; config/semantic.ts checks them with its own checks. */
export function windowOptions(w: WindowConfig): WindowOptions {
  return {
    size: w.size,
    hop: w.hop,
    maxGapMs: w.max_gap_ms,
    minCompleteness: w.min_completeness,
    ...(w.sample_period_ms !== undefined ? { samplePeriodMs: w.sample_period_ms } : {}),
    ...(w.max_gap_steps !== undefined ? { maxGapSteps: w.max_gap_steps } : {}),
  };
}
