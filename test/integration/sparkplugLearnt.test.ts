// Sparkplug B in with channels learnt from births (a sparkplug_b subscription with model "auto" and no `channels`),
// against the real daemon and Mosquitto, edge nodes written with Eclipse Tahu's sparkplug-payload:
// - A device's birth gives its stream's channels: its numeric metrics, sorted by name (the learnt model's manifest
//   says so), whatever order the birth lists them in.
// - Before its model is learnt, a birth with another set starts the stream learning again on that set.
// - Once a model learnt the set, a birth with another set is refused (channels_changed, counted per message,
//   logged once, the stream marked in /api/v1/streams) and nothing is scored; a birth with the learnt set again
//   (aliases reassigned) is scored again.
// - After a restart the stream is bound again with its learnt channels before any birth (its stall is watched).
// - With its learnt model removed (stopped daemon), a birth with a new set starts it learning again.
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { faultSuite, pollUntil, pumpSeries, simAssets, sleep } from '../helpers/faults';
import { EdgeNode } from '../helpers/sparkplugEdge';

const suite = faultSuite('sparkplug-learnt');
const T0 = Math.floor((Date.now() - 3 * 3600_000) / 1000) * 1000;
const CHANGED = [...PUMP_CHANNELS.filter((c) => c !== 'flow_m3h'), 'rpm'];

test('Sparkplug B: channels learnt from births; a changed set relearns before a model exists, and is refused after', async () => {
  let stateDir = '';
  const first = await suite.daemonFrom('sparkplug-learnt', (at) => {
    stateDir = at.stateDir;
    return `log: { level: info }
http: { host: 127.0.0.1, port: ${at.httpPort} }
state_dir: ${at.stateDir}
mqtt: { url: ${at.mqttUrl}, client_id: anomalyd-sparkplug-learnt-${path.basename(at.stateDir)}, embedded_broker: off, reconnect: { min_delay_ms: 200, max_delay_ms: 2000 } }
defaults:
  window: { size: 20, hop: 10, sample_period_ms: 1000 }
  training: { encoder_units: [32], latent_units: 4, epochs: 5, auto_learn_windows: 20, seed: 3 }
  calibration: { method: percentile, percentile: 99 }
  alerting: { stall_after_ms: 600000 }
subscriptions:
  - topic: spBv1.0/plant/#
    decoder: sparkplug_b
    stream: "{edge}/{device}"
    model: auto                 # no channels: each stream's come from its birth
sinks:
  console: { enabled: false }
`;
  });
  await first.ready();
  const client = await mqtt.connectAsync(suite.mosquitto.url, { clientId: 'edge-nodes-learnt', clean: true });
  try {
    const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
    type StreamJson = { stream: string; channels_changed?: string[] };
    const streams = async (base: string): Promise<StreamJson[]> => ((await (await fetch(`${base}/api/v1/streams`)).json()) as { streams: StreamJson[] }).streams;

    // 1. gw2/pump2 changes its metrics before it has a model: it learns again on the new set, nothing refused.
    const gw2 = new EdgeNode(client, 'plant', 'gw2', 'pump2');
    await gw2.birth(pumpSeries(seeds[1], T0, 1)[0]);
    await gw2.data(pumpSeries(seeds[1], T0 + 1000, 50));
    gw2.names = CHANGED;
    await gw2.birth(pumpSeries(seeds[1], T0 + 60_000, 1)[0]);
    await gw2.data(pumpSeries(seeds[1], T0 + 61_000, 30));
    await pollUntil('gw2/pump2 learns again', () => Promise.resolve(first.log), (l) => /Stream learns again on the channels of its new Sparkplug birth/.test(l), 10_000);
    assert.equal(await first.count('anomalyd_messages_rejected_total', { reason: 'channels_changed' }), 0);

    // 2. gw1/pump1 learns a model on the pump's 8 channels (20 windows of 20, hop 10: 210 samples).
    const gw1 = new EdgeNode(client, 'plant', 'gw1', 'pump1');
    const series = pumpSeries(seeds[0], T0, 600);
    await gw1.birth(series[0]);
    await gw1.data(series.slice(1, 300));
    await pollUntil('gw1/pump1 learns a model', () => Promise.resolve(first.log), (l) => /Learned a model; scoring starts/.test(l), 90_000);
    const dirs = await readdir(path.join(stateDir, 'models'));
    const manifests = await Promise.all(dirs.map(async (d) => JSON.parse(await readFile(path.join(stateDir, 'models', d, 'manifest.json'), 'utf8')) as { channels: string[] }));
    assert.deepEqual(manifests.map((m) => m.channels), [[...PUMP_CHANNELS].sort()], 'learnt on the birth\'s metrics, sorted by name');
    await gw1.data(series.slice(300, 400));
    await pollUntil('gw1/pump1 scored', () => first.metric('anomalyd_windows_scored_total'), (v) => v >= 5, 15_000);
    await first.drained();
    const scored = await first.metric('anomalyd_windows_scored_total');

    // 3. gw1/pump1 is born with another set: refused, counted, marked; nothing more is scored.
    gw1.names = CHANGED;
    await gw1.birth(series[400]);
    await gw1.data(series.slice(401, 450));
    await pollUntil('the changed set refused', () => first.count('anomalyd_messages_rejected_total', { reason: 'channels_changed' }), (v) => v === 50, 10_000);
    assert.equal(await first.metric('anomalyd_windows_scored_total'), scored);
    const marked = (await streams(first.base)).find((s) => s.stream === 'gw1/pump1');
    assert.deepEqual(marked?.channels_changed, [...CHANGED].sort());
    assert.equal(first.log.match(/Refusing the stream's data: its Sparkplug birth gives other channels than its model learnt/g)?.length, 1, 'logged once');

    // 4. Born with the learnt set again (aliases reassigned, metrics listed in another order): scored again, unmarked.
    gw1.names = [...PUMP_CHANNELS].reverse();
    await gw1.birth(series[450], true);
    await gw1.data(series.slice(451, 500));
    await pollUntil('scored again', () => first.metric('anomalyd_windows_scored_total'), (v) => v >= scored + 4, 15_000);
    assert.equal((await streams(first.base)).find((s) => s.stream === 'gw1/pump1')?.channels_changed, undefined);

    // 5. A restart binds gw1/pump1 with its learnt channels before any message.
    await first.stop();
    const second = suite.restart(first);
    await second.ready();
    // Both streams completed windows, so both were saved; binding one needs its channels.
    assert.equal(await second.metric('anomalyd_streams_active'), 2, 'bound from the state file with their learnt channels');
    gw1.names = PUMP_CHANNELS;
    await gw1.birth(series[500]);
    await gw1.data(series.slice(501, 560));
    await pollUntil('scored after the restart', () => second.metric('anomalyd_windows_scored_total'), (v) => v >= 4, 15_000);
    assert.equal(await second.count('anomalyd_messages_rejected_total', { reason: 'channels_changed' }), 0);

    // 6. To take a new set for good (operations.md): stop, remove the stream's learnt model, start; the next
    // birth with the new set starts the stream learning again instead of being refused.
    await second.drained();
    await second.stop();
    for (const d of await readdir(path.join(stateDir, 'models'))) await rm(path.join(stateDir, 'models', d), { recursive: true, force: true });
    const third = suite.restart(second);
    await third.ready();
    gw1.names = CHANGED;
    await gw1.birth(series[560]);
    await gw1.data(series.slice(561, 600));
    await pollUntil('gw1/pump1 learns again on the new set', () => Promise.resolve(third.log), (l) => /Stream learns again on the channels of its new Sparkplug birth/.test(l), 10_000);
    assert.equal(await third.count('anomalyd_messages_rejected_total', { reason: 'channels_changed' }), 0);
    await sleep(200);
  } finally {
    await client.endAsync();
  }
});
