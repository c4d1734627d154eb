// Sane sample time (issue 13, item 2) against a real Mosquitto, a real InfluxDB and `anomalyd run`: one sample
// dated now + 23 h used to hold the stream's clock a day ahead and drop every real sample after it as
// out_of_order; a sample dated 1970 was accepted and written. Now both are rejected and counted, the real-time
// samples after them are scored, and nothing future-dated reaches InfluxDB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { faultSuite, metricValue, pollUntil, sleep, topicOf } from '../helpers/faults';

const H = 3_600_000;
const suite = faultSuite('sampletime', { influx: true, receiver: true });

test('a sample at now + 23 h and one dated 1970 are rejected and counted; the 30 real-time samples after them are scored', async () => {
  const { influx } = suite;
  const daemon = await suite.daemon('sampletime', {
    sinks: `  influx: { url: ${influx.url}/anomalyd, batch_size: 100, flush_interval_ms: 200 }`,
  });
  await daemon.ready();
  const pub = await suite.publisher('sampletime-publisher');
  const topic = topicOf('pump1');

  // Thirty samples 1 s apart whose last one is now: one full window (size 30) of real time.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const real = pumpSamples(1, now - 29_000, 30);
  await pub.publish(topic, pumpPayload({ ts: now + 23 * H, values: real[0].values }), 1);
  for (const s of real) await pub.publish(topic, pumpPayload(s), 1);
  await pub.publish(topic, pumpPayload({ ts: 1000, values: real[0].values }), 1);

  const text = await pollUntil(
    'the real-time window scored and both wrong times rejected',
    () => daemon.metricsText(),
    (t) => metricValue(t, 'anomalyd_windows_scored_total') >= 1 && metricValue(t, 'anomalyd_messages_rejected_total', { reason: 'too_old' }) >= 1,
    30_000,
  );
  assert.equal(metricValue(text, 'anomalyd_messages_rejected_total', { reason: 'future_timestamp' }), 1);
  assert.equal(metricValue(text, 'anomalyd_messages_rejected_total', { reason: 'too_old' }), 1);
  assert.equal(metricValue(text, 'anomalyd_messages_rejected_total', { reason: 'out_of_order' }), 0, 'no real sample dropped behind the future one');
  assert.equal(metricValue(text, 'anomalyd_samples_total'), 30, 'every real sample accepted, no wrong one');
  assert.match(daemon.log, /future_timestamp.*ms \(23\.0 h\) ahead of arrival/, 'the log names the reason and the offset');

  // The window's score point in InfluxDB, and nothing dated after the newest real sample (nor before 2000).
  const points = await pollUntil(
    'the score point in InfluxDB',
    async () => (await influx.query('SELECT * FROM anomaly_score', 'anomalyd'))[0]?.values ?? [],
    (v) => v.length >= 1,
  );
  const times = points.map((row) => Number(row[0]));
  assert.ok(times.every((t) => t <= now && t > now - H), `score times within the real samples: ${times.join(', ')}`);
  const future = await influx.query(`SELECT * FROM anomaly_score WHERE time > ${now + 60_000}ms`, 'anomalyd');
  assert.deepEqual(future, [], 'no future-dated point');
});

test('a stream whose clock is an hour ahead pages TimestampsRejected once (not IngestionStalled), resolved after a run of right times', async () => {
  const { receiver } = suite;
  const daemon = await suite.daemon('clockahead', {
    alerting: 'k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 2000',
    sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url} }`,
  });
  await daemon.ready();
  const pub = await suite.publisher('clockahead-publisher');
  const topic = topicOf('pump2');
  const [template] = pumpSamples(2, 0, 1);
  const pages = (): typeof receiver.requests => receiver.requests.filter((r) => r.body.alerts.some((a) => a.labels.asset === 'pump2'));

  // A sample every 200 ms from a clock an hour ahead, until the page arrives (the silence is 2 s).
  const deadline = Date.now() + 30_000;
  while (!pages().some((r) => r.body.status === 'firing') && Date.now() < deadline) {
    await pub.publish(topic, pumpPayload({ ts: Date.now() + H, values: template.values }), 1);
    await sleep(200);
  }
  const [firing] = pages();
  assert.ok(firing, `a page within 30 s:\n${daemon.log.slice(-3000)}`);
  assert.equal(firing.body.alerts[0].labels.alertname, 'TimestampsRejected');
  assert.match(firing.raw, /future_timestamp: field 'ts' is 3[56]\d{5} ms \((60\.0 min|1\.0 h)\) ahead of arrival/, 'the page names the reason and the offset');

  // Nine right samples are not yet a run; the tenth resolves it.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const right = pumpSamples(2, now - 9_000, 10);
  for (const s of right.slice(0, 9)) await pub.publish(topic, pumpPayload(s), 1);
  await pollUntil('the nine samples taken', () => daemon.metric('anomalyd_samples_total'), (n) => n >= 9);
  // Taken, gone through the pipeline and anything it caused delivered: a resolve would be at the receiver now.
  await daemon.drained();
  assert.equal(pages().filter((r) => r.body.status === 'resolved').length, 0, 'not resolved by fewer than 10 right samples');
  await pub.publish(topic, pumpPayload(right[9]), 1);
  await pollUntil('the resolve', () => Promise.resolve(pages()), (p) => p.some((r) => r.body.status === 'resolved'));

  const names = pages().map((r) => `${r.body.status}:${r.body.alerts[0].labels.alertname}`);
  assert.deepEqual(names, ['firing:TimestampsRejected', 'resolved:TimestampsRejected'], 'one page, one resolve, no IngestionStalled');
});
