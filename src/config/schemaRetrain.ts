// The `retrain` section: retraining a stream's model on a schedule and when its data drifts (app/retrainer.ts).
// At the top level it is the default of every stream; a subscription or `streams` entry may override any key
// (`retrain: {enabled: false}` opts one out). Absent everywhere: nothing is recorded and nothing retrains.
// The defaults live in RETRAIN_DEFAULTS, so a stream whose subscription sets `retrain` while the top level does
// not gets the same values the schema fills in at the top level.
import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './duration';
import { entry, named, oneOf, overrideOf, section } from './schemaHelpers';

export const RETRAIN_DEFAULTS = {
  enabled: true,
  drift: { enabled: true, over: '1d', factor: 3, min_windows: 500 },
  lookback: '7d',
  source: 'recorded',
  min_clean_windows: 1000,
  shadow_for: '1d',
  promotion: 'manual',
  auto_promote: { max_alert_rate_ratio: 1.0, min_label_agreement: 0.8 },
} as const;

const duration = (description: string, defaultValue?: string): ReturnType<typeof named> => {
  const d = named(DURATION_PATTERN, 'must be a duration such as "90m", "12h" or "7d"', description);
  if (defaultValue !== undefined) (d as { default?: string }).default = defaultValue;
  return d;
};

const D = RETRAIN_DEFAULTS;

export const retrainDriftSchema = section(
  {
    enabled: Type.Boolean({ default: D.drift.enabled, description: 'Retrain when the data drifts away from what the model learned.' }),
    over: duration("The evaluation period: the share below is taken over the stream's windows of this long, and a stream retrains for drift at most once per period.", D.drift.over),
    factor: Type.Number({
      exclusiveMinimum: 1,
      maximum: 100,
      default: D.drift.factor,
      description:
        "Drift fires when the share of windows whose detector p-value is below 0.01 (beyond the calibration's 99th percentile, expected 1 % of clean windows) exceeds factor x 1 % over `over`.",
    }),
    min_windows: Type.Integer({ minimum: 10, maximum: 10_000_000, default: D.drift.min_windows, description: 'No drift verdict on fewer scored windows in the period.' }),
  },
  'The drift trigger: the share of windows beyond the calibration tail, judged on the raw detector p-value.',
);

export const retrainSchema = entry(
  {
    enabled: Type.Boolean({ default: D.enabled, description: 'false: this stream (or, at the top level, every stream not overriding it) records nothing and never retrains.' }),
    every: Type.Optional(duration('Scheduled retrain: this long after the last retrain of the stream (or after the daemon first saw it). Unset: none.')),
    drift: retrainDriftSchema,
    lookback: duration('Training data: the windows of this long before the retrain.', D.lookback),
    source: oneOf(
      ['recorded', 'influx'] as const,
      "Where the training windows come from: recorded = the daemon's own record of the stream's windows under state_dir (outside maintenance; alerts left out); influx = influx_query against sinks.influx (the plant's history, e.g. written by Telegraf; alerts, maintenance windows and true positives left out as `train --influx-query` does).",
      D.source,
    ),
    influx_query: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          "With source: influx, the InfluxQL query of a stream's history, run in sinks.influx's database (name another as \"db\"..\"measurement\"): its columns are time and the stream's channels by name. {name} is replaced by the stream's template label of that name (e.g. {asset}; {stream} is the stream id), quoted for a string literal; $timeFilter by time >= now() - <lookback>.",
      }),
    ),
    min_clean_windows: Type.Integer({
      minimum: 10,
      maximum: 1_000_000,
      default: D.min_clean_windows,
      description: 'Fewer clean windows over the lookback: no retrain (refused, and said so in the log, the metrics and the API).',
    }),
    shadow_for: duration('A candidate model is scored in shadow beside the live one at least this long before it may be promoted.', D.shadow_for),
    promotion: oneOf(['manual', 'auto'] as const, 'manual = an operator promotes a candidate; auto = promoted after shadow_for when it meets auto_promote.', D.promotion),
    auto_promote: section(
      {
        max_alert_rate_ratio: Type.Number({ minimum: 0, maximum: 1000, default: D.auto_promote.max_alert_rate_ratio, description: "The candidate's alert rate in shadow at most this times the live model's." }),
        min_label_agreement: Type.Number({ minimum: 0, maximum: 1, default: D.auto_promote.min_label_agreement, description: "Share of the labelled alert episodes of the shadow period the candidate agrees with (fires on true positives, not on false positives)." }),
      },
      'Bounds of automatic promotion.',
    ),
  },
  'Retraining on a schedule and on drift; the candidate model shadows the live one before promotion. Absent: no retraining.',
);

/** A subscription's or stream entry's overrides of the top-level `retrain` (every key optional). */
export const retrainOverrideSchema = overrideOf(retrainSchema, 'Overrides of the top-level retrain section for these streams (`enabled: false` opts them out).');
