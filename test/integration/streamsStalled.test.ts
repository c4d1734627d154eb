// Many streams stalling at once page once: six healthy pumps behind one gateway fall silent together, against a
// real Mosquitto, a real webhook receiver and `anomalyd run`. One StreamsStalled page with the count, each
// stream's own IngestionStalled recorded but not paged (anomalyd_alerts_suppressed_total{reason="summarised"}),
// one resolve when they send again; a single stream stalling later still pages alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { faultSuite, metricValue, pollUntil, publishAll, simAssets, sleep, topicOf } from '../helpers/faults';

const suite = faultSuite('stalls', { receiver: true });
const PUMPS = 6;

test('six streams stalling together page one StreamsStalled, resolved once they send; a lone stall still pages IngestionStalled', async () => {
  const { receiver } = suite;
  const daemon = await suite.daemon('stalls', {
    alerting: 'k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 3000',
    sinks: `  webhooks:\n    - { name: oncall, url: ${receiver.url} }`,
    extra: 'limits: { stall_summary_streams: 5, stall_summary_wait_ms: 2000 }',
  });
  await daemon.ready();
  const pub = await suite.publisher('stalls-publisher');
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const values = seeds.slice(0, PUMPS).map((seed) => pumpSamples(seed, 0, 400).map((s) => s.values));
  const start = Math.floor(Date.now() / 1000) * 1000 - 40_000;
  // 40 s of history at once (each pump completes its first windows: only a stream that had been healthy pages),
  // then one sample a second per pump while it is switched on.
  await publishAll(
    pub,
    values.flatMap((series, p) => series.slice(0, 40).map((v, i) => ({ topic: topicOf(`pump${p}`), payload: pumpPayload({ ts: start + i * 1000, values: v }) }))),
  );
  const on = new Array<boolean>(PUMPS).fill(true);
  let running = true;
  const sender = (async () => {
    for (let i = 40; running && i < 400; i++) {
      while (running && start + i * 1000 > Date.now()) await sleep(50);
      await Promise.all(on.map((sending, p) => (sending && running ? pub.publish(topicOf(`pump${p}`), pumpPayload({ ts: start + i * 1000, values: values[p][i] }), 1) : Promise.resolve())));
    }
  })();
  const pages = (status: 'firing' | 'resolved'): string[] =>
    receiver.requests.filter((r) => r.body.status === status).flatMap((r) => r.body.alerts.map((a) => a.labels['alertname'] ?? '?'));
  try {
    await pollUntil('every pump scored', () => daemon.metric('anomalyd_windows_scored_total'), (n) => n >= PUMPS, 30_000);
    assert.deepEqual(pages('firing'), [], 'normal running pages nothing');

    // The gateway goes: every pump silent at once.
    on.fill(false);
    const stalled = await pollUntil(
      'the six stalls recorded as summarised',
      () => daemon.metricsText(),
      (t) => metricValue(t, 'anomalyd_alerts_suppressed_total', { reason: 'summarised' }) >= PUMPS,
      30_000,
    );
    assert.equal(metricValue(stalled, 'anomalyd_alerts_suppressed_total', { reason: 'summarised' }), PUMPS);
    await pollUntil('the summary paged', () => Promise.resolve(pages('firing')), (p) => p.length >= 1, 10_000);
    const page = receiver.requests.find((r) => r.body.status === 'firing');
    assert.match(page?.raw ?? '', /6 streams stopped sending within 2 s of each other: line1\/pump\d/, 'the page says how many and which');

    // The gateway is back.
    on.fill(true);
    await pollUntil('the summary resolved', () => Promise.resolve(pages('resolved')), (p) => p.includes('StreamsStalled'), 30_000);

    // One pump alone stops: that is its own problem, and it pages as such.
    on[0] = false;
    await pollUntil('the lone stall paged', () => Promise.resolve(pages('firing')), (p) => p.includes('IngestionStalled'), 30_000);
  } finally {
    running = false;
    await sender;
  }
  assert.deepEqual(pages('firing'), ['StreamsStalled', 'IngestionStalled'], 'one page for the six, one for the lone stall, none per stream of the six');
  assert.deepEqual(pages('resolved'), ['StreamsStalled']);
});
