import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { modelsLoadedCheck, mqttConnectedCheck, runChecks } from '../../../src/telemetry/readiness';
import { StatusModel } from '../../../src/telemetry/status';
import { notice } from './fixtures';

test('score history keeps the latest points in order, capped per stream', () => {
  const s = new StatusModel(new ManualClock(0), { pointsPerStream: 4 });
  for (let i = 1; i <= 10; i++) s.recordScore('a', 'pump', i, 5, i > 5);
  const v = s.snapshot().streams[0];
  assert.deepEqual(v.history, [7, 8, 9, 10]);
  assert.equal(v.score, 10);
  assert.equal(v.threshold, 5);
  assert.equal(v.state, 'anomalous');
});

test('streams beyond maxStreams are not tracked and the cap is reported', () => {
  const s = new StatusModel(new ManualClock(0), { maxStreams: 2 });
  for (const name of ['a', 'b', 'c']) s.recordScore(name, 'pump', 1, 2, false);
  s.recordInsufficient('d', 0.3);
  const snap = s.snapshot();
  assert.deepEqual(snap.streams.map((v) => v.stream), ['a', 'b']);
  assert.equal(snap.streamsCapped, true);
});

test('active alerts follow firing and resolved notices; the cap is counted, not forgotten', () => {
  const s = new StatusModel(new ManualClock(0), { maxAlerts: 1 });
  s.recordAlert(notice({ fingerprint: 'x' }));
  s.recordAlert(notice({ fingerprint: 'x', score: 2 })); // an update of the same alert
  s.recordAlert(notice({ fingerprint: 'y' }));
  assert.equal(s.firingCount(), 2);
  assert.equal(s.snapshot().alerts[0].score, 2);
  assert.equal(s.snapshot().alertsNotShown, 1);
  s.recordAlert(notice({ fingerprint: 'y', status: 'resolved' }));
  s.recordAlert(notice({ fingerprint: 'x', status: 'resolved' }));
  assert.equal(s.firingCount(), 0);
  assert.equal(s.snapshot().alerts.length, 0);
});

test('message rate is averaged over the last minute (or the uptime when shorter)', () => {
  const clock = new ManualClock(1_000_000);
  const s = new StatusModel(clock);
  for (let sec = 0; sec < 10; sec++) {
    for (let i = 0; i < 50; i++) s.recordMessage();
    clock.advance(1000);
  }
  assert.equal(s.snapshot().messagesPerSecond, 50);
  clock.advance(120_000); // silence: old buckets no longer count
  assert.equal(s.snapshot().messagesPerSecond, 0);
  assert.equal(s.snapshot().messagesTotal, 500);
});

test('long topics and details are clipped', () => {
  const s = new StatusModel(new ManualClock(0));
  s.recordRejection('oversize', 't'.repeat(1000), 'd'.repeat(5000));
  const r = s.snapshot().rejections[0];
  assert.equal(r.lastTopic.length, 200);
  assert.equal(r.lastDetail.length, 200);
});

test('readiness: MQTT and model checks say why they fail', async () => {
  const s = new StatusModel(new ManualClock(0));
  const checks = [mqttConnectedCheck(s), modelsLoadedCheck(s, ['pump', 'ecg'])];
  let out = await runChecks(checks, 1000);
  assert.deepEqual(out.map((o) => o.ok), [false, false]);
  assert.match(out[0].detail, /not connected/);
  assert.equal(out[1].detail, "'pump' not loaded yet; 'ecg' not loaded yet");

  s.setMqtt(true, 'mqtt://broker');
  s.recordModel('pump', '1', 'wasm', 'models/pump');
  s.recordModelFailure('ecg', 'models/ecg', 'weights.bin missing');
  out = await runChecks(checks, 1000);
  assert.deepEqual(out.map((o) => o.ok), [true, false]);
  assert.equal(out[1].detail, "'ecg' failed to load: weights.bin missing");

  // A failed reload keeps the loaded model serving: still ready.
  s.recordModel('ecg', '1', 'wasm', 'models/ecg');
  s.recordModelFailure('ecg', 'models/ecg', 'bad manifest');
  out = await runChecks(checks, 1000);
  assert.deepEqual(out.map((o) => o.ok), [true, true]);
  assert.match(s.modelViews()[1].detail, /last reload failed: bad manifest/);
});

test('a check that throws or hangs fails with a reason instead of hanging the probe', async () => {
  const out = await runChecks([
    { name: 'throws', check: () => { throw new Error('db gone'); } },
    { name: 'hangs', check: () => new Promise(() => undefined) },
    { name: 'fine', check: () => Promise.resolve({ ok: true }) },
  ], 50);
  assert.deepEqual(out.map((o) => [o.name, o.ok, o.detail]), [
    ['throws', false, 'check failed: db gone'],
    ['hangs', false, 'check timed out after 50 ms'],
    ['fine', true, 'ok'],
  ]);
});
