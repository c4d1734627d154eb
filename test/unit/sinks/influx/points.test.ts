// The InfluxDB schema as records, the spool encoding of a record, and the pure helpers of the writer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertRecord, decodeRecord, denoisedRecords, encodeRecord, expectedRecord, healthRecord, scoreRecord } from '../../../../src/sinks/influx/points';
import { backoffDelay } from '../../../../src/sinks/influx/retry';
import { rejectedCount, resolveTarget } from '../../../../src/sinks/influx/writer';
import { notice as alertNotice } from '../../../helpers/notices';

const notice = alertNotice({
  fingerprint: 'fp-1', severity: 'critical', score: 0.8, threshold: 0.2, pValue: 1e-7,
  topChannels: [{ channel: 'vib_x', share: 0.614 }, { channel: 'current', share: 0.2249 }], sequence: 42, labels: { line: 'line1' },
});

test('score point: tags stream and model, one share_<channel> field per channel, time = window end', () => {
  const r = scoreRecord({
    stream: 'line1/pump1',
    model: 'pump',
    time: 1_700_000_000_123.4,
    score: 0.5,
    threshold: 0.3,
    pValue: 0.01,
    anomalous: true,
    completeness: 0.95,
    channelShares: { vib_x: 0.7, current: 0.3 },
  });
  assert.deepEqual(r, {
    measurement: 'anomaly_score',
    tags: { stream: 'line1/pump1', model: 'pump' },
    fields: { score: 0.5, threshold: 0.3, p_value: 0.01, anomalous: true, completeness: 0.95, share_vib_x: 0.7, share_current: 0.3 },
    time: 1_700_000_000_123,
  });
});

test('non-finite numbers are left out of a point (line protocol cannot carry them)', () => {
  const r = scoreRecord({ stream: 's', model: 'm', time: 1, score: NaN, threshold: Infinity, pValue: 0, anomalous: false, completeness: 1, channelShares: {} });
  assert.deepEqual(Object.keys(r.fields).sort(), ['anomalous', 'completeness', 'p_value']);
  assert.equal(healthRecord({ time: 1, fields: { a: NaN } }), null);
  assert.deepEqual(healthRecord({ time: 5, fields: { queue_depth: 3, rate: -Infinity } }), { measurement: 'anomalyd_health', tags: {}, fields: { queue_depth: 3 }, time: 5 });
});

test('alert point: tags stream, model, severity; top_channels as text; firing at start, resolved at end', () => {
  const firing = alertRecord(notice);
  assert.deepEqual(firing, {
    measurement: 'anomaly_alert',
    tags: { stream: 'line1/pump1', model: 'pump', severity: 'critical' },
    fields: { state: 'firing', score: 0.8, top_channels: 'vib_x:0.61,current:0.22', fingerprint: 'fp-1', sequence: 42, kind: 'anomaly' },
    time: notice.startsAt,
  });
  const resolved = alertRecord({ ...notice, status: 'resolved', endsAt: notice.startsAt + 60_000, sequence: 43 });
  assert.equal(resolved.time, notice.startsAt + 60_000);
  assert.equal(resolved.fields.state, 'resolved');
});

test('alert point: the top channels\' readings as text and as observed_/expected_<channel> numbers', () => {
  const r = alertRecord({
    ...notice,
    topChannels: [
      { channel: 'vib_x', share: 0.614, reading: { observed: 2.91, expected: 1.32, trainingMin: 0.739, trainingMax: 2.18 } },
      // A reading restored from a state file where JSON turned an unknown bound into null, and no reading at all.
      { channel: 'current', share: 0.2249, reading: { observed: 31.5, expected: 30, trainingMin: null as unknown as number, trainingMax: NaN } },
      { channel: 'flow', share: 0.1 },
    ],
  });
  assert.deepEqual(r.fields, {
    state: 'firing',
    score: 0.8,
    top_channels: 'vib_x:0.61,current:0.22,flow:0.10',
    fingerprint: 'fp-1',
    sequence: 42,
    kind: 'anomaly',
    readings: 'vib_x read 2.91, expected 1.32 (training 0.739 to 2.18); current read 31.5, expected 30',
    observed_vib_x: 2.91,
    expected_vib_x: 1.32,
    observed_current: 31.5,
    expected_current: 30,
  });
});

test('spool encoding round-trips and refuses what is not a point', () => {
  const r = alertRecord(notice);
  assert.deepEqual(decodeRecord(encodeRecord(r)), r);
  for (const bad of ['', '{', 'null', '[]', '{"m":"x","t":{},"f":{},"ts":1}', '{"m":"x","t":{"a":1},"f":{"v":1},"ts":1}', '{"m":"x","t":{},"f":{"v":1},"ts":1.5}']) {
    assert.equal(decodeRecord(Buffer.from(bad)), null, bad);
  }
});

test('rejectedCount reads InfluxDB 1.x partial-write answers', () => {
  const conflict =
    'A 400 Bad Request error occurred: {"error":"partial write: field type conflict: input field \\"share_odd\\" on measurement \\"anomaly_score\\" is type float, already exists as type string dropped=1"}';
  assert.equal(rejectedCount(conflict), 1);
  assert.equal(rejectedCount('{"error":"partial write: points beyond retention policy dropped=17"}'), 17);
  assert.equal(rejectedCount("{\"error\":\"partial write: unable to parse 'a b': bad\\nunable to parse 'c d': bad dropped=0\"}"), 2);
  assert.equal(rejectedCount('{"error":"timeout"}'), null);
});

test('resolveTarget: database from the path or the option, credentials never in the display form', () => {
  const t = resolveTarget('http://u:p%40ss@127.0.0.1:8086/anomalyd');
  assert.deepEqual(
    { ...t },
    { protocol: 'http', host: '127.0.0.1', port: 8086, path: '', database: 'anomalyd', username: 'u', password: 'p@ss', display: 'http://127.0.0.1:8086/anomalyd' },
  );
  const proxied = resolveTarget('https://metrics.example/influx/plant', undefined, 'svc', 'secret');
  assert.equal(proxied.path, '/influx');
  assert.equal(proxied.database, 'plant');
  assert.equal(proxied.port, 443);
  assert.equal(proxied.password, 'secret');
  assert.equal(resolveTarget('http://h:1/prefix', 'db').path, '/prefix');
  assert.throws(() => resolveTarget('http://h:8086/'), /database is not set/);
  assert.throws(() => resolveTarget('ftp://h/db'), /http/);
  assert.ok(!resolveTarget('http://u:hunter2@h:1/db').display.includes('hunter2'));
});

test('backoff: doubles from the minimum, capped, with jitter between half and all of it', () => {
  assert.equal(backoffDelay(1, 100, 1000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 1000, () => 1), 400);
  assert.equal(backoffDelay(10, 100, 1000, () => 1), 1000);
  assert.equal(backoffDelay(10, 100, 1000, () => 0), 500);
  assert.equal(backoffDelay(1e6, 100, 1000, () => 0.5), 750);
});

test('expected point: anomaly_expected with the score tags and time, expected_/observed_/tolerance_<channel>; denoised: a point per sample', () => {
  const p = {
    stream: 'line1/pump1', model: 'pump', modelVersion: 'v2', time: 2000.4, score: 0.01, threshold: 0.02, pValue: 0.5, anomalous: false, completeness: 1,
    channelShares: { a: 0.5, b: 0.5 }, expected: { a: 61.4, b: NaN }, observed: { a: 62, b: 1 }, tolerance: { a: 3, b: 0.2 },
    denoised: [{ time: 1000, values: { a: 60, b: 1 } }, { time: 2000, values: { a: 61.4, b: NaN } }],
  };
  const r = expectedRecord(p);
  assert.deepEqual(r, {
    measurement: 'anomaly_expected',
    tags: { stream: 'line1/pump1', model: 'pump', model_version: 'v2' },
    fields: { expected_a: 61.4, observed_a: 62, observed_b: 1, tolerance_a: 3, tolerance_b: 0.2 },
    time: 2000,
  });
  assert.deepEqual(decodeRecord(encodeRecord(r)), r, 'the spool carries it as it is');
  assert.deepEqual(denoisedRecords(p).map((d) => [d.measurement, d.time, d.fields]), [['anomaly_denoised', 1000, { a: 60, b: 1 }], ['anomaly_denoised', 2000, { a: 61.4 }]]);
  const plain = { ...p, expected: undefined, denoised: undefined };
  assert.equal(expectedRecord(plain), null);
  assert.deepEqual(denoisedRecords(plain), []);
});
