// mqtt_out in the daemon (`anomalyd run` with `sinks.mqtt_out: {}` on a real Mosquitto): the pipeline's scores
// land on anomalyd/<stream>/score, and an alert that fires while the broker is down is published exactly once,
// even though the daemon is killed (-9) before the broker returns: the transition waited in the outbox under
// state_dir and the restarted daemon publishes it; its resolve follows once samples flow again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAsync } from 'mqtt';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, pumpSeries, simAssets, sleep, topicOf } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const T0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const STALL_MS = 2000;

const suite = faultSuite('mqttout');

test('daemon: scores on their topics; an alert firing while the broker is down and the daemon killed is published once', async () => {
  const { mosquitto } = suite;
  const rxClient = await connectAsync(mosquitto.url, { clientId: 'uns-consumer', clean: false, reconnectPeriod: 200 });
  const got: { topic: string; payload: string }[] = [];
  rxClient.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  await rxClient.subscribeAsync('anomalyd/#', { qos: 1 });
  try {
    const parts = {
      alerting: `k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: ${STALL_MS}`,
      sinks: '  mqtt_out: {}',
    };
    const first = await suite.daemon('mqttout', parts);
    await first.ready();
    const pub = await suite.publisher('mqttout-publisher');
    const seed = simAssets('pump', 1, 3, 1)[0].seed;
    const series = pumpSeries(seed, T0, 400);
    let next = 0;
    const send = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++, next++) {
        await pub.publish(topicOf('pump0'), pumpPayload(series[next]), 1);
        if (i % 10 === 9) await sleep(50);
      }
    };
    await send(50);
    const scores = (): { ts: number; score: number; threshold: number }[] =>
      got.filter((m) => m.topic === 'anomalyd/line1/pump0/score').map((m) => JSON.parse(m.payload) as { ts: number; score: number; threshold: number });
    // Window 30, hop 10: windows end at samples 30, 40 and 50.
    await waitFor(() => scores().length === 3, 'three scored windows on the score topic', 20_000, () => got.map((m) => m.topic));
    assert.deepEqual(scores().map((s) => s.ts), [29, 39, 49].map((i) => T0 + i * 1000));
    assert.ok(scores().every((s) => Number.isFinite(s.score) && s.threshold > 0));
    assert.equal(await first.metric('anomalyd_sink_connected', { sink: 'mqtt_out' }), 1);
    assert.ok(got.some((m) => m.topic === 'anomalyd/_status/anomalyd-mqttout-out' && m.payload === 'online'));

    // The broker goes away; the stream is silent, so IngestionStalled fires into the outbox.
    await mosquitto.stop();
    await pollUntil('the stall alert in the outbox', () => first.metric('anomalyd_sink_buffered_points', { sink: 'mqtt_out' }), (n) => n >= 1, 20_000);
    await sleep(300);
    first.signal('SIGKILL');
    await first.exited;
    await mosquitto.restart();

    const second = suite.restart(first);
    await second.ready();
    const stalls = (): { key: string; status: string }[] =>
      got.filter((m) => m.topic === 'anomalyd/line1/pump0/alert/ingestion_stalled').map((m) => JSON.parse(m.payload) as { key: string; status: string });
    await waitFor(() => stalls().length === 1, 'the firing stall published by the restarted daemon', 20_000, () => got.map((m) => m.topic));
    assert.equal(stalls()[0]?.status, 'firing');
    assert.match(second.log, /Republishing alert transitions the broker had not acknowledged/, 'from the outbox the killed daemon left');
    await send(40);
    await waitFor(() => stalls().length === 2, 'the resolve once samples flow', 20_000, stalls);
    await second.drained();
    await sleep(500);
    const seen = stalls();
    assert.deepEqual(seen.map((s) => s.status), ['firing', 'resolved'], 'one firing and one resolved, nothing repeated');
    assert.notEqual(seen[0]?.key, seen[1]?.key);
    assert.equal(await second.count('anomalyd_sink_points_dropped_total', { sink: 'mqtt_out' }), 0);
    console.log(`[mqtt_out] scores ${scores().length}, stall transitions ${seen.map((s) => `${s.key} ${s.status}`).join(', ')}`);
  } finally {
    await rxClient.endAsync(true);
  }
});
