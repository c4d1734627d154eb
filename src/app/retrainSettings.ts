// A stream's retraining settings: RETRAIN_DEFAULTS, then the top-level `retrain`, then its subscription's, then
// its `streams` entry's (key by key, as the detection settings merge). Null when no layer says `retrain` or the
// merged settings say `enabled: false`. Durations come out in milliseconds.
import { mergeDeep } from '../config/detection';
import { parseDuration } from '../config/duration';
import type { Config, RetrainConfig } from '../config/schema';
import { RETRAIN_DEFAULTS } from '../config/schemaRetrain';
import { subscriptionStreams } from './detection';

export interface RetrainSettings {
  readonly everyMs: number | null;
  readonly drift: { readonly enabled: boolean; readonly overMs: number; readonly factor: number; readonly minWindows: number } | null;
  readonly lookbackMs: number;
  readonly source: 'recorded' | 'influx';
  /** The query template of source influx (null with source recorded). */
  readonly influxQuery: string | null;
  readonly minCleanWindows: number;
  readonly shadowForMs: number;
  readonly promotion: 'manual' | 'auto';
  readonly autoPromote: { readonly maxAlertRateRatio: number; readonly minLabelAgreement: number };
}

type Layer = Partial<{ readonly [K in keyof RetrainConfig]: unknown }> | undefined;

/** The settings of `stream`, or null when it does not retrain. */
export function retrainSettingsOf(config: Config, stream: string): RetrainSettings | null {
  const subscription = config.subscriptions.find((s) => subscriptionStreams(s).test(stream));
  const explicit = config.streams.find((s) => s.id === stream);
  const layers: Layer[] = [config.retrain, subscription?.retrain, explicit?.retrain];
  if (layers.every((l) => l === undefined)) return null;
  let merged: unknown = RETRAIN_DEFAULTS;
  for (const layer of layers) if (layer) merged = mergeDeep(merged, layer);
  return settingsOf(merged as RetrainConfig);
}

/** Whether any layer of the config may turn retraining on for some stream (the recorder is only built then). */
export function anyRetrain(config: Config): boolean {
  return config.retrain !== undefined || config.subscriptions.some((s) => s.retrain !== undefined) || config.streams.some((s) => s.retrain !== undefined);
}

function settingsOf(r: RetrainConfig): RetrainSettings | null {
  if (!r.enabled) return null;
  return {
    everyMs: r.every === undefined ? null : parseDuration(r.every),
    drift: r.drift.enabled ? { enabled: true, overMs: parseDuration(r.drift.over), factor: r.drift.factor, minWindows: r.drift.min_windows } : null,
    lookbackMs: parseDuration(r.lookback),
    source: r.source,
    influxQuery: r.source === 'influx' ? (r.influx_query ?? null) : null,
    minCleanWindows: r.min_clean_windows,
    shadowForMs: parseDuration(r.shadow_for),
    promotion: r.promotion,
    autoPromote: { maxAlertRateRatio: r.auto_promote.max_alert_rate_ratio, minLabelAgreement: r.auto_promote.min_label_agreement },
  };
}
