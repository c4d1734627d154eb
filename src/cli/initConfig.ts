// The text of the starter config `anomalyd init` writes: YAML with a comment on every choice it made from the
// recording and on what to edit. Pure: init.ts decides the inputs and writes the file.
import type { Manifest } from '../model/manifest';
import { formatNumber } from '../sources/csv';
import { formatSpan, POT_MIN_WINDOWS, type InitPlan } from './initPlan';

export interface StarterConfig {
  readonly plan: InitPlan;
  /** The CSV as given on the command line (for the comments and the commands they show). */
  readonly csvArg: string;
  /** The config file as given (-o), or undefined when printed on stdout. */
  readonly outArg: string | undefined;
  readonly stream: string;
  /** A trained model to bind the stream to, or undefined: the stream learns its own model (auto). */
  readonly model: { readonly name: string; readonly path: string; readonly manifest: Manifest } | undefined;
  /** The package's config/schema.json, for editors. */
  readonly schemaFile: string;
}

const UNIT_WORDS = { s: 'epoch seconds', ms: 'epoch milliseconds', us: 'epoch microseconds', ns: 'epoch nanoseconds' } as const;

export function renderStarterConfig(c: StarterConfig): string {
  const { plan, stream } = c;
  const cfg = c.outArg ?? 'config.yaml';
  const modelName = c.model?.name ?? defaultModelName(stream);
  const modelDir = `models/${modelName}`;
  const topic = `plant/${stream}/telemetry`;
  const mw = c.model?.manifest.window;
  const window = mw ? { size: mw.size, hop: mw.hop, maxGapMs: mw.maxGapMs } : plan.window;
  const period = c.model?.manifest.window.samplePeriodMs ?? plan.samplePeriodMs;
  const lines: string[] = [];
  const add = (...l: string[]): void => void lines.push(...l);

  add(
    `# yaml-language-server: $schema=${c.schemaFile}`,
    '#',
    `# Starter config written by \`anomalyd init\` from ${c.csvArg}: stream '${stream}', ${plan.channels.length} channel(s),`,
    `# ${plan.rows} rows${plan.samplePeriodMs !== undefined ? `, a sample every ${formatSpan(plan.samplePeriodMs)}` : ''}. Lines marked EDIT are the ones to look at first. Relative paths`,
    "# below are read from this file's directory.",
    '#',
  );
  if (c.model) {
    add(
      `# The stream is bound to the trained model in ${c.model.path}; its window comes from the model's manifest.`,
      '# Next:',
      `#   anomalyd validate -c ${cfg}`,
      `#   anomalyd run -c ${cfg}`,
    );
  } else {
    add(
      "# The stream has no trained model yet (model: auto). Until it has one, `run` learns a model from the stream's",
      '# first live windows. To train one from the recording instead, and bind the stream to it:',
      `#   anomalyd train -c ${cfg} --stream ${stream} --input ${c.csvArg} --out ${modelDir}`,
      `#   anomalyd init --csv ${c.csvArg} --stream ${stream} --model ${modelDir} -o ${cfg} --force`,
    );
  }
  add(
    '',
    'http:',
    '  # Metrics (/metrics), health (/healthz, /readyz) and the status page (/).',
    '  port: ${HTTP_PORT:-9464}',
    '',
    '# Alert state, webhook outbox, spool and learned models.',
    'state_dir: ./var',
    '',
    'mqtt:',
    '  # EDIT: your broker, e.g. mqtt://broker.plant.local:1883 (mqtts:// with tls: for TLS). With a loopback URL',
    '  # and nothing listening there, the daemon starts an in-process broker (embedded_broker: auto): enough to try',
    '  # it out; in a plant use your own broker and set embedded_broker: off.',
    '  url: ${MQTT_URL:-mqtt://127.0.0.1:1883}',
    '  embedded_broker: auto',
    '',
  );
  add(...csvSection(c));
  add(
    '',
    'defaults:',
    '  window:',
    ...(period !== undefined
      ? [`    # The median spacing of "${plan.time?.column ?? ''}" in ${c.csvArg}.`, `    sample_period_ms: ${formatNumber(period)}`]
      : [
          `    # EDIT: ${c.csvArg} has no time column, so its rows are taken as 1 s apart; set the real sample period.`,
          '    sample_period_ms: 1000',
        ]),
    ...(c.model
      ? [`    # From the model (${c.model.path}/manifest.json): a trained model's window is fixed; train again to change it.`]
      : [
          `    # ${window.size} samples = ${formatSpan(window.size * (period ?? 1000))}: windows span about a minute of the process (16 to 128 samples,`,
          `    # fewer when the recording would give under 200 windows to train on; it gives ${plan.trainingWindows}). A window should hold a`,
          '    # typical cycle or transient of the machine: lengthen it for slow processes, shorten it for fast ones.',
          '    # hop: a new window every quarter window, so each sample is judged four times.',
        ]),
    `    size: ${window.size}`,
    `    hop: ${window.hop}`,
    '    # A pause longer than this starts a new window instead of bridging the gap.',
    `    max_gap_ms: ${window.maxGapMs}`,
    ...(mw ? [`    min_completeness: ${mw.minCompleteness}`] : []),
  );
  if (!c.model && plan.trainingWindows < POT_MIN_WINDOWS) {
    add(
      '  calibration:',
      `    # ${plan.trainingWindows} training windows are too few for the default tail fit (pot needs a few thousand); the`,
      "    # 99.5th percentile of the clean windows' scores is the threshold instead.",
      '    method: percentile',
      '    percentile: 99.5',
    );
  }
  add(
    '  alerting:',
    '    # An alert fires when 3 of the last 5 windows are anomalous and resolves after 4 normal ones.',
    '    k: 3',
    '    n: 5',
    '    reset_windows: 4',
    '',
  );
  if (c.model) add('models:', `  ${c.model.name}:`, `    path: ${c.model.path}`, '');
  add(
    'subscriptions:',
    `  # EDIT: the topic your gateway publishes ${stream} on. Each message is one JSON object with a field per channel`,
    '  # and the sample time in epoch milliseconds in "ts" (without it, the arrival time is used; a time more than',
    '  # 7 days old is rejected unless timestamp.max_age_ms allows it), e.g.',
    `  #   mosquitto_pub -t ${topic} -m '${examplePayload(plan)}'`,
    '  # For many machines of the same kind use wildcards: topic: plant/line1/+/telemetry,',
    '  # template: plant/line1/{asset}/telemetry, stream: "line1/{asset}".',
    `  - topic: ${topic}`,
    `    stream: ${stream}`,
    '    decoder: json',
    '    timestamp: { field: ts, unit: ms }',
    `    model: ${c.model ? c.model.name : 'auto'}`,
    `    channels: [${plan.channels.join(', ')}]`,
    '',
    'sinks:',
    '  # Alerts printed on the console. EDIT: add webhooks, Alertmanager or InfluxDB (see docs/configuration.md).',
    '  console:',
    '    enabled: true',
  );
  return lines.join('\n') + '\n';
}

function csvSection(c: StarterConfig): string[] {
  const t = c.plan.time;
  if (!t) return [`# ${c.csvArg} has no time column (timestamp, ts, time, datetime or time_s).`];
  if (t.unit === 'iso') return [`# The time column "${t.column}" of ${c.csvArg} holds ISO 8601 times; no unit to set.`];
  const why =
    c.plan.timeUnitFrom === 'default'
      ? [
          `  # EDIT: the times in "${t.column}" of ${c.csvArg} fall before 2000 or after 2100 in every unit, so they probably count`,
          `  # from the start of the recording; they are read as ${UNIT_WORDS[t.unit].replace('epoch ', '')}. Set the unit they are in.`,
        ]
      : [`  # The time column "${t.column}" of ${c.csvArg} holds ${UNIT_WORDS[t.unit]} (${c.plan.timeUnitFrom === 'given' ? 'as given by --time-unit' : 'judged from their magnitude'}).`];
  return [
    'csv:',
    ...why,
    '  # train, calibrate and replay read numeric CSV times in this unit when given this config (--time-unit overrides it).',
    `  time_unit: ${t.unit}`,
  ];
}

function examplePayload(plan: InitPlan): string {
  const fields = plan.channels.map((ch, i) => `"${ch}": ${Number.isFinite(plan.firstRow[i]) ? formatNumber(plan.firstRow[i]) : 0}`);
  // No "ts": a recording's own times are history by now, which the daemon refuses (timestamp.max_age_ms).
  return `{${fields.join(', ')}}`;
}

/** A models key from a stream id: its last level, with characters a model name cannot hold replaced. */
export function defaultModelName(stream: string): string {
  const last = stream.split('/').filter(Boolean).pop() ?? 'model';
  const name = last.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return (name || 'model').slice(0, 64);
}
