// The single configuration schema: one TypeBox definition gives the JSON Schema (validation, defaults, editor
// completion via config/schema.json) and the static TypeScript types below.
//
// Properties with a default are written as required here, so the static types describe the configuration as
// the loader returns it (defaults filled in). `toJsonSchema` turns them into optional properties for validation.
import { Type, type Static } from '@sinclair/typebox';
import {
  alertingSchema,
  autoLearnSchema,
  calibrationSchema,
  detectionDefaultsSchema,
  noiseSchema,
  rhythmSchema,
  potSchema,
  trainingSchema,
  windowSchema,
} from './schemaDetection';
import { maintenanceSchema } from './schemaMaintenance';
import { modesSchema } from './schemaModes';
import { retrainSchema } from './schemaRetrain';
import { oneOf, section, url, type DeepPartial } from './schemaHelpers';
import {
  alertmanagerSchema,
  consoleSinkSchema,
  mqttOutSchema,
  influxSchema,
  modelSchema,
  modelsSchema,
  mqttSchema,
  mqttTlsSchema,
  reconnectSchema,
  sinksSchema,
  streamSchema,
  subscriptionSchema,
  timestampSchema,
  webhookSchema,
} from './schemaIo';
import { opcuaSchema, opcuaSubscriptionSchema } from './schemaOpcua';
import { shardSchema } from './schemaShard';

export const logSchema = section(
  {
    level: oneOf(['error', 'warn', 'info', 'debug'] as const, 'Least severe level written.', 'info'),
    format: oneOf(['text', 'json'] as const, 'text = one readable line per event; json = one JSON object per line.', 'text'),
  },
  'Logging (always to stderr).',
);

export const httpSchema = section(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve /metrics, /healthz, /readyz and the status page.' }),
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Listen address; use 0.0.0.0 to be scraped from other hosts or containers.' }),
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 9464, description: 'Listen port; 0 picks a free port.' }),
    token: Type.Optional(
      Type.String({
        minLength: 16,
        description: 'Bearer token required for /metrics, the status page and its JSON (/api/v1/alerts, /api/v1/streams) (Prometheus: authorization.credentials). /healthz and /readyz stay open. Prefer token_file; never logged.',
      }),
    ),
    token_file: Type.Optional(Type.String({ minLength: 1, description: 'File whose content (trimmed) is the bearer token.' })),
    admin_token: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          'Bearer token required for every change through the operator API (POST and DELETE under /api/v1/, e.g. maintenance windows); reading takes `token` or this one. Unset: changes are refused (403), so a default install exposes no write surface. Must differ from `token`. Prefer admin_token_file; never logged.',
      }),
    ),
    admin_token_file: Type.Optional(Type.String({ minLength: 1, description: 'File whose content (trimmed) is the admin token.' })),
    ready_ingest_window_s: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      default: 60,
      description:
        "/readyz fails its 'ingest' check when, for this long, messages kept arriving and none was accepted (each rejected, or refused by the pipeline); it names the top rejection reason. A single bad message never fails it, nor does silence (that is the stall alert's job). 0 = no such check.",
    }),
    external_url: Type.Optional(
      url(
        ['http', 'https'],
        'The URL operators reach this daemon at (e.g. https://plant.example/anomalyd/ behind a reverse proxy): the alert payloads\' generatorURL and externalURL and the status page\'s links start there. Default: http://<host>:<port>/.',
      ),
    ),
  },
  'HTTP server for metrics, health and status.',
);

export const queuesSchema = section(
  {
    capacity: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 10_000, description: 'Items each internal queue holds.' }),
    when_full: oneOf(
      ['block', 'drop'] as const,
      'block = stop taking input (MQTT QoS 1 messages stay unacknowledged at the broker); drop = discard the newest items and count them.',
      'block',
    ),
  },
  'Bounded queues between the pipeline stages.',
);

export const batchingSchema = section(
  {
    max_batch: Type.Integer({ minimum: 1, maximum: 4_096, default: 64, description: 'Windows scored in one inference call.' }),
    max_wait_ms: Type.Integer({ minimum: 0, maximum: 10_000, default: 20, description: 'Longest a window waits for a batch to fill (milliseconds).' }),
  },
  'Batching of windows for inference.',
);

export const inferenceSchema = section(
  {
    backend: oneOf(
      ['auto', 'node', 'native', 'wasm', 'cpu'] as const,
      "Inference and training engine: auto = the fastest available (node = tfjs-node, then native = anomalyd's own compiled kernels, then wasm, then cpu).",
      'auto',
    ),
  },
  'Inference engine.',
);

export const limitsSchema = section(
  {
    max_streams: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1_000,
      description: 'Most streams tracked at once; messages for further streams are rejected and counted, which bounds memory and metric labels.',
    }),
    stream_idle_evict_ms: Type.Integer({
      minimum: 0,
      maximum: 31_536_000_000,
      default: 86_400_000,
      description:
        'A stream that produces no window for this long (milliseconds) is forgotten: its window buffer, alert state and saved state go, freeing its place under max_streams (a learned model is kept). A stream with an alert firing is kept until the alert resolves. 0 = never.',
    }),
    new_stream_idle_evict_ms: Type.Integer({
      minimum: 0,
      maximum: 31_536_000_000,
      default: 600_000,
      description:
        'The same for a stream that never completed a window (a made-up topic, a sender that stopped at once): forgotten after this long without a window or a sample (milliseconds). Such a stream is never saved to the state file. 0 = never.',
    }),
    stall_summary_streams: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 5,
      description:
        'This many streams stalling within stall_summary_wait_ms of each other (a gateway, network path or PLC gone) page one StreamsStalled alert with the count instead of an IngestionStalled page each; their own alerts are still recorded (InfluxDB, status page). 0 = every stall pages alone, at once.',
    }),
    stall_summary_wait_ms: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 10_000,
      description:
        'How long a new IngestionStalled alert waits (milliseconds) for others to group with before it pages alone. Streams of one gateway fall silent within a sample period or two of each other.',
    }),
  },
  'Resource limits.',
);

export const simulatorSchema = section(
  {
    enabled: Type.Boolean({ default: false, description: 'Run the built-in plant simulator inside the daemon, publishing to the MQTT broker (the embedded demo).' }),
    profile: oneOf(['pump', 'ecg'] as const, 'pump = 8-channel pump telemetry as JSON at rate_hz; ecg = a 250 Hz ECG in float32 chunks.', 'pump'),
    lines: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'Production lines simulated.' }),
    assets: Type.Integer({ minimum: 1, maximum: 10_000, default: 3, description: 'Assets per line.' }),
    rate_hz: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, default: 1, description: 'pump: messages per second per asset; ecg: the sampling rate.' }),
    anomaly_every_s: Type.Number({ minimum: 0, maximum: 86_400, default: 90, description: 'Seconds between injected faults (on a random asset); 0 = none.' }),
    fault_duration_s: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 60, description: 'How long each injected fault lasts (seconds).' }),
    seed: Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 1, description: 'Seed of the simulated signals and faults.' }),
    planned_stop_every_s: Type.Number({
      minimum: 0,
      maximum: 604_800,
      default: 0,
      description:
        'pump: seconds from one planned stop of a pump to its next, staggered across pumps; 0 = no planned stops. A stop ramps down to standstill (flow, pressure and motor current near 0, vibration at the noise floor, the motor cooling) and back up. No fault is injected into a pump while it is stopped.',
    }),
    planned_stop_duration_s: Type.Number({ minimum: 20, maximum: 86_400, default: 180, description: 'pump: length of a planned stop (seconds, ramps included); shorter than planned_stop_every_s.' }),
    duty_point_every_s: Type.Number({
      minimum: 0,
      maximum: 604_800,
      default: 0,
      description:
        'pump: seconds from one spell at the high duty point to the next, staggered across pumps; 0 = always the normal duty point. At the high duty point a pump runs about 10 % faster with a second discharge valve open: some 1.4 times the flow of its normal duty point at any speed (flow_m3h separates the two), more motor current, pressure within its normal range.',
    }),
    duty_point_duration_s: Type.Number({ minimum: 30, maximum: 86_400, default: 600, description: 'pump: length of a spell at the high duty point (seconds, the changes included); shorter than duty_point_every_s.' }),
    publish_while_stopped: Type.Boolean({ default: true, description: 'pump: keep publishing standstill readings while a pump is stopped, as a gateway does; false = the pump falls silent.' }),
    publish_to_external_broker: Type.Boolean({
      default: false,
      description:
        "Let the simulator publish to a broker anomalyd did not start itself (embedded_broker found one already listening, or is off). false: it does not start there, and the daemon's own session on that broker is a clean one (nothing stays queued after the demo); true: it publishes, and the session follows mqtt.clean_session.",
    }),
  },
  'The built-in simulator (off unless enabled).',
);

export const csvSchema = section(
  {
    time_unit: Type.Optional(
      oneOf(
        ['s', 'ms', 'us', 'ns'] as const,
        'Unit of numeric timestamps in CSV recordings read by train, calibrate and replay with this config (their --time-unit overrides it). Unset: milliseconds, or seconds for a column named time_s. ISO 8601 times are unaffected.',
      ),
    ),
  },
  'CSV recordings (input of train, calibrate, replay); the daemon does not read CSV.',
);

export const configSchema = Type.Object(
  {
    log: logSchema,
    http: httpSchema,
    state_dir: Type.String({
      minLength: 1,
      default: './var',
      description: 'Directory for the alert outbox, the InfluxDB spool and other state. A relative path is resolved against the directory of the config file that sets it (as are all paths in a config file).',
    }),
    shutdown_grace_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000, description: 'Time (milliseconds) given to flush and stop on shutdown before the process exits anyway.' }),
    mqtt: mqttSchema,
    models: modelsSchema,
    defaults: detectionDefaultsSchema,
    auto_learn: autoLearnSchema,
    subscriptions: Type.Array(subscriptionSchema, { default: [], maxItems: 256, description: 'MQTT subscriptions, each mapping topics to streams.' }),
    streams: Type.Array(streamSchema, { default: [], maxItems: 100_000, description: 'Optional per-stream settings for streams produced by the subscriptions.' }),
    opcua: Type.Optional(opcuaSchema),
    sinks: sinksSchema,
    queues: queuesSchema,
    batching: batchingSchema,
    inference: inferenceSchema,
    simulator: simulatorSchema,
    limits: limitsSchema,
    shard: shardSchema,
    csv: csvSchema,
    maintenance: maintenanceSchema,
    retrain: Type.Optional(retrainSchema),
  },
  { additionalProperties: false, title: 'anomalyd configuration', description: 'Configuration of the anomalyd daemon.' },
);

type Deep<T> = T extends (infer U)[] ? readonly Deep<U>[] : T extends object ? { readonly [K in keyof T]: Deep<T[K]> } : T;

/** The configuration as returned by the loader: defaults applied, secrets resolved, deeply frozen. */
export type Config = Deep<Static<typeof configSchema>>;
export type LogConfig = Config['log'];
export type HttpConfig = Config['http'];
export type MqttConfig = Deep<Static<typeof mqttSchema>>;
export type MqttTlsConfig = Deep<Static<typeof mqttTlsSchema>>;
export type ReconnectConfig = Deep<Static<typeof reconnectSchema>>;
export type ModelConfig = Deep<Static<typeof modelSchema>>;
export type WindowConfig = Deep<Static<typeof windowSchema>>;
export type NoiseConfig = Deep<Static<typeof noiseSchema>>;
export type RhythmConfig = Deep<Static<typeof rhythmSchema>>;
export type TrainingConfig = Deep<Static<typeof trainingSchema>>;
export type PotConfig = Deep<Static<typeof potSchema>>;
export type CalibrationConfig = Deep<Static<typeof calibrationSchema>>;
export type AlertingConfig = Deep<Static<typeof alertingSchema>>;
export type DetectionConfig = Deep<Static<typeof detectionDefaultsSchema>>;
export type DetectionOverrides = Deep<{ [K in keyof Static<typeof detectionDefaultsSchema>]?: DeepPartial<Static<typeof detectionDefaultsSchema>[K]> }>;
export type AutoLearnConfig = Deep<Static<typeof autoLearnSchema>>;
export type TimestampConfig = Deep<Static<typeof timestampSchema>>;
export type SubscriptionConfig = Deep<Static<typeof subscriptionSchema>>;
export type Decoder = SubscriptionConfig['decoder'];
export type StreamConfig = Deep<Static<typeof streamSchema>>;
export type OpcuaConfig = Deep<Static<typeof opcuaSchema>>;
export type OpcuaSubscriptionConfig = Deep<Static<typeof opcuaSubscriptionSchema>>;
export type ModesConfig = Deep<Static<typeof modesSchema>>;
export type InfluxConfig = Deep<Static<typeof influxSchema>>;
export type WebhookConfig = Deep<Static<typeof webhookSchema>>;
export type AlertmanagerConfig = Deep<Static<typeof alertmanagerSchema>>;
export type ConsoleSinkConfig = Deep<Static<typeof consoleSinkSchema>>;
export type MqttOutConfig = Deep<Static<typeof mqttOutSchema>>;
export type SinksConfig = Config['sinks'];
export type QueuesConfig = Config['queues'];
export type BatchingConfig = Config['batching'];
export type InferenceConfig = Config['inference'];
export type SimulatorConfig = Config['simulator'];
export type LimitsConfig = Config['limits'];
export type ShardConfig = Config['shard'];
export type RetrainConfig = Deep<Static<typeof retrainSchema>>;

/** Marker of the property names the loader fills from a `<name>_file` sibling. */
export const SECRET_FILE_KEYS: Readonly<Record<string, string>> = { password_file: 'password', secret_file: 'secret', token_file: 'token', admin_token_file: 'admin_token' };

/**
 * The JSON Schema used for validation and published as config/schema.json: plain JSON (no TypeBox symbols),
 * and every property that has a default is optional.
 */
export function toJsonSchema(): Record<string, unknown> {
  const json = relaxDefaulted(JSON.parse(JSON.stringify(configSchema)) as unknown) as Record<string, unknown>;
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...json };
}

function relaxDefaulted(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(relaxDefaulted);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === 'enum' || key === 'const' || key === 'default' ? value : relaxDefaulted(value);
  }
  const properties = out['properties'] as Record<string, Record<string, unknown>> | undefined;
  const required = out['required'] as string[] | undefined;
  if (properties && required) {
    const stillRequired = required.filter((name) => properties[name]?.['default'] === undefined);
    if (stillRequired.length > 0) out['required'] = stillRequired;
    else delete out['required'];
  }
  return out;
}
