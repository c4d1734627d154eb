// Input and output settings: the MQTT connection, what is subscribed and how payloads map to streams, and the
// sinks that receive scores and alerts.
import { Type } from '@sinclair/typebox';
import { alertingSchema, calibrationSchema, expectedSchema, trainingSchema, windowSchema } from './schemaDetection';
import { retrainOverrideSchema } from './schemaRetrain';
import { entry, nameMap, named, oneOf, overrideOf, patternMessages, section, url } from './schemaHelpers';
import { modesSchema } from './schemaModes';
import { sparkplugSchema } from './schemaSparkplug';

export const secretHelp = 'Prefer the `_file` variant; never printed in errors or logs.';

export const mqttTlsSchema = section(
  {
    ca_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA(s) that signed the broker certificate. Unset: system CAs.' })),
    cert_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate for mutual TLS; requires key_file.' })),
    key_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the client certificate; requires cert_file.' })),
    reject_unauthorized: Type.Boolean({ default: true, description: 'Refuse brokers whose certificate does not verify. Only disable on an isolated test bench.' }),
  },
  'TLS settings, used when the URL scheme is mqtts:// or wss://.',
);

export const reconnectSchema = section(
  {
    min_delay_ms: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 1_000, description: 'First reconnect delay (milliseconds); doubles after each failed attempt.' }),
    max_delay_ms: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000, description: 'Upper bound of the reconnect delay (milliseconds).' }),
    jitter: Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'Random spread of each delay as a fraction (0.2 = plus or minus 20 %), so a fleet does not reconnect in step.' }),
  },
  'Reconnect backoff after the broker connection is lost.',
);

export const mqttSchema = section(
  {
    url: url(['mqtt', 'mqtts', 'tcp', 'tls', 'ws', 'wss'], 'Broker URL.', 'mqtt://127.0.0.1:1883'),
    client_id: Type.String({
      minLength: 1,
      maxLength: 128,
      default: 'anomalyd-{hostname}',
      description: 'MQTT client identifier; `{hostname}` is replaced by the host name when the file is loaded. Must be unique per broker and stable, so the persistent session survives restarts.',
    }),
    protocol_version: oneOf(
      [4, 5] as const,
      'MQTT protocol version: 4 = MQTT 3.1.1, 5 = MQTT 5. Shared subscriptions (`$share/<group>/...` topics) need 5; with 5 and clean_session false the broker keeps the session indefinitely, as with 3.1.1.',
      4,
    ),
    clean_session: Type.Boolean({
      default: false,
      description: 'false keeps the broker-side session, so QoS 1 messages published while the daemon was down are delivered on reconnect.',
    }),
    username: Type.Optional(Type.String({ description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ description: `Broker password. ${secretHelp}` })),
    password_file: Type.Optional(Type.String({ minLength: 1, description: 'File whose content (trimmed) is the broker password.' })),
    tls: mqttTlsSchema,
    keepalive_s: Type.Integer({ minimum: 0, maximum: 65_535, default: 30, description: 'MQTT keepalive interval (seconds); 0 disables it.' }),
    reconnect: reconnectSchema,
    max_payload_bytes: Type.Integer({ minimum: 1, maximum: 268_435_455, default: 1_048_576, description: 'Messages with a larger payload (or, under MQTT 5, larger properties) are rejected (acknowledged) and counted as oversize; their payload is discarded unread as it arrives, so this also bounds the memory a message can take.' }),
    qos: oneOf([0, 1] as const, 'Subscription QoS. With 1, a message is acknowledged only after its samples are accepted by the pipeline.', 1),
    embedded_broker: oneOf(
      ['auto', 'on', 'off'] as const,
      'Start a broker inside the daemon: on = always, auto = only when the URL is a loopback address and nothing listens there, off = never.',
      'auto',
    ),
    broker_stats: oneOf(
      ['auto', 'off'] as const,
      "Read the broker's own count of dropped messages ($SYS/broker/publish/messages/dropped, published by Mosquitto) on a second connection (client id `<client_id>-stats`): anomalyd_broker_dropped_messages_total follows it and a WARN names the likely cause when it grows. auto = on, except with the embedded broker; harmless where the broker publishes no such topic or refuses the subscription; off = never.",
      'auto',
    ),
  },
  'Connection to the MQTT broker.',
);

export const modelSchema = entry(
  {
    path: Type.String({ minLength: 1, description: 'Model artifact directory (model.json, weights, manifest.json). A relative path is resolved against the directory of the config file.' }),
    threshold: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Fixed anomaly threshold that replaces the calibrated one from the manifest (an operator override).' })),
  },
  'One trained model artifact.',
);

export const streamIdPattern = '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$';
export const channelSchema = named('^[A-Za-z_][A-Za-z0-9_]{0,63}$', 'must be a channel name of letters, digits and "_", not starting with a digit', 'Channel name.');
const channelsSchema = Type.Array(channelSchema, {
  minItems: 1,
  maxItems: 256,
  uniqueItems: true,
  description:
    "Ordered channel names; the order is the model input order and must match the model manifest. Unset: the configured model's channels (its manifest.json); required when the model is \"auto\", except with decoder sparkplug_b, where each stream then takes the numeric metrics of its birth (NBIRTH/DBIRTH), sorted by name, and a later birth with another set is refused once a model learnt the first (counted as channels_changed).",
});
export const modelRef = Type.String({ minLength: 1, default: 'auto', description: 'Name of an entry in `models`, or "auto" to use the model whose manifest names this stream.' });

const headerNamePattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$";
patternMessages.set(headerNamePattern, 'must be a valid HTTP header name');
const headerMap = Type.Unsafe<Record<string, string>>({
  type: 'object',
  default: {},
  description: 'Extra HTTP headers sent with every delivery; values are never printed in errors.',
  propertyNames: { pattern: headerNamePattern },
  additionalProperties: { type: 'string', description: 'Header value.' },
});

/** The detection settings a subscription (MQTT or OPC UA) or a stream entry may override. */
export const overrides = {
  window: Type.Optional(overrideOf(windowSchema, 'Overrides of defaults.window.')),
  training: Type.Optional(overrideOf(trainingSchema, 'Overrides of defaults.training.')),
  calibration: Type.Optional(overrideOf(calibrationSchema, 'Overrides of defaults.calibration.')),
  alerting: Type.Optional(overrideOf(alertingSchema, 'Overrides of defaults.alerting.')),
  expected: Type.Optional(overrideOf(expectedSchema, 'Overrides of defaults.expected.')),
  modes: Type.Optional(modesSchema),
  retrain: Type.Optional(retrainOverrideSchema),
};

export const timestampSchema = section(
  {
    source: oneOf(
      ['auto', 'payload', 'arrival'] as const,
      'Where a sample time comes from: auto = the payload field when present, else arrival; payload = required in the payload; arrival = receive time.',
      'auto',
    ),
    field: Type.String({ minLength: 1, default: 'ts', description: 'Payload field (json decoders) or first CSV column name holding the timestamp.' }),
    unit: oneOf(['ms', 's', 'iso8601'] as const, 'Timestamp encoding: epoch milliseconds, epoch seconds or an ISO 8601 string.', 'ms'),
    max_future_skew_ms: Type.Integer({
      minimum: 0,
      maximum: 86_400_000,
      default: 10_000,
      description:
        "A payload time more than this after the message's arrival is rejected (reason future_timestamp): one sample from a clock far ahead would otherwise hold the stream's clock there and drop every real sample until then as out of order.",
    }),
    max_age_ms: Type.Integer({
      minimum: 0,
      default: 604_800_000,
      description:
        "A payload time more than this before the message's arrival is rejected (reason too_old), e.g. a device clock reset to 1970. The default (7 days) keeps a broker's queued backlog after an outage; 0 = no limit (backfilling history through MQTT).",
    }),
  },
  'Sample timestamps.',
);

export const subscriptionSchema = entry(
  {
    topic: Type.String({ minLength: 1, maxLength: 1024, description: 'MQTT topic filter; `+` matches one level, `#` the rest.' }),
    template: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The topic with names for its wildcard levels, e.g. plant/{line}/{asset}/telemetry for plant/+/+/telemetry. Not used with decoder sparkplug_b.',
      }),
    ),
    stream: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Stream id built from the template names, e.g. "{line}/{asset}"; `{topic}` is the whole topic. With decoder sparkplug_b: {group}, {edge} and {device}, e.g. "{edge}/{device}" (an edge node\'s own metrics have no device: "{edge}/{device}" names them "<edge>", or "<edge>/<node_device>" with sparkplug.node_device).',
    }),
    decoder: oneOf(
      ['json', 'json_array', 'csv', 'number', 'f32le', 'sparkplug_b'] as const,
      'Payload format: json = one object with a field per channel; json_array = arrays of samples; csv = one line of values in channel order; number = one value (single channel); f32le = little-endian float32 chunk, channels interleaved; sparkplug_b = Sparkplug B (topic spBv1.0/<group>/#, no template; `stream` may use {group}, {edge} and {device}; metrics feed the channels of their name, births and deaths are followed).',
    ),
    sparkplug: Type.Optional(sparkplugSchema),
    sample_rate_hz: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Sampling rate of chunked payloads (required for f32le and json_array).' })),
    timestamp: timestampSchema,
    model: modelRef,
    channels: Type.Optional(channelsSchema),
    allow_streams: Type.Optional(
      Type.Array(
        named(
          '^[A-Za-z0-9*][A-Za-z0-9_.:/*-]{0,127}$',
          'must be a stream id or a pattern of letters, digits, "_.:/-" and "*" (at most 128 characters)',
          'A stream id, or a pattern: `*` matches any characters within one level (not "/"), `**` any characters.',
        ),
        {
          minItems: 1,
          maxItems: 10_000,
          uniqueItems: true,
          description:
            'Stream ids this subscription admits, e.g. ["line1/*", "line2/press1"]: `*` matches within one "/" level, `**` across levels. Messages of any other stream the topic filter matches are refused (counted as stream_not_allowed). Unset: every stream the topic produces.',
        },
      ),
    ),
    new_streams_per_minute: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description:
        'New streams this subscription admits per minute (a token bucket holding this many, so as many streams can start at once); messages of further new streams are refused (counted as stream_rate) until a token is free. Streams already tracked, or saved from the previous run, are not affected. 0 = no limit.',
    }),
    ...overrides,
  },
  'One MQTT subscription and how its messages become streams.',
);

export const streamSchema = entry(
  {
    id: named(streamIdPattern, 'must be a stream id of letters, digits and "_.:/-" (at most 128 characters)', 'Stream id as produced by a subscription.'),
    channels: Type.Optional(Type.Array(channelSchema, { minItems: 1, maxItems: 256, uniqueItems: true, description: 'Channels of this stream, a subset of its subscription channels in model input order. Unset: all.' })),
    model: modelRef,
    ...overrides,
  },
  'Settings for one stream, overriding its subscription.',
);

export const influxSchema = entry(
  {
    url: url(['http', 'https'], 'InfluxDB 1.x base URL; a path component names the database, e.g. http://127.0.0.1:8086/anomalyd.'),
    database: Type.Optional(Type.String({ minLength: 1, description: 'Database name, when the URL does not carry it.' })),
    username: Type.Optional(Type.String({ description: 'InfluxDB user name.' })),
    password: Type.Optional(Type.String({ description: `InfluxDB password. ${secretHelp}` })),
    password_file: Type.Optional(Type.String({ minLength: 1, description: 'File whose content (trimmed) is the InfluxDB password.' })),
    batch_size: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000, description: 'Points per write request.' }),
    flush_interval_ms: Type.Integer({ minimum: 10, maximum: 600_000, default: 1_000, description: 'Maximum time (milliseconds) a point waits before being written.' }),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'Timeout of one write request (milliseconds).' }),
    buffer_max_points: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 100_000, description: 'Points kept in memory while InfluxDB is unreachable; beyond that they go to the spool.' }),
    spool_max_bytes: Type.Integer({
      minimum: 0,
      default: 268_435_456,
      description: 'Disk spool under state_dir for points that do not fit in memory; the oldest are dropped (and counted) beyond this size. 0 disables the spool.',
    }),
  },
  'InfluxDB sink for scores, alerts and health. Absent: not written.',
);

export const webhookSchema = entry(
  {
    name: named('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', 'must be a name of letters, digits, "_", "." or "-" (at most 64 characters)', 'Receiver name, used in metrics, logs and the outbox.'),
    url: url(['http', 'https'], 'Receiver URL; gets Alertmanager webhook v4 bodies.'),
    secret: Type.Optional(Type.String({ minLength: 1, description: `HMAC-SHA256 signing key for the signature header. ${secretHelp}` })),
    secret_file: Type.Optional(Type.String({ minLength: 1, description: 'File whose content (trimmed) is the signing key.' })),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000, description: 'Timeout of one delivery attempt (milliseconds).' }),
    max_retries: Type.Integer({
      minimum: 0,
      maximum: 1_000,
      default: 10,
      description:
        'Retries after 5xx, 429, timeout or connection error, with capped exponential backoff and jitter; 4xx is not retried. After max_retries a delivery is counted as failed but kept and retried every retry_max_delay_ms: pages are never dropped silently.',
    }),
    retry_base_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'Delay before the first retry (milliseconds), doubling per retry. Unset: 500.' })),
    retry_max_delay_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000, description: 'Upper bound of the retry delay (milliseconds). Unset: 60000.' })),
    max_outbox_notices: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'Undelivered notices kept in the receiver outbox under state_dir; beyond that the oldest are dropped and counted. Unset: 10000.',
      }),
    ),
    headers: headerMap,
    send_resolved: Type.Boolean({ default: true, description: 'Also notify when an alert resolves.' }),
  },
  'One webhook receiver.',
);

export const alertmanagerSchema = entry(
  {
    url: url(['http', 'https'], 'Alertmanager base URL; alerts are posted to <url>/api/v2/alerts.'),
    repost_interval_ms: Type.Integer({
      minimum: 1_000,
      maximum: 3_600_000,
      default: 60_000,
      description:
        'Firing alerts are re-posted at this interval (milliseconds), each post ending the alert four intervals later, so Alertmanager resolves the alerts of a daemon that stopped.',
    }),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000, description: 'Timeout of one post (milliseconds).' }),
    retry_base_ms: Type.Integer({ minimum: 1, maximum: 600_000, default: 500, description: 'Delay before the first retry of a failed post (milliseconds), doubling per retry.' }),
    retry_max_delay_ms: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000, description: 'Upper bound of the retry delay (milliseconds); posts are retried until delivered.' }),
  },
  'Push alerts to a Prometheus Alertmanager. Absent: not used.',
);

export const consoleSinkSchema = section(
  { enabled: Type.Boolean({ default: false, description: 'Print alerts (and, at debug level, scores) to stdout.' }) },
  'Console sink, handy for demos.',
);

const topicTemplate = (defaultValue: string, description: string): ReturnType<typeof Type.String> =>
  Type.String({ minLength: 1, maxLength: 1024, default: defaultValue, description });

export const mqttOutTopicsSchema = section(
  {
    score: topicTemplate(
      'anomalyd/{stream}/score',
      "Topic of each stream's latest scored window (retained, QoS 1; JSON: score, threshold, p_value, anomalous, expected values...). Must contain `{stream}`.",
    ),
    alert: topicTemplate(
      'anomalyd/{stream}/alert/{kind}',
      'Topic of the state of each alert of a stream (retained, QoS 1; one message per firing and per resolved transition, from a durable outbox). Must contain `{stream}` and `{kind}`.',
    ),
    status: topicTemplate(
      'anomalyd/_status/{client_id}',
      'Topic saying `online` while this publisher is connected and `offline` after it stopped or died (the MQTT will); retained. `{client_id}` is the publishing client id.',
    ),
  },
  "Topic templates. `{stream}` is the stream id (its \"/\" make topic levels), `{kind}` the alert kind (anomaly, ingestion_stalled, ...). No `+` or `#`.",
);

export const homeAssistantSchema = section(
  {
    enabled: Type.Boolean({ default: false, description: 'Publish Home Assistant MQTT discovery configs (retained), so each stream shows as a score sensor and an anomaly binary sensor.' }),
    discovery_prefix: Type.String({ minLength: 1, maxLength: 256, default: 'homeassistant', description: "Home Assistant's discovery prefix." }),
  },
  'Home Assistant MQTT discovery.',
);

const sparkplugIdPattern = '^[^/+#]{1,128}$';

export const sparkplugOutSchema = entry(
  {
    group_id: named(sparkplugIdPattern, 'must be a Sparkplug id: no "/", "+" or "#", at most 128 characters', 'Sparkplug group id.'),
    edge_node_id: Type.Optional(
      named(sparkplugIdPattern, 'must be a Sparkplug id: no "/", "+" or "#", at most 128 characters', 'Sparkplug edge node id of the daemon. Unset: the publishing client id.'),
    ),
  },
  'Also publish as a Sparkplug B edge node (spBv1.0/<group_id>/...) on a session of its own (client id `<client_id>-spb`): NBIRTH/NDEATH with bdSeq, each stream a device (its "/" become ":") with DBIRTH and DDATA of score, threshold, p_value, anomalous and expected/<channel>. Absent: no Sparkplug.',
);

export const mqttOutSchema = entry(
  {
    client_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Client id of the publishing connection. Unset: mqtt.client_id followed by `-out`.' }),
    ),
    topics: mqttOutTopicsSchema,
    max_outbox_notices: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 10_000,
      description: 'Alert transitions not yet acknowledged by the broker kept in the outbox under state_dir; beyond that the oldest are dropped and counted.',
    }),
    home_assistant: homeAssistantSchema,
    sparkplug: Type.Optional(sparkplugOutSchema),
  },
  "Publish scores and alert states into the MQTT broker of `mqtt` (the Unified Namespace), on a connection of its own. `mqtt_out: {}` publishes under `anomalyd/`. Absent: not published.",
);

export const sinksSchema = section(
  {
    influx: Type.Optional(influxSchema),
    webhooks: Type.Array(webhookSchema, { default: [], maxItems: 32, description: 'Webhook receivers of alerts.' }),
    alertmanager: Type.Optional(alertmanagerSchema),
    mqtt_out: Type.Optional(mqttOutSchema),
    console: consoleSinkSchema,
  },
  'Where scores and alerts go.',
);

export const modelsSchema = nameMap(modelSchema, 'Model artifacts by name; subscriptions and streams refer to these names.');
