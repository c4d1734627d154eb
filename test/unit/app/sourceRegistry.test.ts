// The source registry: each input protocol names the config sections it reads and how a reload treats them,
// builds its source without I/O (refusing a config it cannot route), and applies live settings to a running one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { RELOAD_POLICY } from '../../../src/app/reload';
import { mqttSourceKind, SOURCE_KINDS } from '../../../src/app/sourceRegistry';
import { MqttSource } from '../../../src/sources/mqtt';
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
