// The source registry: one entry per input protocol, giving the config sections it reads and what a reload may
// change in each, a factory from config to a Source (source.ts builds the MQTT one), and how a running
// instance takes the live settings of a reloaded config. reloadPolicy (reloadPolicy.ts) reads what is live from
// it. OPC UA is the second entry (its own `opcua` section, replaced on any change of it); Sparkplug B is not an
// entry but a decoder of the MQTT source (`decoder: sparkplug_b`), on the same connection and subscriptions.
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import type { MqttSource } from '../sources/mqtt';
import type { Source } from '../sources/source';
import type { ReloadableKind } from './reloadPolicy';
import type { OpcuaSource } from '../sources/opcua';
import { buildOpcuaSource, opcuaIndexes } from './opcuaSource';
import { buildMqttSource, mqttModeTopics, mqttSubscriptions, type BrokerSession } from './source';

export interface SourceKind<S extends Source> extends ReloadableKind {
  /** Protocol name, and the context id `source.<kind>` of its instance. */
  readonly kind: string;
  /** Whether the config asks for this input. */
  configured(config: Config): boolean;
  /**
   * No I/O: throws when the config cannot be turned into a source (a topic template that does not compile),
   * so a reload checks a new config with it before applying anything.
   */
  build(config: Config, ctx: ComponentContext, session?: BrokerSession): S;
  /** Applies a reloaded config's live (`update`) settings to the running instance; resolves once applied. */
  update(source: S, config: Config): Promise<unknown>;
}

export const mqttSourceKind: SourceKind<MqttSource> = {
  kind: 'mqtt',
  // The connection settings (URL, identity, credentials, TLS, QoS, session) make a broker session: changing them
  // means a new connection, so they wait for a restart. Subscriptions change on the live connection
  // (MqttSource.updateSubscriptions subscribes and unsubscribes the topic filters that differ).
  reads: { mqtt: { by: 'restart' }, subscriptions: { by: 'update' } },
  // MQTT is the daemon's input (its section has defaults, so every config has one).
  configured: () => true,
  build: buildMqttSource,
  update: (source, config) => source.updateSubscriptions(mqttSubscriptions(config), mqttModeTopics(config)),
};

export const opcuaSourceKind: SourceKind<OpcuaSource> = {
  kind: 'opcua',
  // The endpoint, security and identity make the session, and the subscriptions are created on it: a change
  // to any of them replaces the source (the daemon stops the old one, which delivers and commits what it
  // received, then starts one on the new section; opcuaSettingsKey). A change to the MQTT subscriptions before
  // its entries only moves their indexes (update), and models and detection overrides apply downstream.
  reads: { opcua: { by: 'rebuild' } },
  configured: (config) => config.opcua !== undefined,
  build: (config, ctx) => buildOpcuaSource(config, ctx),
  update: (source, config) => {
    source.reindex(opcuaIndexes(config));
    return Promise.resolve();
  },
};

export const SOURCE_KINDS: readonly SourceKind<Source>[] = [mqttSourceKind, opcuaSourceKind];
