// Fault 4 (issue 5): `kill -9` of the daemon while messages flow (QoS 1, persistent session), then a restart.
// Measured against the publisher's sequence (one sample a message, sample i at T0 + i s): every published sample
// is covered by a complete scored window in InfluxDB, on the same window grid as without the kill (samples
// acknowledged before the kill come back from the sample journal, unacknowledged ones from the broker, and
// redelivered duplicates are dropped), the alert state is restored (no second page), and a notice the receiver
// refused (500) before the kill is re-sent after the restart with the same idempotency key and delivered once.
//
// Root cause of the earlier intermittent failure ("last: 0"): samples the daemon had acknowledged but not yet
// scored (the window being filled) died with the process, and the restarted daemon began a new window grid at
// the first message it got. When the kill fell within the last window of the run (a fast publisher), fewer
// than a window's worth of samples came after the restart and no window after it was ever produced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpPayload } from '../../src/simulator/signals';
import * as path from 'node:path';
import { faultSuite, metricValue, pollUntil, publishAll, pumpSeries, savedAlertState, simAssets, sleep, topicOf } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const T0 = Math.floor((Date.now() - 48 * 3600_000) / 1000) * 1000;
const N = 900;
const SIZE = 30;
const HOP = 10;

const suite = faultSuite('crash', { influx: true, receiver: true });

test('kill -9 under load, restart: no message lost, same window grid, alert state restored, outbox re-sent with the same key', async () => {
  const { influx, receiver } = suite;
  let d = await suite.daemon('crash', {
    hop: HOP,
    sinks: `  influx: { url: ${influx.url}/anomalyd, flush_interval_ms: 100 }
  webhooks:
    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`,
  });
  await d.ready();
  const pub = await suite.publisher('faults-crash-publisher');
  // pump0: anomalous from sample 150 to 650 (fires before the kill, still firing after the restart, then
  // resolves); pump1: anomalous from 450 to 800 (fires while the receiver answers 500); pump2..4 healthy.
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const faults: (readonly (readonly [number, number])[])[] = [[[150, 650]], [[450, 800]], [], [], []];
  const streams = faults.map((f, k) => ({ asset: `pump${k}`, samples: pumpSeries(seeds[k % seeds.length], T0, N, f) }));
  const publishRange = (from: number, to: number, parallel = 50): Promise<void> => {
    const msgs: { topic: string; payload: string }[] = [];
    for (let i = from; i < to; i++) for (const s of streams) msgs.push({ topic: topicOf(s.asset), payload: pumpPayload(s.samples[i]) });
    return publishAll(pub, msgs, parallel);
  };
  const pages = (asset: string, status: string): typeof receiver.requests =>
    receiver.requests.filter((r) => r.body.status === status && r.body.alerts.some((a) => a.labels.asset === asset && a.labels.alertname !== 'IngestionStalled'));

  await publishRange(0, 400);
  await waitFor(() => pages('pump0', 'firing').some((r) => r.status === 200), 'pump0 firing delivered', 30_000, () => d.log.slice(-2000));
  receiver.respond = () => 500;
  await publishRange(400, 520);
  await waitFor(() => pages('pump1', 'firing').length >= 2, 'pump1 firing attempted twice (500)', 30_000, () => d.log.slice(-2000));
  const refusedKey = pages('pump1', 'firing')[0].key;
  // The kill must come after the state file holds both alerts as firing (it is written every 2 s).
  await pollUntil(
    'pump0 and pump1 firing in the saved state',
    () => savedAlertState(path.join(suite.dir, 'crash')),
    (alerts) => alerts?.['line1/pump0']?.held === 'firing' && alerts['line1/pump1']?.held === 'firing',
    10_000,
  );

  // Under load: the rest is published at a steady pace; the daemon is killed 1 s in and restarted 2 s later.
  let published = 520;
  const loadStart = Date.now();
  let loadRate = 0;
  const load = (async () => {
    while (published < N) {
      const to = Math.min(N, published + 10);
      await publishRange(published, to);
      published = to;
      await sleep(20);
    }
  })();
  // Killed once the load is well under way (100 samples a stream into it), not after a fixed time.
  await waitFor(() => published >= 620, 'the load to be under way', 30_000, () => published);
  const killedAt = published;
  loadRate = (killedAt - 520) / ((Date.now() - loadStart) / 1000);
  d.signal('SIGKILL');
  const exit = await d.exited;
  assert.equal(exit.signal, 'SIGKILL');
  // Down while the publisher goes on: messages pile up at the broker for the persistent session.
  await waitFor(() => published >= Math.min(N, killedAt + 100), 'samples published while the daemon is down', 30_000, () => published);
  receiver.respond = () => 200;
  d = suite.restart(d);
  await d.ready();
  await load;

  // Everything published must be scored in the end, on the grid a run without the kill has: windows ending at
  // samples 29, 39, ..., 899 of every stream.
  const grid = streams.length * ((N - SIZE) / HOP + 1);
  const countPoints = async (): Promise<number> => Number((await influx.query('SELECT count(score) FROM anomaly_score', 'anomalyd'))[0]?.values[0]?.[1] ?? 0);
  await pollUntil('every window of the grid in InfluxDB', countPoints, (n) => n >= grid, 60_000);
  await waitFor(() => pages('pump0', 'resolved').some((r) => r.status === 200), 'pump0 resolved delivered', 30_000, () => d.log.slice(-2000));
  await waitFor(() => pages('pump1', 'firing').some((r) => r.status === 200), 'pump1 firing delivered', 30_000, () => d.log.slice(-2000));
  // Before the checks that nothing more was paged: every notice the daemon holds has been delivered.
  await d.drained();

  // Message loss: samples not covered by any complete window in InfluxDB.
  const rows = await influx.query('SELECT score, completeness FROM anomaly_score GROUP BY stream', 'anomalyd');
  let incomplete = 0;
  let totalUncovered = 0;
  const runs: string[] = [];
  for (const s of rows) {
    const covered = new Uint8Array(N);
    for (const [t, , completeness] of s.values as [number, number, number][]) {
      if (completeness < 1) incomplete++;
      const end = Math.round((t - T0) / 1000);
      for (let i = end - SIZE + 1; i <= end; i++) if (i >= 0) covered[i] = 1;
    }
    const gaps: [number, number][] = [];
    for (let i = 0; i < N; i++) {
      if (covered[i]) continue;
      const last = gaps.at(-1);
      if (last && last[1] === i - 1) last[1] = i;
      else gaps.push([i, i]);
    }
    const uncovered = gaps.reduce((n, [a, b]) => n + b - a + 1, 0);
    totalUncovered += uncovered;
    runs.push(`${s.tags?.stream}:${gaps.map(([a, b]) => `${a}-${b}`).join(',') || 'none'}`);
  }
  const points = rows.reduce((n, s) => n + s.values.length, 0);
  let offGrid = 0;
  for (const s of rows) for (const [t] of s.values as [number][]) if ((Math.round((t - T0) / 1000) - (SIZE - 1)) % HOP !== 0) offGrid++;
  const text = await d.metricsText();
  const received = metricValue(text, 'anomalyd_messages_received_total');
  const duplicates = metricValue(text, 'anomalyd_messages_rejected_total', { reason: 'out_of_order' }) + metricValue(text, 'anomalyd_messages_rejected_total', { reason: 'duplicate' });
  const replayed = Number(/Continuing from the last checkpoint\..*journal_batches=(\d+)/.exec(d.log)?.[1] ?? 0);
  const pump1Keys = new Set(pages('pump1', 'firing').map((r) => r.key));
  const pump1Delivered = pages('pump1', 'firing').filter((r) => r.status === 200).length;
  const pump0Firing = pages('pump0', 'firing');
  const firingSeq = pump0Firing[0].body.alerts[0].sequence;
  const resolvedSeq = pages('pump0', 'resolved').find((r) => r.status === 200)?.body.alerts[0].sequence ?? 0;
  console.log(
    `[fault 4] ${N * streams.length} messages published (${streams.length} streams x ${N} samples), killed at sample ~${killedAt} ` +
      `(${loadRate.toFixed(0)} samples/s per stream); after the restart: ${replayed} journal batches replayed, ${received} messages received from the broker, ` +
      `${duplicates} of them duplicates dropped; samples not covered by a complete window: ${totalUncovered} [${runs.join(' ')}]; incomplete windows ${incomplete}; ` +
      `${points} points in InfluxDB for a grid of ${grid} (${offGrid} off the grid); ` +
      `pump1 firing (refused before the kill): ${pages('pump1', 'firing').length} attempts, keys ${[...pump1Keys].join(',')}, ${pump1Delivered} delivered; ` +
      `pump0 firing pages ${pump0Firing.length}, resolved seq ${resolvedSeq} > firing seq ${firingSeq}`,
  );
  assert.equal(rows.length, streams.length);
  assert.equal(totalUncovered, 0, 'every published sample is in a scored window: no message lost');
  assert.equal(incomplete, 0, 'no window misses a sample');
  assert.equal(points, grid, 'one point per window of the grid: duplicates rewrote the same points');
  assert.equal(offGrid, 0, 'the restart continued the window grid');
  assert.match(d.log, /Restored alert state/);
  assert.match(d.log, /Resending undelivered alert notices/);
  assert.equal(pump0Firing.length, 1, 'pump0 paged once: no second page after the restart');
  assert.ok(resolvedSeq > firingSeq, 'the resolve after the restart continues the sequence');
  assert.deepEqual([...pump1Keys], [refusedKey], 'every attempt of the pump1 notice carries the same idempotency key');
  assert.equal(pump1Delivered, 1, 'delivered once');
  const healthy = receiver.requests.filter((r) => r.body.alerts.some((a) => ['pump2', 'pump3', 'pump4'].includes(a.labels.asset) && a.labels.alertname !== 'IngestionStalled'));
  assert.equal(healthy.length, 0, 'healthy pumps never paged');
});
