// The source registry: each input protocol names the config sections it reads and how a reload treats them,
// builds its source without I/O (refusing a config it cannot route), and applies live settings to a running one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { RELOAD_POLICY } from '../../../src/app/reload';
import { opcuaIndexes } from '../../../src/app/opcuaSource';
import { mqttSourceKind, opcuaSourceKind, SOURCE_KINDS } from '../../../src/app/sourceRegistry';
import { MqttSource } from '../../../src/sources/mqtt';
import { OpcuaSource } from '../../../src/sources/opcua';
import { testContext } from '../../helpers/context';

const BASE = `
mqtt: { url: mqtt://127.0.0.1:1883, client_id: a }
models: { pump: { path: models/pump } }
subscriptions:
  - { topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry", stream: "{line}/{asset}", decoder: json, model: pump, channels: [a, b] }
`;
const load = (text: string): Config => loadConfigText(text, 'test.yaml', {});

test('every section a source kind reads is a top-level config section, classified as the kind says', () => {
  for (const kind of SOURCE_KINDS) {
    for (const [section, how] of Object.entries(kind.reads)) {
      assert.ok(Object.hasOwn(configSchema.properties, section), `${kind.kind} reads ${section}`);
      assert.equal(RELOAD_POLICY.get(section)?.live, how.by !== 'restart', section);
    }
  }
  assert.deepEqual(mqttSourceKind.reads, { mqtt: { by: 'restart' }, subscriptions: { by: 'update' } });
  assert.deepEqual(opcuaSourceKind.reads, { opcua: { by: 'rebuild' } });
  assert.deepEqual(SOURCE_KINDS.map((k) => k.kind), ['mqtt', 'opcua']);
});

test('the MQTT kind builds its source without connecting and refuses subscriptions it cannot route', () => {
  const config = load(BASE);
  assert.ok(mqttSourceKind.configured(config));
  const source = mqttSourceKind.build(config, testContext('source.mqtt').ctx);
  assert.ok(source instanceof MqttSource);
  assert.equal(source.connected, false);
  const [first] = config.subscriptions;
  assert.ok(first);
  const unroutable: Config = { ...config, subscriptions: [{ ...first, stream: '{line}/{pump}' }] };
  assert.throws(() => mqttSourceKind.build(unroutable, testContext('source.mqtt').ctx), /subscription 0/);
});

test('a reload updates the subscriptions of the running source', async () => {
  const source = mqttSourceKind.build(load(BASE), testContext('source.mqtt').ctx);
  const next = load(BASE.replace('plant/+/+/telemetry, template: "plant/', 'site/+/+/telemetry, template: "site/'));
  assert.deepEqual(await mqttSourceKind.update(source, next), { added: ['site/+/+/telemetry'], removed: ['plant/+/+/telemetry'] });
});

test("the OPC UA kind: configured only with an opcua section, built without connecting, and a reload's update takes the moved indexes", async () => {
  const opcua = `opcua:
  endpoint_url: opc.tcp://127.0.0.1:4840
  subscriptions:
    - stream: plc/line1/pump9
      model: pump
      items: [{ node_id: "ns=1;s=Pump9.a", channel: a }, { node_id: "ns=1;s=Pump9.b", channel: b }]
`;
  assert.equal(opcuaSourceKind.configured(load(BASE)), false);
  const config = load(BASE + opcua);
  assert.ok(opcuaSourceKind.configured(config));
  const source = opcuaSourceKind.build(config, testContext('source.opcua').ctx);
  assert.ok(source instanceof OpcuaSource);
  assert.equal(source.connected, false, 'no I/O at build');
  // Its stream's entry follows the MQTT subscriptions: one more of those moves it, in place.
  const more = load(BASE.replace('subscriptions:\n', 'subscriptions:\n  - { topic: x/+/t, template: "x/{asset}/t", stream: "x/{asset}", decoder: json, model: pump, channels: [a] }\n') + opcua);
  assert.equal(more.subscriptions.at(-1)?.stream, 'plc/line1/pump9');
  assert.deepEqual([opcuaIndexes(config), opcuaIndexes(more)], [[1], [2]]);
  // Delivery under the new index is proven with a real server in opcuaSource.test.ts (a reload's take-over).
  await opcuaSourceKind.update(source, more);
  assert.throws(() => opcuaSourceKind.update(source, load(BASE)), /1 subscriptions, not 0/, 'a section whose subscriptions changed is a rebuild, not an update');
});
