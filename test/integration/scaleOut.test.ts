// Scale-out (issue 6): three `anomalyd run` processes with `shard: {index: i, count: 3}` against one real
// Mosquitto, each writing its scores to its own InfluxDB database. The publisher numbers every sample (sample i
// of a stream at T0 + i s) and uses tumbling windows (hop = size = 30), so the window grid is known exactly:
// stream k has windows ending at samples 29, 59, ... Checked:
// - every stream is scored by exactly one replica, the one core/shard.ts names, and the others count its
//   messages as another shard's;
// - no window is lost: the union of the replicas' windows is the whole grid, every window complete;
// - no window is scored twice: the replicas' anomalyd_windows_scored_total add up to the grid exactly;
// - a replica stopped (SIGTERM) between two windows and started again takes its own streams back from its
//   persistent broker session: the other replicas never score them meanwhile, and its windows continue the
//   grid without a gap or a duplicate.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { shardOf } from '../../src/core/shard';
import type { Sample } from '../../src/core/types';
import { connectMqttPublisher, type MqttPublisher } from '../../src/sources/mqttClient';
import { pumpPayload } from '../../src/simulator/signals';
import { DaemonProcess, pollUntil, publishAll, pumpConfig, pumpSeries, simAssets, topicOf } from '../helpers/faults';
import { Influxd } from '../helpers/influxd';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const REPLICAS = 3;
const STREAMS = 12;
const SIZE = 30;
/** Samples per stream before the restart and after it: whole windows each. */
const PHASE = 3 * SIZE;
const T0 = Math.floor((Date.now() - 24 * 3600_000) / 1000) * 1000;

let dir: string;
let mosquitto: Mosquitto;
let influx: Influxd;
let publisher: MqttPublisher | undefined;
const daemons: (DaemonProcess | undefined)[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-scale-out-'));
  [mosquitto, influx] = await Promise.all([startMosquitto(), Influxd.start()]);
});

after(async () => {
  await publisher?.close().catch(() => undefined);
  await Promise.all(daemons.map((d) => (d ? d.stop() : Promise.resolve())));
  await Promise.allSettled([mosquitto?.close(), influx?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

interface Stream {
  readonly asset: string;
  readonly id: string;
  readonly owner: number;
  readonly samples: Sample[];
}

test('three replicas split the streams by hash: each scored by exactly one, no window lost or repeated, a restart takes its streams back', async () => {
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  const streams: Stream[] = Array.from({ length: STREAMS }, (_, k) => {
    const asset = `pump${k}`;
    const id = `line1/${asset}`;
    return { asset, id, owner: shardOf(id, REPLICAS), samples: pumpSeries(seeds[k % seeds.length], T0, 2 * PHASE) };
  });
  const owned = (r: number): Stream[] => streams.filter((s) => s.owner === r);
  for (let r = 0; r < REPLICAS; r++) assert.ok(owned(r).length > 0, `shard ${r} owns some of the ${STREAMS} streams (test set-up)`);
  const restarted = [0, 1, 2].reduce((best, r) => (owned(r).length > owned(best).length ? r : best), 0);

  const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
  const configs = await Promise.all(
    ports.map(async (httpPort, r) => {
      const file = path.join(dir, `replica${r}.yaml`);
      await writeFile(
        file,
        pumpConfig({
          httpPort,
          stateDir: path.join(dir, `var${r}`),
          mqttUrl: mosquitto.url,
          clientId: `anomalyd-scale-${r}`,
          hop: SIZE,
          sinks: `  influx: { url: ${influx.url}/replica${r}, flush_interval_ms: 100 }`,
          extra: `shard: { index: ${r}, count: ${REPLICAS} }`,
        }),
      );
      return file;
    }),
  );
  const start = async (r: number): Promise<DaemonProcess> => {
    const d = new DaemonProcess(configs[r], ports[r], dir);
    daemons[r] = d;
    await d.ready(60_000);
    return d;
  };
  await Promise.all([0, 1, 2].map(start));
  for (let r = 0; r < REPLICAS; r++) {
    const d = daemons[r] as DaemonProcess;
    assert.equal(await d.metric('anomalyd_shard_info', { index: String(r), count: String(REPLICAS) }), 1);
  }

  publisher = await connectMqttPublisher({ url: mosquitto.url, clientId: 'scale-out-publisher' });
  const pub = publisher;
  const publishRange = (from: number, to: number): Promise<void> => {
    const msgs: { topic: string; payload: string }[] = [];
    for (let i = from; i < to; i++) for (const s of streams) msgs.push({ topic: topicOf(s.asset), payload: pumpPayload(s.samples[i]) });
    return publishAll(pub, msgs, 100);
  };
  const windowsPerPhase = PHASE / SIZE;
  const scored = (r: number): Promise<number> => (daemons[r] as DaemonProcess).metric('anomalyd_windows_scored_total');
  const waitScored = (r: number, expected: number, what: string): Promise<number> =>
    pollUntil(what, () => scored(r), (n) => n >= expected, 60_000);

  // Phase 1: all replicas up.
  await publishRange(0, PHASE);
  for (let r = 0; r < REPLICAS; r++) await waitScored(r, owned(r).length * windowsPerPhase, `replica ${r}: phase-1 windows of its ${owned(r).length} streams`);
  const before = await Promise.all([0, 1, 2].map(async (r) => ({ scored: await scored(r), other: await (daemons[r] as DaemonProcess).metric('anomalyd_messages_other_shard_total') })));
  for (let r = 0; r < REPLICAS; r++) {
    assert.equal(before[r].scored, owned(r).length * windowsPerPhase, `replica ${r} scored exactly its streams' windows`);
    assert.equal(before[r].other, (STREAMS - owned(r).length) * PHASE, `replica ${r} counted every message of the other shards`);
  }

  // Phase 2: one replica is stopped between two windows (all it received is scored) while the data goes on; the
  // broker keeps its messages in its session; then it starts again.
  const stopped = await (daemons[restarted] as DaemonProcess).stop();
  assert.equal(stopped.code, 0, 'SIGTERM: clean exit');
  await publishRange(PHASE, 2 * PHASE);
  for (const r of [0, 1, 2].filter((x) => x !== restarted)) {
    await waitScored(r, owned(r).length * 2 * windowsPerPhase, `replica ${r}: phase-2 windows while replica ${restarted} is down`);
  }
  const duringOutage = await influx.query(
    `SELECT count(score) FROM anomaly_score WHERE time > ${T0 + (PHASE - 1) * 1000}ms GROUP BY stream`,
    `replica${(restarted + 1) % REPLICAS}`,
  );
  const foreign = duringOutage.map((s) => s.tags?.['stream']).filter((id) => owned(restarted).some((s) => s.id === id));
  assert.deepEqual(foreign, [], `no other replica scored the streams of the stopped replica ${restarted}`);
  await start(restarted);
  const resumed = await waitScored(restarted, owned(restarted).length * windowsPerPhase, `replica ${restarted}: its phase-2 windows after the restart`);

  // Let the sinks flush, then read every replica's windows.
  await pollUntil(
    'every window in InfluxDB',
    async () => {
      let n = 0;
      for (let r = 0; r < REPLICAS; r++) for (const s of await influx.query('SELECT count(score) FROM anomaly_score GROUP BY stream', `replica${r}`)) n += Number(s.values[0]?.[1] ?? 0);
      return n;
    },
    (n) => n >= STREAMS * 2 * windowsPerPhase,
    30_000,
  );
  const windowsOf = new Map<string, { replica: number; ends: number[]; incomplete: number }[]>();
  for (let r = 0; r < REPLICAS; r++) {
    for (const s of await influx.query('SELECT score, completeness FROM anomaly_score GROUP BY stream', `replica${r}`)) {
      const id = String(s.tags?.['stream']);
      const rows = s.values as [number, number, number][];
      const entry = { replica: r, ends: rows.map(([t]) => Math.round((t - T0) / 1000)), incomplete: rows.filter(([, , c]) => c < 1).length };
      windowsOf.set(id, [...(windowsOf.get(id) ?? []), entry]);
    }
  }
  const grid = Array.from({ length: (2 * PHASE) / SIZE }, (_, w) => (w + 1) * SIZE - 1);
  for (const s of streams) {
    const seen = windowsOf.get(s.id) ?? [];
    assert.deepEqual(seen.map((e) => e.replica), [s.owner], `${s.id} is scored by exactly one replica, its owner ${s.owner}`);
    assert.deepEqual(seen[0]?.ends, grid, `${s.id}: every window of the grid, none missing`);
    assert.equal(seen[0]?.incomplete, 0, `${s.id}: no window misses a sample`);
  }
  const after = await Promise.all([0, 1, 2].map(scored));
  const total = after.reduce((a, b) => a + b, 0) + before[restarted].scored;
  assert.equal(total, STREAMS * 2 * windowsPerPhase, 'windows scored over all replicas and both runs of the restarted one = the grid: no duplicate');
  assert.equal(resumed, owned(restarted).length * windowsPerPhase);
  console.log(
    `[scale-out] ${STREAMS} streams over ${REPLICAS} replicas: ${[0, 1, 2].map((r) => owned(r).length).join('/')} streams; ` +
      `${STREAMS * 2 * PHASE} messages, each replica received all of them; windows scored ${total} = grid ${STREAMS * 2 * windowsPerPhase}; ` +
      `replica ${restarted} restarted between phases and scored its ${owned(restarted).length * windowsPerPhase} queued windows`,
  );
});

test('MQTT 5 $share on Mosquitto: each message reaches one replica, but round-robin splits a stream between them', async () => {
  // Why docs/operations.md says "with Mosquitto, use shard": Mosquitto hands the messages of a shared subscription to
  // its members in turn, not by topic, so the samples of one stream land on both replicas and neither sees
  // whole windows. Brokers that dispatch by topic hash (EMQX hash_topic) keep a stream on one member.
  const N = 120;
  const ports = await Promise.all([freePort(), freePort()]);
  const replicas = await Promise.all(
    ports.map(async (httpPort, r) => {
      const file = path.join(dir, `share${r}.yaml`);
      const config = pumpConfig({
        httpPort,
        stateDir: path.join(dir, `share-var${r}`),
        mqttUrl: mosquitto.url,
        clientId: `anomalyd-share-${r}`,
        hop: SIZE,
        mqttExtra: '  protocol_version: 5',
      }).replace('topic: plant/+/+/telemetry', 'topic: $share/anomalyd/plant/+/+/telemetry');
      await writeFile(file, config);
      const d = new DaemonProcess(file, httpPort, dir);
      daemons.push(d);
      await d.ready(60_000);
      return d;
    }),
  );
  const [seed] = simAssets('pump', 1, 1, 7).map((a) => a.seed);
  const samples = pumpSeries(seed, T0, N);
  publisher ??= await connectMqttPublisher({ url: mosquitto.url, clientId: 'scale-out-publisher' });
  await publishAll(publisher, samples.map((s) => ({ topic: topicOf('shared'), payload: pumpPayload(s) })), 1);
  const received = await pollUntil(
    'every shared message received by some replica',
    () => Promise.all(replicas.map((d) => d.metric('anomalyd_messages_received_total'))),
    (counts) => counts[0] + counts[1] >= N,
    30_000,
  );
  const scoredWindows = await Promise.all(replicas.map((d) => d.metric('anomalyd_windows_scored_total')));
  console.log(`[scale-out] $share on Mosquitto ${N} messages of one stream: received ${received.join(' + ')}; windows scored ${scoredWindows.join(' + ')} of ${N / SIZE} on the grid`);
  assert.equal(received[0] + received[1], N, 'a shared subscription delivers each message to one member only');
  assert.ok(received[0] > 0 && received[1] > 0, `round-robin: both replicas got samples of the one stream (${received.join(', ')})`);
  assert.ok(scoredWindows[0] + scoredWindows[1] < N / SIZE, 'the split stream loses windows: why Mosquitto needs `shard` instead');
});
