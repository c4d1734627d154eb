#!/usr/bin/env node
// The benchmark's load generator, a process of its own: pump telemetry as the simulator publishes it
// ({"ts": ms, "vib_x_rms": ..., 8 channels}, about 190 bytes) to plant/<line>/p<N>/telemetry through MQTT.
// Signals are the simulator's fault-free pumps (pumpSamples) of the six pumps the bundled model was trained on
// (scripts/trainDemoModels.js: lines 1-2, assets 1-3, seed 1), shared round-robin by the assets; payload timestamps are simulated time, 1 s apart per asset as the bundled pump model expects, starting
// far enough in the past that they never run ahead of the wall clock.
//
//   flood: --messages N   publish N messages as fast as the broker takes them, asset after asset round-robin
//                         (message i goes to asset i mod A, as its sample i div A), at most --inflight
//                         unacknowledged (QoS 1) or unwritten (QoS 0) at once.
//   paced: --rate-hz R    every asset publishes R messages per second (in 10 ms ticks) until --duration S or
//                         SIGTERM; reports how far behind schedule it fell.
// Common: --url U --qos 0|1 --assets A [--asset-offset O] [--line L] [--t0 MS]
// stdout: JSON lines {"type":"ready"}, {"type":"progress",...} (paced), {"type":"done",...}.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const mqtt = require('mqtt');

const root = path.resolve(__dirname, '..', '..');
const sim = require(path.join(root, 'dist', 'simulator', 'signals.js'));

const SEEDS = sim.simAssets('pump', 2, 3, 1).map((a) => a.seed);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// Exit when the benchmark that started this process is gone (killed outright: no one else would stop us).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

async function main() {
  const { values: v } = parseArgs({
    options: {
      url: { type: 'string' },
      qos: { type: 'string', default: '1' },
      assets: { type: 'string', default: '1000' },
      'asset-offset': { type: 'string', default: '0' },
      line: { type: 'string', default: 'l1' },
      t0: { type: 'string' },
      messages: { type: 'string' },
      'rate-hz': { type: 'string' },
      duration: { type: 'string', default: '60' },
      inflight: { type: 'string', default: '2000' },
      'samples-per-asset': { type: 'string' },
      'start-sample': { type: 'string', default: '0' },
    },
  });
  const qos = Number(v.qos);
  const assets = Number(v.assets);
  const offset = Number(v['asset-offset']);
  const inflightMax = Number(v.inflight);
  // Default: the day after the bundled model's training recordings (scripts/trainDemoModels.js, from
  // 2026-01-05T00:00Z), same times of day: in-distribution data the model has not seen.
  const t0 = Number(v.t0 ?? Date.parse('2026-01-06T00:00:00Z'));
  const paced = v['rate-hz'] !== undefined;
  const total = paced ? Infinity : Number(v.messages);
  const startSample = Number(v['start-sample']);
  const perAsset = Number(v['samples-per-asset'] ?? (paced ? Math.ceil(Number(v['rate-hz']) * Number(v.duration)) + 10 : Math.ceil(total / assets)));

  // Payloads by (signal seed, sample index): every asset with that seed sends the same bytes at that index.
  // Capped pool; beyond it indices wrap (values repeat, timestamps keep increasing).
  // Indexed by the sample's own number (start-sample + j), so a run that continues an earlier one (the memory
  // section's live phase) continues its signals too instead of jumping back to their start (an anomaly).
  const poolSamples = Math.min(startSample + perAsset, 4000);
  const pool = [];
  for (const seed of SEEDS) {
    const samples = sim.pumpSamples(seed, t0, poolSamples, [], 1000);
    pool.push(samples.map((x) => x.values));
  }
  const payload = (asset, j) => {
    const values = pool[asset % SEEDS.length][(startSample + j) % poolSamples];
    return Buffer.from(sim.pumpPayload({ ts: t0 + (startSample + j) * 1000, values }));
  };
  const topics = Array.from({ length: assets }, (_, a) => `plant/${v.line}/p${offset + a}/telemetry`);

  const client = mqtt.connect(v.url, { clientId: `bench-pub-${process.pid}`, clean: true, protocolVersion: 4, keepalive: 60, reconnectPeriod: 0 });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  client.on('error', (err) => process.stderr.write(`publisher: ${err.message}\n`));
  emit({ type: 'ready' });

  let inflight = 0;
  let acked = 0;
  let published = 0;
  let wake = null;
  const onAck = (err) => {
    if (err) process.stderr.write(`publisher: ${err.message}\n`);
    inflight--;
    acked++;
    if (wake && inflight < inflightMax) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const send = (i) => {
    const a = i % assets;
    const j = Math.floor(i / assets);
    inflight++;
    published++;
    client.publish(topics[a], payload(offset + a, j), { qos }, onAck);
  };
  let stopping = false;
  process.once('SIGTERM', () => (stopping = true));

  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  if (!paced) {
    for (let i = 0; i < total && !stopping; i++) {
      if (inflight >= inflightMax) await new Promise((r) => (wake = r));
      send(i);
      // Let the socket and the acknowledgements run now and then.
      if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
    }
    while (inflight > 0) await new Promise((r) => (wake = r));
    const s = seconds();
    emit({ type: 'done', published, acked, seconds: s, mps: published / s });
  } else {
    const rate = assets * Number(v['rate-hz']);
    const duration = Number(v.duration);
    let i = 0;
    let behindTicks = 0;
    let windowFull = 0;
    let lastReport = 0;
    while (!stopping && seconds() < duration) {
      const due = Math.floor(seconds() * rate);
      if (due - i > rate * 0.05) behindTicks++;
      while (i < due) {
        if (inflight >= inflightMax) {
          windowFull++;
          break;
        }
        send(i++);
      }
      const s = seconds();
      if (s - lastReport >= 1) {
        lastReport = s;
        emit({ type: 'progress', seconds: s, published, acked, inflight, mps: published / s });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const s = seconds();
    emit({ type: 'done', published, acked, seconds: s, mps: published / s, target_mps: rate, behind_ticks: behindTicks, window_full: windowFull });
  }
  await client.endAsync();
}

main().catch((err) => {
  process.stderr.write(`publisher: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
