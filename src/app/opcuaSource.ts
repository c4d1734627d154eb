// The OPC UA source from config: its subscriptions deliver with the index of their entry in `subscriptions`
// (after the MQTT ones, config/opcuaStreams.ts), so bindings, models and overrides find them as any stream's.
import * as path from 'node:path';
import { mqttSubscriptionCount } from '../config/opcuaStreams';
import type { Config, OpcuaConfig } from '../config/schema';
import type { ComponentContext } from '../core/context';
import type { OpcuaEvents } from '../core/opcuaEvents';
import { OpcuaSource, type OpcuaSourceOptions } from '../sources/opcua';

/** Events that go nowhere: for a source built only to check a config (a reload), never started. */
const UNHEARD: OpcuaEvents = {
  connection: () => undefined,
  stopped: () => undefined,
  reconnected: () => undefined,
  itemRefused: () => undefined,
  itemsMonitored: () => undefined,
  badValue: () => undefined,
  notNumeric: () => undefined,
  queueOverflow: () => undefined,
  notificationLost: () => undefined,
  subscriptionRecreated: () => undefined,
};

/**
 * The OPC UA source of a config with an `opcua` section (no I/O; node-opcua loads when it starts). `resumeAfter`:
 * the last sample times of the source it replaces (a reload).
 */
export function buildOpcuaSource(config: Config, ctx: ComponentContext, events: OpcuaEvents = UNHEARD, resumeAfter?: ReadonlyMap<string, number>): OpcuaSource {
  const o = config.opcua;
  if (o === undefined) throw new Error('opcua: not configured');
  return new OpcuaSource(ctx, { ...opcuaOptions(config, o, events), ...(resumeAfter ? { resumeAfter } : {}) });
}

/**
 * What the running OPC UA source was built from, less what it can take in place: a reload whose config gives the
 * same key keeps the source (its session, subscriptions and the server's queues) and only moves its subscription
 * indexes (opcuaIndexes); a different key replaces it. The model and detection overrides of a subscription are
 * not in it: they apply downstream, through its entry in `subscriptions`. null: no `opcua` section.
 */
export function opcuaSettingsKey(config: Config): string | null {
  const o = config.opcua;
  if (o === undefined) return null;
  // `events` is a function table, `index` a subscription's place downstream.
  return JSON.stringify(opcuaOptions(config, o, UNHEARD), (key, value: unknown) => (key === 'events' || key === 'index' ? undefined : value));
}

/** Each OPC UA subscription's index in `subscriptions` (after the MQTT ones), in order. */
export function opcuaIndexes(config: Config): number[] {
  const first = mqttSubscriptionCount(config);
  return (config.opcua?.subscriptions ?? []).map((_, k) => first + k);
}

export function opcuaOptions(config: Config, o: OpcuaConfig, events: OpcuaEvents): OpcuaSourceOptions {
  const first = mqttSubscriptionCount(config);
  const s = o.security;
  const id = o.identity;
  return {
    endpointUrl: o.endpoint_url,
    applicationName: o.application_name,
    security: {
      mode: s.mode,
      policy: s.policy ?? (s.mode === 'None' ? 'None' : 'Basic256Sha256'),
      ...(s.cert_file !== undefined ? { certFile: s.cert_file } : {}),
      ...(s.key_file !== undefined ? { keyFile: s.key_file } : {}),
      trustedCerts: s.trusted_certs,
      pkiDir: s.pki_dir ?? path.join(config.state_dir, 'opcua-pki'),
    },
    identity: {
      ...(id.user !== undefined ? { user: id.user } : {}),
      ...(id.password !== undefined ? { password: id.password } : {}),
      ...(id.cert_file !== undefined ? { certFile: id.cert_file } : {}),
      ...(id.key_file !== undefined ? { keyFile: id.key_file } : {}),
    },
    sessionTimeoutMs: o.session_timeout_ms,
    reconnect: { minDelayMs: o.reconnect.min_delay_ms, maxDelayMs: o.reconnect.max_delay_ms, jitter: o.reconnect.jitter },
    subscriptions: o.subscriptions.map((sub, k) => ({
      stream: sub.stream,
      index: first + k,
      publishingIntervalMs: sub.publishing_interval_ms,
      samplingIntervalMs: sub.sampling_interval_ms,
      queueSize: sub.queue_size,
      timestamps: sub.timestamps,
      items: sub.items.map((item) => ({
        ...(item.node_id !== undefined ? { nodeId: item.node_id } : {}),
        ...(item.browse_path !== undefined ? { browsePath: item.browse_path } : {}),
        channel: item.channel,
        ...(item.sampling_interval_ms !== undefined ? { samplingIntervalMs: item.sampling_interval_ms } : {}),
        ...(item.queue_size !== undefined ? { queueSize: item.queue_size } : {}),
      })),
    })),
    events,
  };
}
