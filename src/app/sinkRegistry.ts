// The sink registry: one entry per configurable sink kind, giving the config section under `sinks` it reads,
// the instances a config asks for (a key each, stable across reloads), a factory from those settings to a Sink,
// and what a reload may change live. planSinks (sinks.ts) walks it in this order, which is also the order the
// pipeline writes to sinks; reloadPolicy (reloadPolicy.ts) reads what is live from it. A new sink kind is one
// entry here plus its schema under `sinks` (a unit test refuses a `sinks` section without an entry).
// The capture sink is not here: it has no config section; the offline commands build it themselves.
import * as path from 'node:path';
import type { AlertmanagerConfig, Config, ConsoleSinkConfig, InfluxConfig, MqttOutConfig, WebhookConfig } from '../config/schema';
import type { ComponentContext } from '../core/context';
import { AlertmanagerSink } from '../sinks/alertmanager';
import { ConsoleSink } from '../sinks/console';
import { InfluxSink } from '../sinks/influx/influxSink';
import { MqttOutSink } from '../sinks/mqttOut';
import { STATUS_OFFLINE } from '../sinks/mqttOutPayloads';
import { MqttOutTopics } from '../sinks/mqttOutTopics';
import { SparkplugNode, sparkplugId, sparkplugTopic } from '../sinks/sparkplugNode';
import type { Sink } from '../sinks/sink';
import { WebhookSink } from '../sinks/webhook';
import { MqttOutClient } from '../sources/mqttOutClient';
import type { LiveSettings, ReloadableKind } from './reloadPolicy';
import { connectionOptions } from './source';

/** What a factory gets besides its own settings. */
export interface SinkEnv {
  /** The sink's own context (id `sink.<key>`). */
  readonly ctx: ComponentContext;
  /** The daemon's state_dir (restart-only): outboxes and spools live under it. */
  readonly stateDir: string;
  /** Where operators reach the daemon (externalUrl in sinks.ts), for links in alerts. */
  readonly externalUrl: string;
  /** Where the console sink writes its lines; stdout unless set. */
  readonly stdout?: (line: string) => void;
}

/** One instance a config asks for: `key` names it across reloads and gives its context id. */
export interface SinkInstance<S> {
  readonly key: string;
  readonly settings: S;
}

export interface SinkKind<S> extends ReloadableKind {
  /** The section under `sinks` it reads. */
  readonly section: keyof Config['sinks'];
  /** `config` for a sink that also reads outside `sinks` (mqtt_out: the broker connection of `mqtt`). */
  instances(sinks: Config['sinks'], config: Config): readonly SinkInstance<S>[];
  build(settings: S, env: SinkEnv): Sink;
}

function sinkKind<S>(kind: Omit<SinkKind<S>, 'reads'> & { readonly live: LiveSettings }): SinkKind<S> {
  const { live, ...rest } = kind;
  return { ...rest, reads: { [`sinks.${kind.section}`]: live } };
}

/**
 * Every sink kind applies all its settings live by being rebuilt: the swap (planSinkSwap in reload.ts) stops
 * the old instance first, so a webhook's outbox and the InfluxDB spool pass to the new one under the same key.
 */
const REBUILT: LiveSettings = { by: 'rebuild' };

export const consoleSinkKind = sinkKind<ConsoleSinkConfig>({
  section: 'console',
  live: REBUILT,
  instances: (s) => (s.console.enabled ? [{ key: 'console', settings: s.console }] : []),
  build: (_settings, env) => new ConsoleSink(env.ctx, env.stdout ? { write: env.stdout } : {}),
});

export const influxSinkKind = sinkKind<InfluxConfig>({
  section: 'influx',
  live: REBUILT,
  instances: (s) => (s.influx ? [{ key: 'influx', settings: s.influx }] : []),
  build: (i, env) =>
    new InfluxSink(env.ctx, {
      url: i.url,
      ...(i.database !== undefined ? { database: i.database } : {}),
      ...(i.username !== undefined ? { username: i.username } : {}),
      ...(i.password !== undefined ? { password: i.password } : {}),
      batchSize: i.batch_size,
      flushIntervalMs: i.flush_interval_ms,
      timeoutMs: i.timeout_ms,
      bufferMaxPoints: i.buffer_max_points,
      spoolDir: path.join(env.stateDir, 'spool', 'influx'),
      spoolMaxBytes: i.spool_max_bytes,
    }),
});

export const webhookSinkKind = sinkKind<WebhookConfig>({
  section: 'webhooks',
  live: REBUILT,
  instances: (s) => s.webhooks.map((w) => ({ key: `webhook.${w.name}`, settings: w })),
  build: (w, env) =>
    new WebhookSink(env.ctx, {
      receiver: w.name,
      url: w.url,
      ...(w.secret !== undefined ? { secret: w.secret } : {}),
      headers: w.headers,
      timeoutMs: w.timeout_ms,
      maxRetries: w.max_retries,
      sendResolved: w.send_resolved,
      stateDir: env.stateDir,
      externalUrl: env.externalUrl,
      ...(w.retry_base_ms !== undefined ? { retryBaseMs: w.retry_base_ms } : {}),
      ...(w.retry_max_delay_ms !== undefined ? { retryMaxDelayMs: w.retry_max_delay_ms } : {}),
      ...(w.max_outbox_notices !== undefined ? { maxOutboxNotices: w.max_outbox_notices } : {}),
    }),
});

export const alertmanagerSinkKind = sinkKind<AlertmanagerConfig>({
  section: 'alertmanager',
  live: REBUILT,
  instances: (s) => (s.alertmanager ? [{ key: 'alertmanager', settings: s.alertmanager }] : []),
  build: (a, env) =>
    new AlertmanagerSink(env.ctx, {
      url: a.url,
      timeoutMs: a.timeout_ms,
      repostIntervalMs: a.repost_interval_ms,
      externalUrl: env.externalUrl,
      retryBaseMs: a.retry_base_ms,
      retryMaxDelayMs: a.retry_max_delay_ms,
    }),
});

/** mqtt_out's settings with the broker connection they publish to (the `mqtt` section, restart-only). */
interface MqttOutSettings {
  readonly out: MqttOutConfig;
  readonly mqtt: Config['mqtt'];
}

export const mqttOutSinkKind = sinkKind<MqttOutSettings>({
  section: 'mqtt_out',
  live: REBUILT,
  // A reload keeps `mqtt` at its running value, so a rebuilt publisher connects where the source does.
  instances: (s, config) => (s.mqtt_out ? [{ key: 'mqtt_out', settings: { out: s.mqtt_out, mqtt: config.mqtt } }] : []),
  build: ({ out, mqtt }, env) => {
    const topics = new MqttOutTopics(out.topics);
    const clientId = out.client_id ?? `${mqtt.client_id}-out`;
    const publisher = new MqttOutClient({
      ...connectionOptions({ mqtt }),
      clientId,
      reconnectMs: mqtt.reconnect.min_delay_ms,
      will: { topic: topics.status(clientId), payload: STATUS_OFFLINE, retain: true },
    });
    const sp = out.sparkplug;
    const spClient = sp ? `${clientId}-spb` : '';
    const sparkplug = sp
      ? (() => {
          const edgeNode = sp.edge_node_id ?? sparkplugId(clientId);
          // The will's payload (NDEATH with bdSeq) is set by the node before the first connection.
          const will = { topic: sparkplugTopic(sp.group_id, 'NDEATH', edgeNode), payload: '', retain: false };
          // Its NCMD topic: a host application's `Node Control/Rebirth` is answered with the births again.
          const commands = sparkplugTopic(sp.group_id, 'NCMD', edgeNode);
          const spPublisher = new MqttOutClient({ ...connectionOptions({ mqtt }), clientId: spClient, reconnectMs: mqtt.reconnect.min_delay_ms, will, commands });
          const node = new SparkplugNode(env.ctx, { publisher: spPublisher, group: sp.group_id, edgeNode, stateDir: env.stateDir });
          return { node, publisher: spPublisher };
        })()
      : undefined;
    return new MqttOutSink(env.ctx, {
      ...(sparkplug ? { sparkplug } : {}),
      publisher,
      topics,
      clientId,
      stateDir: env.stateDir,
      maxOutboxNotices: out.max_outbox_notices,
      externalUrl: env.externalUrl,
      ...(out.home_assistant.enabled ? { homeAssistantPrefix: out.home_assistant.discovery_prefix } : {}),
    });
  },
});

/** In the order sinks are built, started and written to. */
export const SINK_KINDS: readonly SinkKind<unknown>[] = [consoleSinkKind, influxSinkKind, webhookSinkKind, alertmanagerSinkKind, mqttOutSinkKind];
