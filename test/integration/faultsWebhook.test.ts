// Fault 6 (issue 5): the webhook receiver answers 500 for a while, then 200: the notice is delivered once it
// recovers, every attempt carries the same Idempotency-Key, and the receiver gets one page per alert transition.
// A 4xx answer is not retried and is counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, publishAll, pumpSeries, simAssets, topicOf } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;

const suite = faultSuite('webhook', { receiver: true });

test('receiver 500 then 200: delivered once with one key; one page per transition; 4xx not retried and counted', async () => {
  const { receiver } = suite;
  const daemon = await suite.daemon('webhook', {
    sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`,
  });
  const d = daemon;
  await d.ready();
  const pub = await suite.publisher('faults-webhook-publisher');
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const pump0 = pumpSeries(seeds[0], T0, 400, [[100, 200]]);
  const pump1 = pumpSeries(seeds[1], T0, 400, [[300, 400]]);
  const send = (asset: string, samples: typeof pump0): Promise<void> => publishAll(pub, samples.map((s) => ({ topic: topicOf(asset), payload: pumpPayload(s) })), 50);
  const of = (asset: string): typeof receiver.requests => receiver.requests.filter((r) => r.body.alerts.some((a) => a.labels.asset === asset));

  receiver.respond = () => 500;
  const failingUntil = Date.now() + 3000;
  receiver.respond = () => (Date.now() < failingUntil ? 500 : 200);
  await send('pump0', pump0.slice(0, 150));
  await waitFor(() => of('pump0').some((r) => r.status === 200), 'the firing page once the receiver recovers', 20_000, () => d.log.slice(-2000));
  await send('pump0', pump0.slice(150));
  await waitFor(() => of('pump0').some((r) => r.status === 200 && r.body.status === 'resolved'), 'the resolved page', 20_000, () => d.log.slice(-2000));
  // All 400 samples scored (38 windows) and the outbox empty: no attempt of pump0's notices can still come.
  await pollUntil('pump0 scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= 38, 20_000);
  await d.drained();
  const firing = of('pump0').filter((r) => r.body.status === 'firing');
  const resolved = of('pump0').filter((r) => r.body.status === 'resolved');
  const firingKeys = new Set(firing.map((r) => r.key));
  const failed = firing.filter((r) => r.status === 500).length;

  // 4xx: one attempt, no retry, counted.
  receiver.respond = () => 400;
  await send('pump1', pump1.slice(0, 350));
  await waitFor(() => of('pump1').length >= 1, 'the pump1 page', 20_000, () => d.log.slice(-2000));
  // pump1's 350 samples scored (33 more windows), the 400 counted, the outbox empty: a retry cannot still come.
  await pollUntil('pump1 scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= 38 + 33, 20_000);
  await pollUntil('the rejected delivery counted', () => d.count('anomalyd_webhook_deliveries_total', { result: 'rejected' }), (v) => v >= 1, 20_000);
  await d.drained();
  const rejected = of('pump1');
  const metrics = await d.metricsText();
  const droppedRejected = Number(/anomalyd_sink_points_dropped_total\{sink="webhook.oncall",reason="rejected"\} (\d+)/.exec(metrics)?.[1] ?? NaN);
  const deliveryRejected = Number(/anomalyd_webhook_deliveries_total\{result="rejected"\} (\d+)/.exec(metrics)?.[1] ?? NaN);
  console.log(
    `[fault 6] firing: ${firing.length} attempts (${failed} answered 500 over ${((firing.at(-1)?.at ?? 0) - (firing[0]?.at ?? 0)) / 1000} s), ` +
      `keys ${[...firingKeys].join(',')}, ${firing.filter((r) => r.status === 200).length} delivered; resolved: ${resolved.length} request(s); ` +
      `4xx: ${rejected.length} attempt(s), counted dropped ${droppedRejected}, deliveries{result=rejected} ${deliveryRejected}`,
  );
  assert.ok(failed >= 3, `retried while the receiver failed (${failed})`);
  assert.equal(firingKeys.size, 1, 'the same idempotency key on every retry');
  assert.equal(firing.filter((r) => r.status === 200).length, 1, 'delivered once');
  assert.ok(firing.filter((r) => r.status === 200)[0].at >= failingUntil);
  assert.equal(resolved.length, 1, 'one page for the resolve');
  assert.notEqual(resolved[0].key, firing[0].key, 'each transition has its own key');
  assert.equal(rejected.length, 1, '4xx is not retried');
  assert.equal(droppedRejected, 1);
  assert.equal(deliveryRejected, 1);
});
