// The mqtt.js client as anomalyd uses it: connection options (TLS files read at start, credentials), a URL safe
// to log, and a small QoS 1 publisher for the simulator. Together with mqtt.ts this is the only place that
// imports `mqtt`.
import { readFile } from 'node:fs/promises';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { errorMessage, InputError } from '../core/errors';

export interface MqttTlsOptions {
  /** PEM file of the CA(s) that signed the broker certificate; unset = system CAs. */
  readonly caFile?: string;
  /** PEM client certificate and key for mutual TLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Refuse brokers whose certificate does not verify (default true). */
  readonly rejectUnauthorized?: boolean;
}

export interface MqttConnectionOptions {
  /** mqtt://, mqtts://, tcp://, tls://, ws:// or wss:// URL. */
  readonly url: string;
  readonly clientId: string;
  /** false (default) keeps the broker-side session across reconnects and restarts. */
  readonly cleanSession?: boolean;
  readonly username?: string;
  /** Never logged; the URL's own credentials are redacted in logs too. */
  readonly password?: string;
  readonly tls?: MqttTlsOptions;
  /** Keepalive interval in seconds; 0 disables it. Default 30. */
  readonly keepaliveS?: number;
  /** Time allowed for the TCP/TLS connect and CONNACK. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5 (shared subscriptions). */
  readonly protocolVersion?: 4 | 5;
}

/** The URL with any user name and password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username) u.username = '***';
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

async function readPem(file: string | undefined, what: string): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    // `what` is the config key too (mqtt.tls.ca_file...), so a start-up failure names what to fix.
    throw new InputError(`${what}: cannot read the MQTT TLS file '${file}': ${errorMessage(err)}`);
  }
}

const noop = (): void => undefined;

/** mqtt.js options; reconnects are left to the caller (reconnectPeriod 0) so it can back off with jitter. */
export async function clientOptions(o: MqttConnectionOptions): Promise<IClientOptions> {
  const [ca, cert, key] = await Promise.all([readPem(o.tls?.caFile, 'mqtt.tls.ca_file'), readPem(o.tls?.certFile, 'mqtt.tls.cert_file'), readPem(o.tls?.keyFile, 'mqtt.tls.key_file')]);
  return {
    clientId: o.clientId,
    clean: o.cleanSession ?? false,
    protocolVersion: o.protocolVersion ?? 4,
    // MQTT 5 ends a session at disconnect unless it has an expiry; the largest one (never expires) keeps the
    // 3.1.1 meaning of a persistent session, so QoS 1 messages wait at the broker while the daemon restarts.
    ...(o.protocolVersion === 5 && !(o.cleanSession ?? false) ? { properties: { sessionExpiryInterval: 0xffffffff } } : {}),
    keepalive: o.keepaliveS ?? 30,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    reconnectPeriod: 0,
    resubscribe: false,
    manualConnect: true,
    // mqtt.js calls its debug logger about fifteen times per message, each a call into the `debug` package even
    // when disabled: a few percent of the ingest profile. Kept when DEBUG asks for mqttjs.
    ...(/mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: noop }),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: o.tls?.rejectUnauthorized ?? true,
  };
}

export function createClient(url: string, options: IClientOptions): MqttClient {
  return connect(url, options);
}

export interface MqttPublisher {
  /** Publishes and resolves once the broker acknowledged it (QoS 1) or it was written (QoS 0). */
  publish(topic: string, payload: Buffer | string, qos?: 0 | 1): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}

/**
 * A publisher that connects (waiting up to connectTimeoutMs for the first connection) and then reconnects by
 * itself every second; messages published while disconnected are queued in memory by mqtt.js.
 */
export async function connectMqttPublisher(o: MqttConnectionOptions): Promise<MqttPublisher> {
  const options = { ...(await clientOptions({ ...o, cleanSession: o.cleanSession ?? true })), reconnectPeriod: 1000, manualConnect: false };
  const client = connect(o.url, options);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      client.end(true);
      reject(new InputError(`Cannot connect to MQTT broker ${redactUrl(o.url)}: ${err.message}`));
    };
    const timer = setTimeout(() => fail(new Error('connection timed out')), options.connectTimeout ?? 10_000);
    client.once('connect', () => {
      clearTimeout(timer);
      client.removeListener('error', onError);
      resolve();
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      fail(err);
    };
    client.once('error', onError);
  });
  // After the first connection errors only mean "reconnecting"; mqtt.js would throw an unhandled 'error' otherwise.
  client.on('error', () => undefined);
  return {
    publish: async (topic, payload, qos = 1) => {
      await client.publishAsync(topic, payload, { qos });
    },
    get connected() {
      return client.connected;
    },
    close: async () => {
      await client.endAsync(!client.connected);
    },
  };
}
