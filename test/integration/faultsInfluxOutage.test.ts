// Fault 1 (issue 5): the real InfluxDB stopped for 60 s while 1,000 pump streams flow through the daemon over a
// real Mosquitto. Afterwards every score point is in InfluxDB (per series: exactly the windows scored), the
// memory buffer never exceeded buffer_max_points, the spool drained at least twice as fast as it filled, and the
// buffer gauges are back to 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sample } from '../../src/core/types';
import { pumpSamples } from '../../src/simulator/signals';
import { faultSuite, metricValue, pollUntil, publishAll, pumpArrayPayload, sleep, topicOf } from '../helpers/faults';

const LINES = 10;
const ASSETS = 100; // 10 x 100 = 1,000 streams
const OUTAGE_MS = 60_000;
const BUFFER_MAX = 20_000;
const T0 = Date.now() - 48 * 3600_000;

const suite = faultSuite('influx', { influx: true });

test('InfluxDB stopped 60 s under 1,000 streams: every point arrives, memory bounded, spool drains >= 2x its fill rate', async () => {
  const { influx } = suite;
  const daemon = await suite.daemon('influx', {
    decoder: 'json_array',
    sinks: `  influx: { url: ${influx.url}/anomalyd, batch_size: 5000, flush_interval_ms: 200, buffer_max_points: ${BUFFER_MAX} }`,
    extra: 'limits: { max_streams: 2000 }\nqueues: { capacity: 20000 }\nbatching: { max_batch: 256, max_wait_ms: 20 }',
  });
  await daemon.ready();
  const d = daemon;
  const pub = await suite.publisher('faults-influx-publisher');

  // Eight simulated pumps' signals, shared round-robin by the 1,000 streams (the model does not care which).
  const TICKS_MAX = 140;
  const series: Sample[][] = Array.from({ length: 8 }, (_, i) => pumpSamples(31 + i, T0, 30 + 10 * TICKS_MAX));
  const streams = Array.from({ length: LINES * ASSETS }, (_, k) => ({ topic: topicOf(`pump${k % ASSETS}`, `line${Math.floor(k / ASSETS)}`), samples: series[k % 8] }));
  let ticks = 0;
  // Tick 0 sends 30 samples per stream (the first window), every later tick 10 (one hop = one more window).
  const tick = async (): Promise<void> => {
    const from = ticks === 0 ? 0 : 30 + 10 * (ticks - 1);
    const to = ticks === 0 ? 30 : from + 10;
    await publishAll(pub, streams.map((s) => ({ topic: s.topic, payload: pumpArrayPayload(s.samples.slice(from, to)) })), 250);
    ticks++;
  };

  // Gauges sampled every 250 ms in the background.
  let maxBuffered = 0;
  let maxSpool = 0;
  let spoolAtUp = -1;
  let upAt = 0;
  let resumedAt = 0;
  let emptyAt = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const text = await d.metricsText().catch(() => '');
      const buffered = metricValue(text, 'anomalyd_sink_buffered_points', { sink: 'influx' });
      const spool = metricValue(text, 'anomalyd_sink_spool_bytes', { sink: 'influx' });
      if (Number.isFinite(buffered)) maxBuffered = Math.max(maxBuffered, buffered);
      if (Number.isFinite(spool)) maxSpool = Math.max(maxSpool, spool);
      if (upAt && !resumedAt && /InfluxDB writes resumed/.test(d.log)) resumedAt = Date.now();
      if (upAt && !emptyAt && spool === 0) emptyAt = Date.now();
      await sleep(250);
    }
  })();

  const runTicks = async (ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (Date.now() < end && ticks < TICKS_MAX) {
      const started = Date.now();
      await tick();
      await sleep(Math.max(0, 1000 - (Date.now() - started)));
    }
  };

  await runTicks(5_000);
  await influx.down();
  const downAt = Date.now();
  await runTicks(OUTAGE_MS);
  const outageS = (Date.now() - downAt) / 1000;
  const text = await d.metricsText();
  spoolAtUp = metricValue(text, 'anomalyd_sink_spool_bytes', { sink: 'influx' });
  const bufferedAtUp = metricValue(text, 'anomalyd_sink_buffered_points', { sink: 'influx' });
  await influx.up();
  upAt = Date.now();
  // Production goes on while the spool drains.
  while (!emptyAt && Date.now() - upAt < 60_000 && ticks < TICKS_MAX) await runTicks(1000);
  await pollUntil('the spool to drain', () => Promise.resolve(emptyAt), (v) => v > 0, 60_000);
  const ticksSent = ticks;
  const expectedPoints = ticksSent * streams.length;

  const scored = await pollUntil('every window scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= expectedPoints, 60_000);
  await pollUntil(
    'the buffer gauges to return to 0',
    async () => {
      const t = await d.metricsText();
      return [metricValue(t, 'anomalyd_sink_buffered_points', { sink: 'influx' }), metricValue(t, 'anomalyd_sink_spool_bytes', { sink: 'influx' })];
    },
    (v) => v[0] === 0 && v[1] === 0,
    30_000,
  );
  sampling = false;
  await sampler;

  const counts = await pollUntil(
    'every point in InfluxDB',
    async () => new Map((await influx.query('SELECT count(score) FROM anomaly_score GROUP BY stream', 'anomalyd')).map((s) => [s.tags?.stream ?? '', Number(s.values[0][1])])),
    (m) => [...m.values()].reduce((a, b) => a + b, 0) >= expectedPoints,
    30_000,
  );
  const found = [...counts.values()].reduce((a, b) => a + b, 0);
  const dropped = await d.count('anomalyd_sink_points_dropped_total', { sink: 'influx' });
  const fillRate = spoolAtUp / outageS;
  const drainFromResumeS = (emptyAt - (resumedAt || upAt)) / 1000;
  const drainFromUpS = (emptyAt - upAt) / 1000;
  const drainRate = spoolAtUp / Math.max(drainFromResumeS, 0.25);
  console.log(
    `[fault 1] ${streams.length} streams, ${ticksSent} windows each, outage ${outageS.toFixed(1)} s: points expected ${expectedPoints}, ` +
      `windows scored ${scored}, found in InfluxDB ${found} (${counts.size} series), dropped ${dropped}; ` +
      `memory peak ${maxBuffered}/${BUFFER_MAX} points, at restart ${bufferedAtUp} points in memory + ${spoolAtUp} bytes spooled (peak ${maxSpool}); ` +
      `fill ${Math.round(fillRate)} B/s; spool empty ${drainFromUpS.toFixed(1)} s after InfluxDB came back, ${drainFromResumeS.toFixed(1)} s after writes resumed ` +
      `(${Math.round(drainRate)} B/s = ${(drainRate / fillRate).toFixed(1)}x the fill rate, production going on)`,
  );
  assert.equal(scored, expectedPoints, 'every published window was scored');
  assert.equal(counts.size, streams.length, 'one series per stream');
  for (const s of streams) {
    const stream = s.topic.split('/').slice(1, 3).join('/');
    assert.equal(counts.get(stream), ticksSent, `points of ${stream}`);
  }
  assert.equal(found, scored, 'count in InfluxDB equals windows scored');
  assert.equal(dropped, 0, 'nothing dropped');
  assert.ok(spoolAtUp > 0, 'the outage went to the disk spool');
  assert.ok(maxBuffered <= BUFFER_MAX, `memory peaked at ${maxBuffered} points`);
  assert.ok(drainRate >= 2 * fillRate, `drain ${Math.round(drainRate)} B/s vs fill ${Math.round(fillRate)} B/s`);
  assert.match(d.log, /InfluxDB write to .* failed, retrying with back-off/);
});
