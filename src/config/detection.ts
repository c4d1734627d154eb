// Effective detection settings of a stream: `defaults`, then its subscription's overrides, then its stream
// entry's. Mappings merge key by key; lists (encoder_units) are replaced whole.
import type { DetectionConfig, DetectionOverrides } from './schema';

export function effectiveDetection(defaults: DetectionConfig, ...layers: (DetectionOverrides | undefined)[]): DetectionConfig {
  let merged: unknown = defaults;
  for (const layer of layers) {
    if (!layer) continue;
    // Only the detection sections: a subscription or stream entry can be passed as it is.
    const { window, training, calibration, alerting } = layer;
    merged = mergeDeep(merged, { window, training, calibration, alerting });
  }
  return merged as DetectionConfig;
}

function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isMapping(base) || !isMapping(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeDeep(base[key], value);
  return out;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
