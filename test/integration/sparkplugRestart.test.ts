// Sparkplug B in across a restart of the daemon (real Mosquitto, `anomalyd run`, a webhook receiver), with edge
// nodes written with Eclipse Tahu's sparkplug-payload (test/helpers/sparkplugEdge.ts):
// - An edge node's own metrics (NBIRTH/NDATA, no device) form the stream "<edge>" under `stream: "{edge}/{device}"`,
//   and a `streams` entry with that id applies to it (its own window hop: more windows than its neighbour's).
// - The node dies (NDEATH) and the daemon is stopped and started again: the stream is still offline (status API,
//   anomalyd_streams_offline), no IngestionStalled pages for it however long it is silent (while a device that
//   only fell silent before the restart does page: the stall check is live), and data it sends without a birth is
//   refused (not_born), never scored, and asks the node for a rebirth (an NCMD). Born again, it is online and scored.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { faultSuite, PUMP_MODEL, pollUntil, pumpSeries, simAssets, sleep } from '../helpers/faults';
import { EdgeNode } from '../helpers/sparkplugEdge';

const suite = faultSuite('sparkplug-restart', { receiver: true });
const T0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;

test('Sparkplug B: a node that died stays offline across a restart until born again; its own stream takes its streams[] entry', async () => {
  const { receiver } = suite;
  const first = await suite.daemonFrom(
    'sparkplug-restart',
    (at) => `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-sparkplug-restart-${path.basename(at.stateDir)}, embedded_broker: off, reconnect: { min_delay_ms: 200, max_delay_ms: 2000 } }
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
streams:
  - id: gw9            # the node's own metrics (no device)
    window: { hop: 5 }
sinks:
  console: { enabled: false }
  webhooks:
    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }
`,
  );
  await first.ready();
  const client = await mqtt.connectAsync(suite.mosquitto.url, { clientId: 'edge-nodes-restart', clean: true });
  const commands: string[] = [];
  client.on('message', (topic) => commands.push(topic));
  await client.subscribeAsync('spBv1.0/plant/NCMD/+', { qos: 0 });
  try {
    const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
    const gw9 = new EdgeNode(client, 'plant', 'gw9', null);
    const gw1 = new EdgeNode(client, 'plant', 'gw1');
    const paged = (): string[] => receiver.delivered().flatMap((r) => r.body.alerts.map((a) => `${a.status} ${a.labels['alertname']} ${a.labels['stream']}`));
    const streams = async (base: string): Promise<{ stream: string; offline?: boolean }[]> =>
      ((await (await fetch(`${base}/api/v1/streams`)).json()) as { streams: { stream: string; offline?: boolean }[] }).streams;

    // 1. gw9's own metrics, 60 s; gw1's device pump1, 40 s. gw9's entry hops 5: windows at samples 30, 35 .. 60 (7);
    // gw1/pump1 hops 10: at 30 and 40 (2).
    const series9 = pumpSeries(seeds[0], T0, 60);
    const series1 = pumpSeries(seeds[1], T0, 40);
    await gw9.birth(series9[0]);
    await gw9.data(series9.slice(1));
    await gw1.birth(series1[0]);
    await gw1.data(series1.slice(1));
    await pollUntil('9 windows scored', () => first.metric('anomalyd_windows_scored_total'), (v) => v === 9, 15_000);
    assert.deepEqual((await streams(first.base)).map((s) => s.stream).sort(), ['gw1/pump1', 'gw9']);

    // 2. gw9 dies; the daemon stops (SIGTERM) and starts again on the same state_dir.
    await gw9.death();
    await pollUntil('gw9 offline', () => first.metric('anomalyd_streams_offline'), (v) => v === 1, 10_000);
    await first.stop();
    const second = suite.restart(first);
    await second.ready();
    assert.equal(await second.metric('anomalyd_streams_offline'), 1, 'still offline after the restart');
    assert.deepEqual((await streams(second.base)).filter((s) => s.offline).map((s) => s.stream), ['gw9']);
    assert.match(second.log, /Stream is still offline from before the restart/);

    // 3. Both are silent: gw1/pump1 (no death certificate) pages a stall, gw9 does not.
    await pollUntil('gw1/pump1 stalls', () => Promise.resolve(paged()), (p) => p.includes('firing IngestionStalled gw1/pump1'), 20_000);
    await sleep(4_000);
    assert.ok(!paged().some((p) => /IngestionStalled gw9/.test(p)), `no stall page for the dead node: ${paged().join('; ')}`);

    // 4. gw9 sends data by name without a birth: refused, nothing scored.
    await gw9.data(pumpSeries(seeds[0], T0 + 100_000, 40).slice(0, 40), 0, true);
    await pollUntil('the data refused', () => second.count('anomalyd_messages_rejected_total', { reason: 'not_born' }), (v) => v === 40, 10_000);
    assert.equal(await second.metric('anomalyd_windows_scored_total'), 0);
    // ... and gw9 is asked for its births (the restarted source had no record of it; the pipeline's refusal asks).
    await pollUntil('an NCMD rebirth for gw9', () => Promise.resolve(commands), (c) => c.includes('spBv1.0/plant/NCMD/gw9'), 10_000);

    // 5. Born again: online, and its 60 samples make 7 windows.
    const series9b = pumpSeries(seeds[0], T0 + 200_000, 60);
    await gw9.birth(series9b[0]);
    await gw9.data(series9b.slice(1));
    await pollUntil('gw9 online', () => second.metric('anomalyd_streams_offline'), (v) => v === 0, 10_000);
    await pollUntil('gw9 scored again', () => second.metric('anomalyd_windows_scored_total'), (v) => v === 7, 15_000);
    await second.drained();
    assert.ok(!paged().some((p) => / gw9$/.test(p)), `nothing paged for gw9: ${paged().join('; ')}`);
  } finally {
    await client.endAsync();
  }
});
