// Fault 7 (issue 5): SIGTERM while 200 streams publish and InfluxDB is down: the daemon exits 0 within 25 s, and
// everything it accepted is written or spooled. After a restart (InfluxDB back) every window is in InfluxDB: the
// window buffers saved at the stop continue after the restart (state/stateStore.ts), so the restart costs none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpSamples } from '../../src/simulator/signals';
import { faultSuite, pollUntil, publishAll, pumpArrayPayload, sleep, topicOf } from '../helpers/faults';

const STREAMS = 200;
const T0 = Math.floor((Date.now() - 48 * 3600_000) / 1000) * 1000;

const suite = faultSuite('sigterm', { influx: true });

test('SIGTERM under load with InfluxDB down: exit 0 within 25 s, everything accepted written or spooled', async () => {
  const { influx } = suite;
  let daemon = await suite.daemon('sigterm', {
    decoder: 'json_array',
    sinks: `  influx: { url: ${influx.url}/anomalyd, flush_interval_ms: 1000 }`,
  });
  let d = daemon;
  await d.ready();
  const pub = await suite.publisher('faults-sigterm-publisher');
  const TICKS = 60;
  const samples = pumpSamples(51, T0, 30 + 10 * TICKS);
  const topics = Array.from({ length: STREAMS }, (_, k) => topicOf(`pump${k}`));
  let ticks = 0;
  const load = (async () => {
    while (ticks < TICKS) {
      const from = ticks === 0 ? 0 : 30 + 10 * (ticks - 1);
      const to = ticks === 0 ? 30 : from + 10;
      await publishAll(pub, topics.map((topic) => ({ topic, payload: pumpArrayPayload(samples.slice(from, to)) })));
      ticks++;
      await sleep(100);
    }
  })();
  // InfluxDB goes down once the load is under way (a third of the ticks published and scored), and the
  // SIGTERM comes once the sink has failed a write and windows were scored during the outage: so the stop has
  // points to spool, whatever the machine's speed.
  await pollUntil('a third of the load scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= (STREAMS * TICKS) / 3, 60_000);
  await influx.down();
  const scoredAtDown = await d.count('anomalyd_windows_scored_total');
  await pollUntil(
    'a failed InfluxDB write and windows scored during the outage',
    async () => [await d.count('anomalyd_sink_errors_total', { sink: 'influx' }), await d.count('anomalyd_windows_scored_total')],
    ([errors, scored]) => errors >= 1 && scored >= scoredAtDown + STREAMS,
    30_000,
  );
  const scoredBefore = await d.metric('anomalyd_windows_scored_total');
  const ticksAtTerm = ticks;
  const termAt = Date.now();
  d.signal('SIGTERM');
  const exit = await d.exited;
  const exitS = (Date.now() - termAt) / 1000;
  const stopLog = d.log;
  await load;
  await influx.up();
  daemon = suite.restart(daemon);
  d = daemon;
  await d.ready();
  const lastEnd = samples[30 + 10 * (TICKS - 1) - 1].ts;
  await pollUntil(
    'the last window of every stream',
    async () => (await influx.query(`SELECT last(score) FROM anomaly_score WHERE time >= ${lastEnd}ms GROUP BY stream`, 'anomalyd')).length,
    (n) => n === STREAMS,
    60_000,
  );
  await pollUntil('the spool to drain', () => d.metric('anomalyd_sink_spool_bytes', { sink: 'influx' }), (v) => v === 0, 30_000);
  const rows = await influx.query('SELECT count(score) FROM anomaly_score GROUP BY stream', 'anomalyd');
  const counts = rows.map((s) => Number(s.values[0][1]));
  const found = counts.reduce((a, b) => a + b, 0);
  const replayed = /Replaying spooled points.*points=(\d+)/.exec(d.log)?.[1] ?? '0';
  const dropped = await d.count('anomalyd_sink_points_dropped_total', { sink: 'influx' });
  console.log(
    `[fault 7] SIGTERM after ${scoredBefore}+ windows scored, InfluxDB down: exit ${exit.code} in ${exitS.toFixed(2)} s; ${replayed} points replayed from the spool at restart; ` +
      `${found} points in InfluxDB for ${STREAMS} x ${TICKS} = ${STREAMS * TICKS} windows published (per stream min ${Math.min(...counts)}, max ${Math.max(...counts)}); dropped ${dropped}; the load was at tick ${ticksAtTerm} of ${TICKS} at the SIGTERM`,
  );
  assert.equal(exit.code, 0, stopLog.slice(-3000));
  assert.ok(exitS < 25, `exited in ${exitS} s`);
  assert.match(stopLog, /anomalyd stopped/);
  assert.ok(Number(replayed) > 0, 'points accepted during the outage were spooled at shutdown');
  assert.equal(rows.length, STREAMS);
  for (const c of counts) assert.equal(c, TICKS, 'every window, including the ones being filled at the stop');
  assert.equal(dropped, 0);
});
