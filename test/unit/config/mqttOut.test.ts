// sinks.mqtt_out in the config: `{}` is enough (defaults under anomalyd/), and validate refuses topic templates
// that would publish two streams (or two alert kinds) to one topic, or that a broker would refuse.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { problemsOf } from './helpers';

test('mqtt_out: {} publishes under anomalyd/ with the defaults; absent, nothing is published', () => {
  const c = loadConfigText('sinks:\n  mqtt_out: {}\n', 'test.yaml', {});
  assert.deepEqual(c.sinks.mqtt_out, {
    topics: { score: 'anomalyd/{stream}/score', alert: 'anomalyd/{stream}/alert/{kind}', status: 'anomalyd/_status/{client_id}' },
    max_outbox_notices: 10_000,
    home_assistant: { enabled: false, discovery_prefix: 'homeassistant' },
  });
  assert.equal(loadConfigText('sinks: {}\n', 'test.yaml', {}).sinks.mqtt_out, undefined);
});

test('mqtt_out: validate refuses topic templates without their placeholders, with wildcards, or under $', () => {
  const topics = (t: string): string[] => problemsOf(`sinks:\n  mqtt_out: { topics: { ${t} } }\n`);
  assert.deepEqual(topics('score: plant/anomalyd/score'), [
    'sinks.mqtt_out.topics.score: must contain {stream}, so each stream has a topic of its own (got "plant/anomalyd/score")',
  ]);
  assert.deepEqual(topics('alert: "plant/{stream}/alert"'), [
    'sinks.mqtt_out.topics.alert: must contain {kind}, so each stream and alert kind has a topic of its own (got "plant/{stream}/alert")',
  ]);
  assert.deepEqual(topics('score: "plant/+/{stream}"'), ['sinks.mqtt_out.topics.score: must not contain the MQTT wildcards "+" or "#" (got "plant/+/{stream}")']);
  assert.deepEqual(topics('status: "$SYS/anomalyd"'), ['sinks.mqtt_out.topics.status: must not start with "$" (topics reserved by the broker) (got "$SYS/anomalyd")']);
  assert.deepEqual(topics('score: "uns/{site}/{stream}"'), [
    'sinks.mqtt_out.topics.score: names unknown placeholder(s) {site}; allowed: {stream} (got "uns/{site}/{stream}")',
  ]);
  assert.deepEqual(problemsOf('sinks:\n  mqtt_out: { qos: 2 }\n').length, 1, 'unknown keys are refused');
  const ok = loadConfigText('sinks:\n  mqtt_out: { topics: { score: "enterprise/site1/{stream}/anomaly/score", status: "enterprise/site1/anomalyd" } }\n', 'test.yaml', {});
  assert.equal(ok.sinks.mqtt_out?.topics.score, 'enterprise/site1/{stream}/anomaly/score');
});
