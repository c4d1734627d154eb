// The MQTT source from config (subscriptions in config order: their index identifies them downstream); its
// registry entry (sourceRegistry.ts) says what a reload may change.
import type { Config } from '../config/schema';
import { mqttSubscriptionCount } from '../config/opcuaStreams';
import { resolveShard } from '../config/shard';
import type { ComponentContext } from '../core/context';
import { shardOwnership } from '../core/shard';
import type { Deliver } from '../sources/source';
import { BrokerStats } from '../sources/brokerStats';
import { MqttSource, type MqttConnectionOptions, type MqttModeTopics, type MqttSubscriptionOptions } from '../sources/mqtt';
import type { ModeTopicOptions } from '../sources/modeTopics';
import type { ModesConfig } from '../config/schema';
import { learnsChannels } from '../config/learntChannels';
import { subscriptionStreams } from './detection';

/** What the broker choice decided for the data session (brokerChoice.ts). */
export interface BrokerSession {
  /** Overrides mqtt.clean_session (the demo on a broker anomalyd did not start). */
  readonly cleanSession?: boolean;
}

export function buildMqttSource(config: Config, ctx: ComponentContext, session: BrokerSession = {}): MqttSource {
  const m = config.mqtt;
  return new MqttSource(ctx, {
    ...connectionOptions(config),
    cleanSession: session.cleanSession ?? m.clean_session,
    qos: m.qos,
    maxPayloadBytes: m.max_payload_bytes,
    reconnect: { minDelayMs: m.reconnect.min_delay_ms, maxDelayMs: m.reconnect.max_delay_ms, jitter: m.reconnect.jitter },
    subscriptions: mqttSubscriptions(config),
    modeTopics: mqttModeTopics(config),
  });
}

/**
 * The mode topics of a config, per subscription: its stream entries' own (`stream` set, tried first) and its
 * own, which leaves out the streams whose entries have `modes` of their own (a stream entry's replaces it).
 */
export function mqttModeTopics(config: Config): MqttModeTopics[] {
  const topicOf = (m: ModesConfig): Omit<ModeTopicOptions, 'stream' | 'except'> | null =>
    m.topic === undefined ? null : { topic: m.topic, ...(m.field !== undefined ? { field: m.field } : {}), ...(m.values !== undefined ? { values: m.values } : {}) };
  const out: MqttModeTopics[] = [];
  config.subscriptions.slice(0, mqttSubscriptionCount(config)).forEach((sub, i) => {
    const matches = subscriptionStreams(sub);
    const entries = config.streams.filter((s) => s.modes !== undefined && matches.test(s.id) && config.subscriptions.findIndex((x) => subscriptionStreams(x).test(s.id)) === i);
    const modes: ModeTopicOptions[] = [];
    for (const e of entries) {
      const t = e.modes ? topicOf(e.modes) : null;
      if (t) modes.push({ ...t, stream: e.id });
    }
    const own = sub.modes ? topicOf(sub.modes) : null;
    if (own) modes.push({ ...own, except: entries.map((e) => e.id) });
    if (modes.length > 0) out.push({ subscription: i, stream: sub.stream, modes });
  });
  return out;
}

/** The broker's $SYS drop count (mqtt.broker_stats), on its own connection; null when off or not wanted. */
export function buildBrokerStats(config: Config, ctx: ComponentContext, ownBroker: boolean): BrokerStats | null {
  // The embedded broker (aedes) publishes no drop count; auto leaves it alone.
  if (config.mqtt.broker_stats === 'off' || ownBroker) return null;
  return new BrokerStats(ctx, { ...connectionOptions(config), clientId: `${config.mqtt.client_id}-stats` });
}

/** Where and as whom to connect: shared by the data, statistics and mqtt_out connections. */
export function connectionOptions(config: Pick<Config, 'mqtt'>): MqttConnectionOptions {
  const m = config.mqtt;
  return {
    url: m.url,
    clientId: m.client_id,
    ...(m.username !== undefined ? { username: m.username } : {}),
    ...(m.password !== undefined ? { password: m.password } : {}),
    tls: {
      ...(m.tls.ca_file !== undefined ? { caFile: m.tls.ca_file } : {}),
      ...(m.tls.cert_file !== undefined ? { certFile: m.tls.cert_file } : {}),
      ...(m.tls.key_file !== undefined ? { keyFile: m.tls.key_file } : {}),
      rejectUnauthorized: m.tls.reject_unauthorized,
    },
    keepaliveS: m.keepalive_s,
    protocolVersion: m.protocol_version,
  };
}

/**
 * A subscription without channels takes its model's (modelShape.ts fills them in once the models load); the daemon
 * refuses to start or reload where that could not happen, so this is not reached with a config it runs.
 */
function unknownChannels(index: number): never {
  throw new Error(`subscriptions[${index}].channels: unset and not known from a loaded model`);
}

/**
 * The subscriptions of a config as the MQTT source takes them (at start, and on a config reload): those before
 * the entries of the OPC UA subscriptions (opcuaStreams.ts).
 */
export function mqttSubscriptions(config: Config): MqttSubscriptionOptions[] {
  return config.subscriptions.slice(0, mqttSubscriptionCount(config)).map((s, i) => ({
    topic: s.topic,
    ...(s.template !== undefined ? { template: s.template } : {}),
    stream: s.stream,
    decoder: s.decoder,
    channels: s.channels ?? (learnsChannels(s) ? [] : unknownChannels(i)),
    ...(s.channels === undefined && learnsChannels(s) ? { channelsFromBirths: true } : {}),
    timestamp: {
      source: s.timestamp.source,
      field: s.timestamp.field,
      unit: s.timestamp.unit,
      maxFutureSkewMs: s.timestamp.max_future_skew_ms,
      maxAgeMs: s.timestamp.max_age_ms,
    },
    ...(s.sample_rate_hz !== undefined ? { sampleRateHz: s.sample_rate_hz } : {}),
    ...(s.sparkplug !== undefined ? { sparkplug: { rebirthRequests: s.sparkplug.rebirth_requests, rebirthMinIntervalMs: s.sparkplug.rebirth_min_interval_ms } } : {}),
    ...(s.sparkplug?.node_device !== undefined ? { sparkplugNodeDevice: s.sparkplug.node_device } : {}),
  }));
}

/**
 * Scale-out by `shard`: every replica receives every message (the broker cannot know the owner), and passes on
 * only those of the streams it owns. The others resolve at once, so they are acknowledged like any handled
 * message and never come back; they are counted (anomalyd_messages_other_shard_total). The owner depends on
 * the stream id alone (core/shard.ts), so a restarted replica takes exactly its old streams back.
 */
export function shardedDeliver(config: Config, ctx: ComponentContext, deliver: Deliver): Deliver {
  const resolved = resolveShard(config.shard);
  // The config check refused an unresolvable shard already; this guards a config built without it.
  if (!resolved.ok) throw new Error(`shard.index: ${resolved.problem}`);
  const { index, count } = resolved.spec;
  ctx.events.shardAssigned(index, count);
  if (count === 1) return deliver;
  const owns = shardOwnership(resolved.spec);
  return (batch) => {
    if (owns(batch.stream)) return deliver(batch);
    ctx.events.messageOtherShard(batch.stream);
    return undefined;
  };
}
