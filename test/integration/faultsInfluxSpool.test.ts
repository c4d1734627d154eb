// Fault 2 (issue 5): InfluxDB down for longer than the daemon's memory buffer holds. The disk spool takes the
// rest up to spool_max_bytes; beyond it the documented policy applies (the oldest points are dropped and counted
// in anomalyd_sink_points_dropped_total{reason="spool_full"}), and the count is exact: every point the daemon
// produced is either in InfluxDB or counted as dropped, and the dropped ones are the oldest. Memory stays within
// buffer_max_points throughout: while a spill to the (slow, at its cap) spool runs, the sink holds input back
// instead of growing (sinks/influx/influxSink.ts admission), so the gauge's peak is checked against the configured value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpSamples } from '../../src/simulator/signals';
import { counterValue, faultSuite, metricValue, pollUntil, publishAll, pumpArrayPayload, sleep, topicOf } from '../helpers/faults';

const STREAMS = 20;
const BUFFER_MAX = 200;
const SPOOL_MAX = 128 * 1024;
const T0 = Date.now() - 48 * 3600_000;

const suite = faultSuite('spool', { influx: true });

test('InfluxDB down longer than memory holds: spool up to its cap, the oldest beyond it dropped and counted exactly, memory within its bound', async () => {
  const { influx } = suite;
  // Queues small against the buffer's last quarter (what is inside the pipeline when input stops): see
  // README "What is kept where".
  const d = await suite.daemon(
    'spool',
    {
      decoder: 'json_array',
      // A threshold no window reaches: no alerts, so only score and health points go to InfluxDB.
      sinks: `  influx: { url: ${influx.url}/anomalyd, batch_size: 100, flush_interval_ms: 100, buffer_max_points: ${BUFFER_MAX}, spool_max_bytes: ${SPOOL_MAX} }`,
      extra: 'queues: { capacity: 30 }\nbatching: { max_batch: 16, max_wait_ms: 20 }',
    },
    (yaml) => yaml.replace(/models: \{ pump: \{ path: ([^ ]+) \} \}/, 'models: { pump: { path: $1, threshold: 1000000 } }'),
  );
  await d.ready();
  const pub = await suite.publisher('faults-spool-publisher');
  const TICKS = 200;
  const samples = pumpSamples(41, T0, 30 + 10 * TICKS);
  const topics = Array.from({ length: STREAMS }, (_, k) => topicOf(`pump${k}`));
  let ticks = 0;
  const tick = async (): Promise<void> => {
    const from = ticks === 0 ? 0 : 30 + 10 * (ticks - 1);
    const to = ticks === 0 ? 30 : from + 10;
    await publishAll(pub, topics.map((topic) => ({ topic, payload: pumpArrayPayload(samples.slice(from, to)) })));
    ticks++;
  };
  const influxPoints = async (): Promise<number> => {
    const rows = await influx.query('SELECT count(score) FROM anomaly_score', 'anomalyd').catch(() => []);
    return Number(rows[0]?.values?.[0]?.[1] ?? 0);
  };

  // Before: points flow and at least one health point is written (the daemon writes one every 10 s).
  for (let i = 0; i < 5; i++) await tick();
  await pollUntil('the first points in InfluxDB', influxPoints, (n) => n === 5 * STREAMS, 20_000);
  // The outage starts just after a health point is written, so none is: a write influxd receives while it shuts
  // down can be kept although its request fails (tried: about 1 in 20 single-point writes sent during a
  // SIGTERM). The daemon cannot tell that from a lost write, keeps the point and, once the spool drops it,
  // counts it dropped although it is in InfluxDB: one too many. With the health timer's phase left to chance
  // (the first health point may be long written when the test gets here), the next one fell on the shutdown
  // in about one full run in four.
  const healthCount = async (): Promise<number> => Number((await influx.query('SELECT count(streams) FROM anomalyd_health', 'anomalyd'))[0]?.values?.[0]?.[1] ?? 0);
  const healthBefore = await healthCount();
  await pollUntil('a health point written after the first points', healthCount, (n) => n > healthBefore, 15_000, 50);
  await pollUntil('nothing left to write', () => d.metric('anomalyd_sink_buffered_points', { sink: 'influx' }), (v) => v === 0, 5_000, 50);

  await influx.down();
  let maxBuffered = 0;
  let maxSpool = 0;
  const gauges = async (): Promise<void> => {
    const t = await d.metricsText();
    maxBuffered = Math.max(maxBuffered, metricValue(t, 'anomalyd_sink_buffered_points', { sink: 'influx' }));
    maxSpool = Math.max(maxSpool, metricValue(t, 'anomalyd_sink_spool_bytes', { sink: 'influx' }));
  };
  // The gauges are sampled every 50 ms in the background while the outage lasts, besides after every 5 ticks.
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await gauges();
      await sleep(50);
    }
  })();
  while (ticks < TICKS) {
    await tick();
    if (ticks % 5 === 0) await gauges();
  }
  const expected = ticks * STREAMS;
  await pollUntil('every window scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= expected, 30_000);
  // Every scored point has reached the sink (no queue holds any): the gauges below see the outage's end state.
  await pollUntil('the pipeline queues empty', async () => counterValue(await d.metricsText(), 'anomalyd_queue_depth'), (v) => v === 0, 30_000);
  await gauges();
  const droppedWhileDown = await d.metric('anomalyd_sink_points_dropped_total', { sink: 'influx', reason: 'spool_full' });
  sampling = false;
  await sampler;
  await influx.up();
  await pollUntil(
    'the spool and memory to drain',
    async () => {
      const t = await d.metricsText();
      return metricValue(t, 'anomalyd_sink_buffered_points', { sink: 'influx' }) + metricValue(t, 'anomalyd_sink_spool_bytes', { sink: 'influx' });
    },
    (v) => v === 0,
    30_000,
  );
  // A health point written after recovery, so gaps in the health series count the dropped health points.
  const healthAfter = Date.now();
  await pollUntil('a health point after recovery', async () => {
    const rows = await influx.query('SELECT streams FROM anomalyd_health', 'anomalyd');
    return Number(rows[0]?.values.at(-1)?.[0] ?? 0);
  }, (t) => t > healthAfter, 15_000);
  await pollUntil('the sink to settle', async () => d.metric('anomalyd_sink_buffered_points', { sink: 'influx' }), (v) => v === 0, 10_000);

  const scored = await d.metric('anomalyd_windows_scored_total');
  const text = await d.metricsText();
  const dropped = metricValue(text, 'anomalyd_sink_points_dropped_total', { sink: 'influx', reason: 'spool_full' });
  const otherDrops = metricValue(text, 'anomalyd_sink_points_dropped_total', { sink: 'influx' }) - dropped;
  const scoreRows = await influx.query('SELECT score FROM anomaly_score GROUP BY stream', 'anomalyd');
  const foundScores = scoreRows.reduce((n, s) => n + s.values.length, 0);
  const healthTimes = (await influx.query('SELECT streams FROM anomalyd_health', 'anomalyd'))[0].values.map((v) => Number(v[0]));
  let missingHealth = 0;
  for (let i = 1; i < healthTimes.length; i++) missingHealth += Math.round((healthTimes[i] - healthTimes[i - 1]) / 10_000) - 1;
  const missingScores = scored - foundScores;
  console.log(
    `[fault 2] buffer ${BUFFER_MAX} points, spool cap ${SPOOL_MAX} bytes: ${scored} score points produced, ${foundScores} in InfluxDB, ` +
      `${missingScores} score + ${missingHealth} health points missing, ${dropped} counted dropped (spool_full; ${droppedWhileDown} while down), ` +
      `other drops ${otherDrops}; memory peak ${maxBuffered} points, spool peak ${maxSpool} bytes`,
  );
  assert.equal(scored, expected);
  assert.ok(maxBuffered <= BUFFER_MAX, `memory peaked at ${maxBuffered} points, buffer_max_points ${BUFFER_MAX}`);
  assert.ok(maxBuffered > BUFFER_MAX / 2, `the buffer was used (${maxBuffered} points)`);
  assert.ok(maxSpool <= SPOOL_MAX, `spool peaked at ${maxSpool}`);
  assert.ok(maxSpool > SPOOL_MAX / 2, `the spool took the overflow (${maxSpool} bytes)`);
  assert.ok(missingScores > 0, 'the outage exceeded memory + spool');
  assert.equal(dropped, missingScores + missingHealth, 'every missing point is counted, and nothing else');
  assert.equal(otherDrops, 0);
  // The oldest were dropped: each stream keeps its pre-outage windows and a contiguous run of the newest ones,
  // except the records of the one spool batch the writer held for retrying when the cap was hit (sinks/spool.ts:
  // records handed out stay with the reader's batch): at most batch_size (100) points over all streams.
  const windowEnd = (i: number): number => samples[29 + 10 * i].ts;
  let exempt = 0;
  for (const s of scoreRows) {
    const times = s.values.map((v) => Number(v[0]));
    assert.deepEqual(times.slice(0, 5), Array.from({ length: 5 }, (_, i) => windowEnd(i)), `stream ${s.tags?.stream}: pre-outage points`);
    const outage = times.slice(5);
    let suffix = 0;
    while (suffix < outage.length && outage[outage.length - 1 - suffix] === windowEnd(TICKS - 1 - suffix)) suffix++;
    exempt += outage.length - suffix;
  }
  console.log(`[fault 2] points kept out of age order (the batch being retried when the cap was hit): ${exempt}`);
  assert.ok(exempt <= 100, `at most one batch kept out of age order (${exempt})`);
});

