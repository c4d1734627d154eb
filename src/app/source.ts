// The MQTT source from config (subscriptions in config order: their index identifies them downstream).
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import { MqttSource } from '../sources/mqtt';

export function buildMqttSource(config: Config, ctx: ComponentContext): MqttSource {
  const m = config.mqtt;
  return new MqttSource(ctx, {
    url: m.url,
    clientId: m.client_id,
    cleanSession: m.clean_session,
    ...(m.username !== undefined ? { username: m.username } : {}),
    ...(m.password !== undefined ? { password: m.password } : {}),
    tls: {
      ...(m.tls.ca_file !== undefined ? { caFile: m.tls.ca_file } : {}),
      ...(m.tls.cert_file !== undefined ? { certFile: m.tls.cert_file } : {}),
      ...(m.tls.key_file !== undefined ? { keyFile: m.tls.key_file } : {}),
      rejectUnauthorized: m.tls.reject_unauthorized,
    },
    keepaliveS: m.keepalive_s,
    qos: m.qos,
    maxPayloadBytes: m.max_payload_bytes,
    reconnect: { minDelayMs: m.reconnect.min_delay_ms, maxDelayMs: m.reconnect.max_delay_ms, jitter: m.reconnect.jitter },
    subscriptions: config.subscriptions.map((s) => ({
      topic: s.topic,
      ...(s.template !== undefined ? { template: s.template } : {}),
      stream: s.stream,
      decoder: s.decoder,
      channels: s.channels,
      timestamp: { source: s.timestamp.source, field: s.timestamp.field, unit: s.timestamp.unit },
      ...(s.sample_rate_hz !== undefined ? { sampleRateHz: s.sample_rate_hz } : {}),
    })),
  });
}
