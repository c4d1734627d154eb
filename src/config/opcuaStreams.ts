// An OPC UA subscription is one stream, and everything downstream of a source (bindings, models, detection
// overrides, `streams` entries, train --stream, retraining) finds a stream's settings through the subscription
// that produced it, by its index in `subscriptions`. So the loader appends one entry per OPC UA subscription to
// `subscriptions`, after the MQTT ones: its topic is `$opcua/<index>` (a topic no MQTT subscription may use), and
// it carries the stream, model, channels (the items' channels, in order) and overrides. The MQTT source reads
// only the entries before them (mqttSubscriptionCount); the OPC UA source delivers with the entry's index.
// Problems found in an appended entry are reported at its place in the file (`opcua.subscriptions[k]...`).
import type { ConfigPath, Segment } from './problems';
import type { Config, OpcuaConfig, SubscriptionConfig } from './schema';

/** The topic prefix of the entries made from OPC UA subscriptions; refused in an MQTT subscription's topic. */
export const OPCUA_TOPIC_PREFIX = '$opcua/';

/** The entries of `subscriptions` the MQTT source subscribes to: the first this many. */
export function mqttSubscriptionCount(config: Pick<Config, 'subscriptions'>): number {
  const i = config.subscriptions.findIndex((s) => s.topic.startsWith(OPCUA_TOPIC_PREFIX));
  return i === -1 ? config.subscriptions.length : i;
}

/** The subscription entry of OPC UA subscription `k` (its index in `subscriptions` is the MQTT count + k). */
export function opcuaSubscriptionEntry(opcua: OpcuaConfig, k: number): SubscriptionConfig {
  const sub = opcua.subscriptions[k];
  if (sub === undefined) throw new Error(`opcua.subscriptions[${k}] does not exist`);
  return {
    topic: `${OPCUA_TOPIC_PREFIX}${k}`,
    stream: sub.stream,
    // Never decoded: the OPC UA source delivers samples, not payloads. Any decoder without a channel-count rule.
    decoder: 'json',
    timestamp: { source: 'payload', field: 'ts', unit: 'ms', max_future_skew_ms: 10_000, max_age_ms: 604_800_000 },
    model: sub.model,
    channels: sub.items.map((item) => item.channel),
    new_streams_per_minute: 0,
    ...(sub.window !== undefined ? { window: sub.window } : {}),
    ...(sub.training !== undefined ? { training: sub.training } : {}),
    ...(sub.calibration !== undefined ? { calibration: sub.calibration } : {}),
    ...(sub.alerting !== undefined ? { alerting: sub.alerting } : {}),
    ...(sub.retrain !== undefined ? { retrain: sub.retrain } : {}),
  };
}

/** `subscriptions` with the entries of `opcua` (none when absent) in place of any it had. */
export function withOpcuaEntries(subscriptions: readonly SubscriptionConfig[], opcua: OpcuaConfig | undefined): SubscriptionConfig[] {
  const mqtt = subscriptions.slice(0, mqttSubscriptionCount({ subscriptions }));
  if (opcua === undefined) return mqtt;
  return [...mqtt, ...opcua.subscriptions.map((_, k) => opcuaSubscriptionEntry(opcua, k))];
}

/**
 * Maps a problem's path in an appended entry to its OPC UA subscription (`subscriptions[5].window.size` ->
 * `opcua.subscriptions[1].window.size`; `.channels` -> `.items`, where the channels come from); other paths stay.
 */
export function opcuaProblemPath(mqttCount: number): (path: ConfigPath) => ConfigPath {
  return (path) => {
    const [head, index, field, ...rest] = path;
    if (head !== 'subscriptions' || typeof index !== 'number' || index < mqttCount) return path;
    const tail: Segment[] = field === undefined ? [] : field === 'channels' ? ['items', ...rest] : [field, ...rest];
    return ['opcua', 'subscriptions', index - mqttCount, ...tail];
  };
}

/** The text path of subscription `i` for messages (`subscriptions[2]` or `opcua.subscriptions[0]`). */
export function subscriptionPathText(config: Pick<Config, 'subscriptions'>, i: number): string {
  const mqtt = mqttSubscriptionCount(config);
  return i < mqtt ? `subscriptions[${i}]` : `opcua.subscriptions[${i - mqtt}]`;
}
