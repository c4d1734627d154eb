import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthPoint } from '../../../src/app/health';
import { ManualClock } from '../../../src/core/clock';
import { healthRecord } from '../../../src/sinks/influx/points';
import { StatusModel } from '../../../src/telemetry/status';

test('the health point carries ingestion (rate, totals, broker connection) beside the pipeline figures', () => {
  const clock = new ManualClock(1_000_000);
  const status = new StatusModel(clock);
  status.setMqtt(true, 'connected');
  for (let sec = 0; sec < 4; sec++) {
    for (let i = 0; i < 25; i++) status.recordMessage();
    clock.advance(1000);
  }
  status.recordRejection('invalid_json', 'plant/a/b/telemetry', 'Unexpected end');
  status.recordRejection('invalid_json', 'plant/a/b/telemetry', 'Unexpected end');
  status.recordRejection('oversize', 'plant/a/c/telemetry', '2 MB');
  const point = healthPoint(clock.now(), { count: 1, index: '0' }, status.ingestion(), { streams: 7, queueDepth: 3, rssBytes: 1.5e8 });
  assert.deepEqual(point, {
    time: 1_004_000,
    tags: {},
    fields: { streams: 7, queue_depth: 3, rss_bytes: 1.5e8, messages_per_second: 25, messages_total: 100, rejected_total: 3, mqtt_connected: 1 },
  });
  status.setMqtt(false, 'connection refused');
  assert.equal(healthPoint(0, { count: 1, index: '0' }, status.ingestion(), { streams: 0, queueDepth: 0, rssBytes: 0 }).fields['mqtt_connected'], 0);
});

test('under scale-out each replica tags its health points with its shard; one replica writes no tag', () => {
  const ingestion = { messagesTotal: 0, messagesPerSecond: 0, rejectedTotal: 0, mqttConnected: true };
  const pipeline = { streams: 1, queueDepth: 0, rssBytes: 1 };
  assert.deepEqual(healthRecord(healthPoint(5, { count: 3, index: '2' }, ingestion, pipeline))?.tags, { shard: '2' });
  assert.deepEqual(healthRecord(healthPoint(5, { count: 1, index: '0' }, ingestion, pipeline))?.tags, {});
});
