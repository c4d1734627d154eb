import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import { modelsLoadedCheck, mqttConnectedCheck, runChecks } from '../../../src/telemetry/readiness';
import { StatusModel, type StreamFillSource } from '../../../src/telemetry/status';
import { notice } from '../../helpers/notices';

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

test('a stream forgotten (removed by a reload) leaves the snapshot; the others keep their history', () => {
  const s = new StatusModel(new ManualClock(0));
  for (const name of ['a', 'b']) s.recordScore(name, 'pump', 1, 2, false);
  s.forgetStream('a');
  const snap = s.snapshot();
  assert.deepEqual(snap.streams.map((v) => v.stream), ['b']);
  assert.deepEqual(snap.streams[0].history, [1]);
  s.forgetStream('never-seen');
  assert.equal(s.snapshot().streams.length, 1);
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

function fill(stream: string, over: Partial<StreamFillSource> = {}): StreamFillSource {
  return { stream, model: 'pump', lastSampleAt: 10_000, buffered: 10, size: 30, stepsUntilWindow: 20, samplePeriodMs: 500, modelReady: true, ...over };
}

test('streams appear from their first sample with their window fill; scored streams carry none', () => {
  const s = new StatusModel(new ManualClock(10_000));
  s.recordScore('scored', 'pump', 1, 2, false);
  s.provideStreamFill(() => [fill('scored', { buffered: 30, stepsUntilWindow: 5 }), fill('new'), fill('adopted', { lastSampleAt: 0, buffered: 0, stepsUntilWindow: 30 })]);
  const views = new Map(s.snapshot().streams.map((v) => [v.stream, v]));
  assert.equal(views.get('scored')?.fill, null);
  assert.equal(views.get('scored')?.state, 'normal');
  assert.equal(views.get('new')?.state, 'filling');
  assert.deepEqual(views.get('new')?.fill, { buffered: 10, size: 30, nextWindowAt: 10_000 + 20 * 500, lastSampleAt: 10_000, modelReady: true });
  assert.deepEqual(views.get('adopted')?.fill, { buffered: 0, size: 30, nextWindowAt: null, lastSampleAt: null, modelReady: true });
});

test('a scored stream whose window restarted (a long gap) or whose model is not ready shows its fill again', () => {
  const s = new StatusModel(new ManualClock(0));
  s.recordScore('gap', 'pump', 1, 2, false);
  s.recordScore('learning', 'pump', 1, 2, false);
  s.provideStreamFill(() => [fill('gap', { buffered: 3 }), fill('learning', { buffered: 30, modelReady: false })]);
  const views = new Map(s.snapshot().streams.map((v) => [v.stream, v]));
  assert.equal(views.get('gap')?.fill?.buffered, 3);
  assert.equal(views.get('learning')?.fill?.modelReady, false);
});

test('filling streams count against the stream cap of the page', () => {
  const s = new StatusModel(new ManualClock(0), { maxStreams: 2 });
  s.recordScore('a', 'pump', 1, 2, false);
  s.provideStreamFill(() => [fill('b'), fill('c')]);
  const snap = s.snapshot();
  assert.deepEqual(snap.streams.map((v) => v.stream), ['a', 'b']);
  assert.equal(snap.streamsCapped, true);
});

test('alert notices and scored windows feed the episode history in the snapshot', () => {
  const s = new StatusModel(new ManualClock(0));
  s.recordAlert(notice({ startsAt: 5, score: 0.9 }));
  s.recordScore('line1/pump1', 'pump', 1.7, 0.5, true);
  s.recordAlert(notice({ status: 'resolved', startsAt: 5, endsAt: 50 }));
  const [e] = s.snapshot().episodes;
  assert.deepEqual([e.startsAt, e.endsAt, e.peakScore], [5, 50, 1.7]);
  assert.equal(s.snapshot().alerts.length, 0, 'no longer active, still in the history');
});

test('a stream with modes shows its mode (null while unknown) on the page and in /api/v1/streams; one without has none', async () => {
  const { streamsJson } = await import('../../../src/telemetry/statusApi');
  const { renderStatusPage } = await import('../../../src/telemetry/statusPage');
  const s = new StatusModel(new ManualClock(10_000));
  s.recordScore('moded', 'pump_high', 1, 2, false);
  s.provideStreamFill(() => [fill('moded', { buffered: 30, mode: 'high' }), fill('plain'), fill('waiting', { mode: null }), fill('stopped', { buffered: 0, mode: 'off' })]);
  const json = new Map(streamsJson(s.snapshot()).streams.map((v) => [v.stream, v]));
  assert.equal(json.get('moded')?.mode, 'high');
  assert.equal(json.get('waiting')?.mode, null);
  assert.equal('mode' in (json.get('plain') ?? {}), false);
  const html = renderStatusPage(s.snapshot());
  assert.match(html, /<th>Mode<\/th>/);
  assert.match(html, /<td>moded<\/td><td>pump_high<\/td><td><span class="">high<\/span><\/td>/);
  assert.match(html, /<td>waiting<\/td><td>pump<\/td><td><span class="muted">unknown<\/span><\/td>/);
  const plainOnly = new StatusModel(new ManualClock(10_000));
  plainOnly.provideStreamFill(() => [fill('plain')]);
  assert.doesNotMatch(renderStatusPage(plainOnly.snapshot()), /<th>Mode<\/th>/, 'no stream with modes: no Mode column');
  assert.match(html, /<td>stopped<\/td><td>pump<\/td><td><span class="muted">off<\/span><\/td>.*?<td class="muted">stopped \(mode off\)<\/td><td class="n">–<\/td><\/tr>/, 'a stopped machine waits for no window');
});
