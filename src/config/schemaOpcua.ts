// The OPC UA input (`opcua:`): one server endpoint, how to secure the channel and who to be, and the
// subscriptions whose monitored items (node ids or browse paths) become the channels of streams. Absent: no
// OPC UA. Each subscription is one stream, so it takes a model and the detection overrides as an MQTT
// subscription does (opcuaStreams.ts makes it one of `subscriptions` for the pipeline).
import { Type } from '@sinclair/typebox';
import { channelSchema, modelRef, overrides, reconnectSchema, secretHelp, streamIdPattern } from './schemaIo';
import { entry, named, oneOf, section, url } from './schemaHelpers';

/** Security policies without RSA PKCS#1 v1.5 (Basic128Rsa15, Basic256), which Node.js 20 no longer allows. */
export const OPCUA_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;

/** `ns=2;s=Pump1.Flow`, `i=2258`, `nsu=urn:plc;s=Flow`, `ns=3;g=...`, `ns=1;b=...`. */
export const NODE_ID_PATTERN = '^((ns=[0-9]+|nsu=[^;]+);)?[isgb]=.+$';
/** `/Objects/2:Pump1/2:Flow`: browse names from the Root folder, each with its namespace index. */
export const BROWSE_PATH_PATTERN = '^(/[^/]+)+$';

export const opcuaSecuritySchema = section(
  {
    mode: oneOf(['None', 'Sign', 'SignAndEncrypt'] as const, 'Message security: None (plain), Sign (signed) or SignAndEncrypt (signed and encrypted).', 'None'),
    policy: Type.Optional(
      oneOf(
        OPCUA_POLICIES,
        'Security policy. Unset: None for mode None, Basic256Sha256 otherwise. Basic128Rsa15 and Basic256 are not offered: they need RSA PKCS#1 v1.5, which Node.js refuses.',
      ),
    ),
    cert_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "anomalyd's application instance certificate (PEM or DER); requires key_file. Unset with Sign or SignAndEncrypt: a self-signed one is made in pki_dir on the first start, and its thumbprint is logged so the server's administrator can trust it.",
      }),
    ),
    key_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of cert_file; requires cert_file.' })),
    trusted_certs: Type.Array(Type.String({ minLength: 1, description: 'A certificate file (PEM or DER).' }), {
      default: [],
      maxItems: 64,
      description:
        "Server certificates (or the CA certificates that issued them) anomalyd trusts. With Sign or SignAndEncrypt a server whose certificate is neither here nor already trusted in pki_dir is refused (BadCertificateUntrusted) and the log names its thumbprint.",
    }),
    pki_dir: Type.Optional(
      Type.String({ minLength: 1, description: "Directory of anomalyd's OPC UA certificate store (own, trusted, rejected, issuers). Unset: <state_dir>/opcua-pki." }),
    ),
  },
  'How the channel to the server is secured.',
);

export const opcuaIdentitySchema = section(
  {
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'User name; with password. Unset (and no cert_file): anonymous.' })),
    password: Type.Optional(Type.String({ description: `Password of user. ${secretHelp}` })),
    password_file: Type.Optional(Type.String({ minLength: 1, description: 'File whose content (trimmed) is the password of user.' })),
    cert_file: Type.Optional(Type.String({ minLength: 1, description: 'X.509 user identity certificate (PEM or DER) instead of a user name; requires key_file.' })),
    key_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the identity certificate.' })),
  },
  'Who anomalyd is in the session: anonymous (default), a user name and password, or a certificate.',
);

export const opcuaItemSchema = entry(
  {
    node_id: Type.Optional(named(NODE_ID_PATTERN, 'must be an OPC UA node id such as "ns=2;s=Pump1.Flow" or "i=2258"', 'Node id of the variable.')),
    browse_path: Type.Optional(
      named(BROWSE_PATH_PATTERN, 'must be a browse path such as "/Objects/2:Pump1/2:Flow"', 'Browse path of the variable from the Root folder, resolved by the server at each connection: `/Objects/2:Pump1/2:Flow`.'),
    ),
    channel: channelSchema,
    sampling_interval_ms: Type.Optional(Type.Number({ minimum: 0, maximum: 3_600_000, description: "Overrides the subscription's sampling_interval_ms for this item." })),
    queue_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "Overrides the subscription's queue_size for this item." })),
  },
  'One monitored item: a variable (by node_id or browse_path, exactly one) and the channel its values feed.',
);

export const opcuaSubscriptionSchema = entry(
  {
    stream: named(streamIdPattern, 'must be a stream id of letters, digits and "_.:/-" (at most 128 characters)', 'The stream these items feed, e.g. "line1/pump1".'),
    model: modelRef,
    publishing_interval_ms: Type.Number({
      minimum: 10,
      maximum: 3_600_000,
      default: 1_000,
      description: 'How often the server sends what changed (milliseconds): the latency of a sample, and the unit of its lifetime and keep-alive counts.',
    }),
    sampling_interval_ms: Type.Number({
      minimum: 0,
      maximum: 3_600_000,
      default: 1_000,
      description: "How often the server samples each item (milliseconds); 0 = as fast as it can, reporting every change (exception-based). The stream's sample period: match the model's.",
    }),
    queue_size: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 600,
      description:
        'Values the server keeps per item between two publishes and while the link is down: an outage longer than queue_size × sampling_interval_ms loses the oldest values (counted as anomalyd_opcua_queue_overflows_total).',
    }),
    timestamps: oneOf(
      ['source', 'server'] as const,
      "Sample time: source = the device's timestamp of the value (the server's when it has none); server = when the server read it.",
      'source',
    ),
    items: Type.Array(opcuaItemSchema, { minItems: 1, maxItems: 256, description: 'The monitored items, in the model\'s channel order.' }),
    window: overrides.window,
    training: overrides.training,
    calibration: overrides.calibration,
    alerting: overrides.alerting,
    retrain: overrides.retrain,
  },
  'One OPC UA subscription: its monitored items are the channels of one stream.',
);

export const opcuaSchema = entry(
  {
    endpoint_url: url(['opc.tcp'], 'Server endpoint, e.g. opc.tcp://plc1.plant:4840.'),
    application_name: Type.String({ minLength: 1, maxLength: 128, default: 'anomalyd', description: 'Application name the server sees (and the subject of a self-signed certificate).' }),
    security: opcuaSecuritySchema,
    identity: opcuaIdentitySchema,
    session_timeout_ms: Type.Integer({
      minimum: 1_000,
      maximum: 3_600_000,
      default: 60_000,
      description: 'How long the server keeps the session, its subscriptions and their queued values after the link drops; a link back within it resumes with nothing lost.',
    }),
    reconnect: reconnectSchema,
    subscriptions: Type.Array(opcuaSubscriptionSchema, { minItems: 1, maxItems: 256, description: 'Subscriptions, one per stream.' }),
  },
  'OPC UA input: a server endpoint whose variables become streams. Absent: no OPC UA.',
);
