// Alert periods from the daemon's anomaly_alert points, and the checks on what InfluxDB answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertPeriods, maintenancePeriods, type AlertPoint, type MaintenancePoint } from '../../../src/offline/influxHistory';
import { influxIdentifier, influxString, parseResults } from '../../../src/sinks/influx/query';

const p = (time: number, state: AlertPoint['state'], fingerprint = 'a'): AlertPoint => ({ time, state, fingerprint });

test('alert periods pair firing with the next resolve, per alert, started earlier by the lead', () => {
  assert.deepEqual(alertPeriods([p(100, 'firing'), p(200, 'resolved'), p(500, 'firing'), p(600, 'resolved')], 10), [
    { fingerprint: 'a', from: 90, to: 200 },
    { fingerprint: 'a', from: 490, to: 600 },
  ]);
  // An escalation (a second firing point) does not restart the period; a period still open at the end stays open.
  assert.deepEqual(alertPeriods([p(100, 'firing'), p(150, 'firing'), p(200, 'resolved'), p(300, 'firing')], 0), [
    { fingerprint: 'a', from: 100, to: 200 },
    { fingerprint: 'a', from: 300, to: Infinity },
  ]);
  // Two alerts of one stream (anomaly, insufficient data) overlap independently; order of points does not matter.
  assert.deepEqual(alertPeriods([p(400, 'resolved', 'b'), p(100, 'firing', 'a'), p(200, 'firing', 'b'), p(300, 'resolved', 'a')], 0), [
    { fingerprint: 'a', from: 100, to: 300 },
    { fingerprint: 'b', from: 200, to: 400 },
  ]);
  // A resolve whose firing point is missing says nothing about where the alert began: ignored.
  assert.deepEqual(alertPeriods([p(100, 'resolved')], 0), []);
  // A firing and a resolve at the same millisecond still form a period.
  assert.deepEqual(alertPeriods([p(100, 'resolved'), p(100, 'firing')], 0), [{ fingerprint: 'a', from: 100, to: 100 }]);
});

test('query results are checked before use', () => {
  const series = { name: 'pumps', tags: { asset: 'p1' }, columns: ['time', 'x'], values: [[1, 2], [2, null]] };
  assert.deepEqual(parseResults({ results: [{ statement_id: 0, series: [series] }] }), [series]);
  assert.deepEqual(parseResults({ results: [{ statement_id: 0 }] }), []);
  assert.throws(() => parseResults({ results: [{ error: 'database not found: x' }] }), /InfluxDB: database not found: x/);
  assert.throws(() => parseResults({ error: 'authorization failed' }), /authorization failed/);
  assert.throws(() => parseResults('<html>'), /not a query result/);
  assert.throws(() => parseResults({ results: [{ series: [{ columns: [1] }] }] }), /malformed series #0/);
  assert.throws(() => parseResults({ results: [{ series: [{ columns: ['time'], values: [5] }] }] }), /malformed rows/);
});

test('InfluxQL literals escape quotes and backslashes', () => {
  assert.equal(influxString("line1/o'brien\\x"), "'line1/o\\'brien\\\\x'");
  assert.equal(influxIdentifier('my "db"'), '"my \\"db\\""');
});

test('maintenance periods: opening to closing (or to the planned end when no closing came) of the windows covering the stream', () => {
  const points: MaintenancePoint[] = [
    { window: 'swap', time: 1000, state: 'open', streams: ['line1/*'], end: 5000 },
    { window: 'swap', time: 3000, state: 'closed', streams: ['line1/*'] },
    { window: 'other-line', time: 1000, state: 'open', streams: ['line2/*'], end: 9000 },
    { window: 'cleaning', time: 6000, state: 'open', streams: ['**'], end: 8000 },
    { window: 'cleaning', time: 10_000, state: 'open', streams: ['**'], end: 12_000 },
    { window: 'cleaning', time: 11_000, state: 'closed', streams: ['**'] },
    { window: 'left-open', time: 20_000, state: 'open', streams: ['line1/pump1'], end: 25_000 },
  ];
  assert.deepEqual(maintenancePeriods(points, 'line1/pump1'), [
    { fingerprint: 'maintenance:swap', from: 1000, to: 3000 },
    { fingerprint: 'maintenance:cleaning', from: 6000, to: 8000 },
    { fingerprint: 'maintenance:cleaning', from: 10_000, to: 11_000 },
    { fingerprint: 'maintenance:left-open', from: 20_000, to: 25_000 },
  ]);
  assert.deepEqual(maintenancePeriods(points, 'line3/pump1').map((p) => p.fingerprint), ['maintenance:cleaning', 'maintenance:cleaning']);
});
