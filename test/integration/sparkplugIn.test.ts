// Sparkplug B in, against the real daemon, Mosquitto and a webhook receiver, with edge nodes written here with the
// same library the daemon reads them with (Eclipse Tahu's sparkplug-payload): NBIRTH/DBIRTH with named, aliased
// metrics of the pump's channels, then DDATA by alias (report by exception), scored by the bundled pump model.
// - A fault in the data pages (AnomalyDetected); the node's NDEATH right after takes the stream offline at once:
//   the page resolves, /api/v1/streams and anomalyd_streams_offline show it, and no IngestionStalled pages although the
//   data stopped (a second node that just falls silent does page, so the check was live). Data of the dead node
//   is refused (not_born) and asks for a rebirth: an NCMD Node Control/Rebirth observed on the broker.
// - Born again with the aliases reassigned (alias 1 now names another metric): scored, nothing pages (a stale
//   alias table would feed the model permuted channels), the stream is online.
// - A DDATA whose seq skips is counted and asks for a rebirth again (another NCMD); one whose seq steps back
//   (reordered) is counted too, and its data taken.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { counterValue, faultSuite, metricValue, pollUntil, PUMP_MODEL, pumpSeries, simAssets, sleep } from '../helpers/faults';
import { EdgeNode, sparkplugCodec } from '../helpers/sparkplugEdge';

const codec = sparkplugCodec();
const suite = faultSuite('sparkplug', { receiver: true });
const T0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;

test('Sparkplug B: births, data by alias scored, death offline without a stall page, rebirth with reused aliases, seq gaps and steps back ask for rebirths', async () => {
  const { receiver } = suite;
  const d = await suite.daemonFrom(
    'sparkplug',
    (at) => `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-sparkplug-${path.basename(at.stateDir)}, embedded_broker: off, reconnect: { min_delay_ms: 200, max_delay_ms: 2000 } }
models: { pump: { path: ${PUMP_MODEL} } }
limits: { stall_summary_streams: 0 }
defaults:
  window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  alerting: { k: 3, n: 5, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 3000 }
subscriptions:
  - topic: spBv1.0/plant/#
    decoder: sparkplug_b
    stream: "{edge}/{device}"
    model: pump
    channels: [${PUMP_CHANNELS.join(', ')}]
    sparkplug: { rebirth_requests: true, rebirth_min_interval_ms: 1000 }
sinks:
  console: { enabled: false }
  webhooks:
    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }
`,
  );
  await d.ready();
  const client = await mqtt.connectAsync(suite.mosquitto.url, { clientId: 'edge-nodes', clean: true });
  const commands: { topic: string; rebirth: boolean }[] = [];
  client.on('message', (topic, payload) => {
    const p = codec.decodePayload(payload);
    commands.push({ topic, rebirth: (p.metrics ?? []).some((m) => m.name === 'Node Control/Rebirth' && m.value === true) });
  });
  await client.subscribeAsync('spBv1.0/plant/NCMD/+', { qos: 0 });
  try {
    const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
    const gw1 = new EdgeNode(client, 'plant', 'gw1');
    const gw2 = new EdgeNode(client, 'plant', 'gw2');
    const paged = (): string[] => receiver.delivered().flatMap((r) => r.body.alerts.map((a) => `${a.status} ${a.labels['alertname']} ${a.labels['stream']}`));
    const streams = async (): Promise<{ stream: string; offline?: boolean }[]> => ((await (await fetch(`${d.base}/api/v1/streams`)).json()) as { streams: { stream: string; offline?: boolean }[] }).streams;

    // 1. Births and 150 s of data, the last 60 s faulty (x4) on gw1; gw2 sends 60 s of normal data, then falls silent.
    const series1 = pumpSeries(seeds[0], T0, 150, [[90, 150]]);
    const series2 = pumpSeries(seeds[1], T0, 60);
    await gw1.birth(series1[0]);
    await gw2.birth(series2[0]);
    await gw2.data(series2.slice(1));
    await gw1.data(series1.slice(1));
    // 2. gw1 dies right after its data: offline at once. The windows it had queued are scored first (its fault
    // pages), then its page resolves, and no stall pages however long it stays silent.
    await gw1.death();
    await pollUntil('gw1/pump1 offline', () => d.metric('anomalyd_streams_offline'), (v) => v === 1, 10_000);
    assert.deepEqual((await streams()).filter((s) => s.offline).map((s) => s.stream), ['gw1/pump1']);
    await pollUntil('the fault pages, then resolves', () => Promise.resolve(paged()), (p) => p.includes('resolved AnomalyDetected gw1/pump1'), 10_000);
    assert.ok(paged().indexOf('firing AnomalyDetected gw1/pump1') >= 0, `the fault paged: ${paged().join('; ')}`);
    const text1 = await d.metricsText();
    assert.ok(counterValue(text1, 'anomalyd_sparkplug_messages_total', { type: 'DDATA' }) >= 149 + 59, 'every DDATA counted');
    assert.equal(counterValue(text1, 'anomalyd_messages_rejected_total', { reason: 'unknown_alias' }), 0);
    assert.equal(counterValue(text1, 'anomalyd_messages_rejected_total', { reason: 'unsupported_datatype' }), 0, 'the String property feeds no channel');
    assert.equal(counterValue(text1, 'anomalyd_sparkplug_sequence_gaps_total'), 0);
    assert.equal(counterValue(text1, 'anomalyd_windows_scored_total'), 13 + 4);
    // The control: gw2 fell silent without a death certificate, and pages.
    await pollUntil('gw2 stalls', () => Promise.resolve(paged()), (p) => p.includes('firing IngestionStalled gw2/pump1'), 15_000);
    // Data of the dead node: refused, and a rebirth is asked for.
    await gw1.data(pumpSeries(seeds[0], T0 + 150_000, 1));
    await pollUntil('an NCMD rebirth for gw1', () => Promise.resolve(commands), (c) => c.some((x) => x.topic === 'spBv1.0/plant/NCMD/gw1' && x.rebirth), 10_000);
    assert.equal(await d.count('anomalyd_messages_rejected_total', { reason: 'not_born' }), 1);
    await sleep(4_000);
    assert.ok(!paged().some((p) => /IngestionStalled gw1/.test(p)), `no stall page for the dead node: ${paged().join('; ')}`);
    assert.equal(await d.metric('anomalyd_streams_offline'), 1);

    // 3. Born again with the aliases reversed (alias 1 now names the last channel): scored as before, no page.
    const series3 = pumpSeries(seeds[0], T0 + 200_000, 60);
    const scored = await d.metric('anomalyd_windows_scored_total');
    await gw1.birth(series3[0], true);
    await gw1.data(series3.slice(1));
    await pollUntil('gw1/pump1 online', () => d.metric('anomalyd_streams_offline'), (v) => v === 0, 10_000);
    // A fresh window buffer after the outage: 60 samples make 4 windows.
    await pollUntil('the reborn stream scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v === scored + 4, 10_000);
    await d.drained();
    assert.deepEqual(paged().filter((p) => /gw1/.test(p) && p.startsWith('firing')), ['firing AnomalyDetected gw1/pump1'], 'nothing new pages after the rebirth');
    assert.equal(await d.count('anomalyd_stream_liveness_changes_total', { state: 'online' }), 1);

    // 4. A seq that skips: counted, and another rebirth is asked for.
    const before = commands.filter((c) => c.topic === 'spBv1.0/plant/NCMD/gw1').length;
    await sleep(1_100); // past rebirth_min_interval_ms since the last request
    await gw1.data(pumpSeries(seeds[0], T0 + 260_000, 1), 3);
    await pollUntil('the seq gap counted', () => d.metric('anomalyd_sparkplug_sequence_gaps_total'), (v) => v === 1, 10_000);
    await pollUntil('a second NCMD rebirth for gw1', () => Promise.resolve(commands), (c) => c.filter((x) => x.topic === 'spBv1.0/plant/NCMD/gw1' && x.rebirth).length === before + 1, 10_000);
    const text = await d.metricsText();
    assert.equal(metricValue(text, 'anomalyd_sparkplug_rebirth_requests_total', { result: 'sent' }), 2);
    assert.ok(counterValue(text, 'anomalyd_sparkplug_messages_total', { type: 'NCMD' }) >= 2, 'its own commands come back on its subscription: counted, not rejected');
    assert.equal(counterValue(text, 'anomalyd_messages_rejected_total', { reason: 'unknown_stream' }), 0);

    // 5. A seq that steps back (a message reordered on the way): a gap too, and its data is still taken.
    const samples = await d.metric('anomalyd_samples_total');
    await gw1.data(pumpSeries(seeds[0], T0 + 261_000, 1), -2);
    await pollUntil('the step back counted', () => d.metric('anomalyd_sparkplug_sequence_gaps_total'), (v) => v === 2, 10_000);
    await pollUntil('its sample taken', () => d.metric('anomalyd_samples_total'), (v) => v === samples + 1, 10_000);
  } finally {
    await client.endAsync();
  }
});
