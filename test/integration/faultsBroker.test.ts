// Fault 5 (issue 5): the real Mosquitto killed (SIGKILL: its sessions are gone too) and restarted on the same
// port. The daemon reconnects with growing, jittered delays, subscribes again and ingests without manual action;
// a stream silent longer than alerting.stall_after_ms raises IngestionStalled (not an anomaly), which resolves
// when samples come back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, pumpSeries, simAssets, sleep, topicOf } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const T0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const STALL_MS = 3000;

const suite = faultSuite('broker', { receiver: true });

test('broker killed and restarted: jittered backoff, resubscribed, ingestion resumes; silent streams raise IngestionStalled', async () => {
  const { mosquitto, receiver } = suite;
  const daemon = await suite.daemon('broker', {
    logLevel: 'debug',
    alerting: `k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: ${STALL_MS}`,
    sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`,
  });
  const d = daemon;
  await d.ready();
  const pub = await suite.publisher('faults-broker-publisher');
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const series = [pumpSeries(seeds[0], T0, 600), pumpSeries(seeds[1], T0, 600)];
  let next = 0;
  // Real time: one sample a second would be slow, so each 100 ms sends the next sample of both pumps.
  const send = async (count: number, assets = [0, 1]): Promise<void> => {
    for (let i = 0; i < count; i++, next++) {
      await Promise.all(assets.map((a) => pub.publish(topicOf(`pump${a}`), pumpPayload(series[a][next]), 1)));
      await sleep(100);
    }
  };
  const stalled = (asset: string, status: string): number =>
    receiver.requests.filter((r) => r.status === 200 && r.body.status === status && r.body.alerts.some((a) => a.labels.asset === asset && a.labels.alertname === 'IngestionStalled')).length;

  await send(40);
  const before = await d.metric('anomalyd_samples_total');
  assert.equal(before, 80);

  await mosquitto.kill();
  const downAt = Date.now();
  await pollUntil('the daemon to notice', () => d.metric('anomalyd_mqtt_connected'), (v) => v === 0, 10_000);
  const ready = await fetch(`${d.base}/readyz`);
  const readyBody = await ready.text();
  // Down until both silent streams have paged IngestionStalled and the daemon has tried to reconnect at least four
  // times (what the backoff checks below read), not for a fixed time.
  const attempts = (): number => [...d.log.matchAll(/retry(?:ing in |_in_ms[=:] ?"?)(\d+)/g)].length;
  await waitFor(
    () => stalled('pump0', 'firing') === 1 && stalled('pump1', 'firing') === 1 && attempts() >= 4,
    'IngestionStalled for both pumps and four reconnect attempts while the broker is down',
    30_000,
    () => ({ attempts: attempts(), pages: receiver.requests.map((r) => r.body.status) }),
  );
  await mosquitto.restart();
  const upAt = Date.now();
  await pollUntil('the daemon to reconnect', () => d.metric('anomalyd_mqtt_connected'), (v) => v === 1, 15_000);
  const reconnectS = (Date.now() - upAt) / 1000;
  // Both streams were silent for the outage (> stall_after_ms): IngestionStalled fired for each.
  await waitFor(() => stalled('pump0', 'firing') === 1 && stalled('pump1', 'firing') === 1, 'IngestionStalled for both pumps', 10_000, () => receiver.requests.map((r) => r.body.status));

  // Ingestion resumes without manual action: the subscriptions were restored on the new broker.
  await send(40);
  const after = await pollUntil('samples after the restart', () => d.metric('anomalyd_samples_total'), (v) => v >= 160, 10_000);
  await waitFor(() => stalled('pump0', 'resolved') === 1 && stalled('pump1', 'resolved') === 1, 'IngestionStalled resolved', 10_000);

  // Only pump1 stops: only pump1 stalls.
  await send(Math.ceil((STALL_MS + 2500) / 100), [0]);
  await waitFor(() => stalled('pump1', 'firing') === 2, 'IngestionStalled for pump1 alone', 10_000);
  assert.equal(stalled('pump0', 'firing'), 1, 'pump0 kept sending: no stall');

  await d.drained();
  const delays = [...d.log.matchAll(/retry(?:ing in |_in_ms[=:] ?"?)(\d+)/g)].map((m) => Number(m[1]));
  const anomalies = receiver.requests.filter((r) => r.body.alerts.some((a) => a.labels.alertname !== 'IngestionStalled'));
  const stallPage = receiver.requests.find((r) => r.body.alerts.some((a) => a.labels.alertname === 'IngestionStalled'));
  console.log(
    `[fault 5] broker down ${((upAt - downAt) / 1000).toFixed(1)} s; reconnect delays ${delays.join(', ')} ms; reconnected ${reconnectS.toFixed(2)} s after the restart; ` +
      `samples ${before} before, ${after} after (0 lost of the ${after} published); readyz while down: ${ready.status}; ` +
      `IngestionStalled pages: pump0 ${stalled('pump0', 'firing')} firing/${stalled('pump0', 'resolved')} resolved, pump1 ${stalled('pump1', 'firing')}/${stalled('pump1', 'resolved')}; anomaly pages ${anomalies.length}`,
  );
  assert.equal(after, 160, 'every sample published after the restart arrived');
  assert.equal(ready.status, 503);
  assert.match(readyBody, /mqtt|broker/i);
  assert.ok(delays.length >= 4, `several reconnect attempts (${delays.join(', ')})`);
  const growing = delays.slice(0, 4);
  assert.ok(growing[3] > growing[0] * 2, `delays grow: ${growing.join(', ')}`);
  assert.ok(delays.every((ms) => ms <= 2000 * 1.2 + 1), `capped at max_delay_ms + jitter: ${delays.join(', ')}`);
  assert.ok(delays.some((ms) => ![200, 400, 800, 1600, 2000].includes(ms)), `jittered: ${delays.join(', ')}`);
  assert.equal(anomalies.length, 0, 'a stall is not an anomaly');
  assert.ok(stallPage, 'IngestionStalled paged');
  assert.equal(stallPage.body.alerts[0].labels.alertname, 'IngestionStalled');
  assert.match(d.log, /session|subscribed/);
});
