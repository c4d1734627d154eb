// The mqtt_out contract in unit form: topics filled in from the templates (wildcards in a stream id cannot reach
// the broker), the score and alert state payloads, and Home Assistant discovery configs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { discoveryMessages, streamObjectId } from '../../../src/sinks/homeAssistant';
import { alertStatePayload, scorePayload } from '../../../src/sinks/mqttOutPayloads';
import { MqttOutTopics, topicValue } from '../../../src/sinks/mqttOutTopics';

const topics = new MqttOutTopics({ score: 'anomalyd/{stream}/score', alert: 'anomalyd/{stream}/alert/{kind}', status: 'anomalyd/_status/{client_id}' });

test('topics: a stream id keeps its levels; wildcards and NUL become "_"; unknown placeholders stay as written', () => {
  assert.equal(topics.score('line1/pump1'), 'anomalyd/line1/pump1/score');
  assert.equal(topics.alert('line1/pump1', 'ingestion_stalled'), 'anomalyd/line1/pump1/alert/ingestion_stalled');
  assert.equal(topics.status('anomalyd-host1-out'), 'anomalyd/_status/anomalyd-host1-out');
  assert.equal(topics.score('a+b/#c\u0000'), 'anomalyd/a_b/_c_/score');
  assert.equal(topicValue('plain'), 'plain');
  assert.equal(new MqttOutTopics({ score: '{stream}/{other}', alert: '', status: '' }).score('s'), 's/{other}');
});

test('score payload: the window end in both forms, the numbers, shares, and expected values only where computed', () => {
  const base = { stream: 's', model: 'pump', time: Date.UTC(2026, 0, 1), score: 0.2, threshold: 0.5, pValue: 0.3, anomalous: false, completeness: 0.95, channelShares: { a: 1 } };
  assert.deepEqual(scorePayload(base), {
    stream: 's', model: 'pump', model_version: null, time: '2026-01-01T00:00:00.000Z', ts: Date.UTC(2026, 0, 1),
    score: 0.2, threshold: 0.5, p_value: 0.3, anomalous: false, completeness: 0.95, channel_shares: { a: 1 },
  });
  const withExpected = scorePayload({ ...base, modelVersion: '4', expected: { a: 7.5 }, observed: { a: 9 }, tolerance: { a: 1.2 } });
  assert.deepEqual([withExpected.expected, withExpected.observed, withExpected.tolerance], [{ a: 7.5 }, { a: 9 }, { a: 1.2 }]);
  assert.equal(scorePayload({ ...base, modelVersion: '4' }).model_version, '4');
});

test('alert state payload: the webhook alert object plus key, kind and stream; non-anomaly kinds have no score', () => {
  const n: AlertNotice = {
    fingerprint: 'abc', stream: 'line1/pump1', model: 'pump', kind: 'ingestion_stalled', status: 'firing', severity: 'warning',
    startsAt: Date.UTC(2026, 0, 1), endsAt: null, score: 0, threshold: 0.5, pValue: 1, topChannels: [], sequence: 12, labels: { line: 'line1' },
  };
  const p = alertStatePayload(n, 'http://anomalyd.example/');
  assert.equal(p.key, 'abc-12');
  assert.equal(p.kind, 'ingestion_stalled');
  assert.equal(p.stream, 'line1/pump1');
  assert.equal(p.status, 'firing');
  assert.equal(p.score, null);
  assert.equal(p.p_value, null);
  assert.equal(p.sequence, 12);
  assert.equal(p.labels['alertname'], 'IngestionStalled');
  assert.equal(p.labels['line'], 'line1');
  assert.equal(p.generatorURL, 'http://anomalyd.example/?stream=line1%2Fpump1');
  assert.equal(p.startsAt, '2026-01-01T00:00:00.000Z');
  const resolved = alertStatePayload({ ...n, kind: 'anomaly', status: 'resolved', endsAt: Date.UTC(2026, 0, 1, 0, 5), score: 0.1, pValue: 0.4, sequence: 13 }, 'http://x/');
  assert.deepEqual([resolved.key, resolved.status, resolved.endsAt, resolved.score], ['abc-13', 'resolved', '2026-01-01T00:05:00.000Z', 0.1]);
});

test('Home Assistant: a score sensor and an anomaly binary sensor per stream, with ids HA accepts and unique per stream id', () => {
  const msgs = discoveryMessages('homeassistant', 'anomalyd-host1-out', 'line1/pump.1', 'pump', {
    score: 'anomalyd/line1/pump.1/score',
    anomalyAlert: 'anomalyd/line1/pump.1/alert/anomaly',
    status: 'anomalyd/_status/anomalyd-host1-out',
  });
  assert.equal(msgs.length, 2);
  const [sensor, binary] = msgs;
  const id = streamObjectId('line1/pump.1');
  assert.match(id, /^line1_pump_1_[0-9a-f]{8}$/);
  assert.notEqual(streamObjectId('line1_pump_1'), id, 'streams that slug alike keep distinct ids');
  assert.equal(sensor?.topic, `homeassistant/sensor/anomalyd-host1-out/${id}_score/config`);
  assert.equal(binary?.topic, `homeassistant/binary_sensor/anomalyd-host1-out/${id}_anomaly/config`);
  for (const m of msgs) assert.match(m.topic, /^homeassistant\/(sensor|binary_sensor)\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/config$/);
  assert.deepEqual(sensor?.payload, {
    name: 'Anomaly score',
    unique_id: `anomalyd_anomalyd-host1-out_${id}_score`,
    state_topic: 'anomalyd/line1/pump.1/score',
    value_template: '{{ value_json.score }}',
    json_attributes_topic: 'anomalyd/line1/pump.1/score',
    state_class: 'measurement',
    availability_topic: 'anomalyd/_status/anomalyd-host1-out',
    payload_available: 'online',
    payload_not_available: 'offline',
    device: { identifiers: [`anomalyd_anomalyd-host1-out_${id}`], name: 'line1/pump.1', manufacturer: 'anomalyd', model: 'pump' },
    origin: { name: 'anomalyd' },
  });
  assert.equal(binary?.payload['device_class'], 'problem');
  assert.equal(binary?.payload['state_topic'], 'anomalyd/line1/pump.1/alert/anomaly');
  assert.equal(binary?.payload['value_template'], "{{ 'ON' if value_json.status == 'firing' else 'OFF' }}");
});
