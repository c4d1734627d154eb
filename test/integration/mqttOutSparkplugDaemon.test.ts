// mqtt_out's Sparkplug B edge node in the daemon (`anomalyd run`, real Mosquitto, Tahu-encoded messages): a stream's
// scores make its device (DBIRTH); a fault fires the anomaly alert, whose state arrives as DDATA
// (`alert/anomaly/firing` true); a host's NCMD `Node Control/Rebirth` brings the NBIRTH and DBIRTHs again through
// the daemon's own wiring, the DBIRTH carrying the firing alert; the resolve arrives as DDATA once the fault is
// over; a stream forgotten after its idle time dies (DDEATH) and is not born again by the next rebirth; a kill -9
// brings the NDEATH will.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectAsync } from 'mqtt';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, pumpSeries, simAssets, topicOf } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';
import { sparkplugCodec } from '../helpers/sparkplugEdge';

const codec = sparkplugCodec();
// 64-bit fields (seq, DateTime values) decode as Long objects.
const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));
const T0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const suite = faultSuite('spbout');

test('daemon: Sparkplug B out carries the alert state (DDATA, rebirth DBIRTH, resolve), answers a rebirth request, a stream evicted idle gets a DDEATH, and a kill -9 the NDEATH will', async () => {
  const rx = await connectAsync(suite.mosquitto.url, { clientId: 'spb-host', clean: true });
  const got: { topic: string; seq: number; metrics: ReadonlyMap<string, unknown> }[] = [];
  rx.on('message', (topic, payload) => {
    if (topic.includes('/NCMD/')) return;
    const p = codec.decodePayload(payload);
    got.push({ topic, seq: num(p.seq), metrics: new Map((p.metrics ?? []).map((m) => [m.name ?? '', m.value])) });
  });
  await rx.subscribeAsync('spBv1.0/plant9/#', { qos: 0 });
  const node = 'anomalyd-spbout-out';
  const topics = (): string[] => got.map((m) => m.topic);
  const rebirth = async (): Promise<void> => {
    const payload = codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
    await rx.publishAsync(`spBv1.0/plant9/NCMD/${node}`, Buffer.from(payload), { qos: 0 });
  };
  try {
    const d = await suite.daemon('spbout', {
      sinks: '  mqtt_out:\n    sparkplug: { group_id: plant9 }',
      extra: 'limits: { stream_idle_evict_ms: 8000 }',
    });
    await d.ready();
    await waitFor(() => topics().includes(`spBv1.0/plant9/NBIRTH/${node}`), 'the NBIRTH', 20_000, topics);
    const pub = await suite.publisher('spbout-publisher');
    const seed = simAssets('pump', 1, 3, 1)[0].seed;
    // Samples 60..110 four times their size: the anomaly alert fires, and resolves once windows are clean again.
    const series = pumpSeries(seed, T0, 220, [[60, 110]]);
    const send = async (from: number, to: number): Promise<void> => {
      for (const s of series.slice(from, to)) await pub.publish(topicOf('pump0'), pumpPayload(s), 1);
    };
    await send(0, 40);
    const device = `spBv1.0/plant9/DBIRTH/${node}/line1:pump0`;
    const data = `spBv1.0/plant9/DDATA/${node}/line1:pump0`;
    // Windows of 30 with hop 10 end at samples 30 and 40: a DBIRTH, then a DDATA.
    await waitFor(() => topics().includes(data), 'the DBIRTH and DDATA of line1/pump0', 20_000, topics);
    const born = got.find((m) => m.topic === device);
    assert.equal(born?.metrics.get('alert/anomaly/firing'), false, 'the birth names the alert, not firing');

    // The fault: the transition arrives as DDATA of the alert's metrics.
    await send(40, 130);
    const firing = (m: (typeof got)[number]): boolean => m.topic === data && m.metrics.get('alert/anomaly/firing') === true;
    await waitFor(() => got.some(firing), 'DDATA with alert/anomaly/firing true', 30_000, topics);
    const fired = got.find(firing);
    assert.match(String(fired?.metrics.get('alert/anomaly/severity')), /^(warning|critical)$/);
    assert.ok(num(fired?.metrics.get('alert/anomaly/since')) >= T0 + 60_000, 'since: when the episode started (plant time)');
    assert.ok(!fired?.metrics.has('score'), 'an alert transition carries only the alert metrics');

    // A host asks for the births: the daemon's edge node answers (NBIRTH seq 0, then the stream's DBIRTH), and the
    // DBIRTH carries the firing alert.
    const before = got.length;
    await rebirth();
    await waitFor(() => got.slice(before).some((m) => m.topic === device), 'the births again', 10_000, topics);
    const births = got.slice(before).findIndex((m) => m.topic === `spBv1.0/plant9/NBIRTH/${node}`);
    assert.deepEqual(got.slice(before + births, before + births + 2).map((m) => [m.topic, m.seq]), [[`spBv1.0/plant9/NBIRTH/${node}`, 0], [device, 1]]);
    const reborn = got.slice(before).find((m) => m.topic === device);
    assert.equal(reborn?.metrics.get('alert/anomaly/firing'), true, "the rebirth's DBIRTH carries the firing alert");
    assert.equal(reborn?.metrics.get('alert/anomaly/severity'), fired?.metrics.get('alert/anomaly/severity'));

    // The fault is over: the resolve arrives as DDATA.
    const afterRebirth = got.length;
    await send(130, series.length);
    const resolved = (m: (typeof got)[number]): boolean => m.topic === data && m.metrics.get('alert/anomaly/firing') === false;
    await waitFor(() => got.slice(afterRebirth).some(resolved), 'DDATA with alert/anomaly/firing false', 30_000, topics);
    assert.ok(num(got.slice(afterRebirth).find(resolved)?.metrics.get('alert/anomaly/since')) > num(fired?.metrics.get('alert/anomaly/since')));

    // The stream falls silent past stream_idle_evict_ms: forgotten, and its device dies.
    await waitFor(() => topics().includes(`spBv1.0/plant9/DDEATH/${node}/line1:pump0`), 'the DDEATH of the evicted stream', 30_000, topics);
    assert.equal(await d.count('anomalyd_streams_evicted_total', { reason: 'idle' }), 1);
    // The next rebirth no longer names it.
    const after = got.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await rebirth();
    await waitFor(() => got.slice(after).some((m) => m.topic === `spBv1.0/plant9/NBIRTH/${node}`), 'the NBIRTH', 10_000, topics);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(got.slice(after).map((m) => m.topic), [`spBv1.0/plant9/NBIRTH/${node}`]);

    // Killed (-9): the broker publishes the session's will, the NDEATH with the bdSeq of its NBIRTH.
    d.signal('SIGKILL');
    await d.exited;
    await waitFor(() => topics().includes(`spBv1.0/plant9/NDEATH/${node}`), 'the NDEATH will', 20_000, topics);
    const death = got.find((m) => m.topic === `spBv1.0/plant9/NDEATH/${node}`);
    const lastBirth = got.filter((m) => m.topic === `spBv1.0/plant9/NBIRTH/${node}`).at(-1);
    assert.equal(num(death?.metrics.get('bdSeq')), num(lastBirth?.metrics.get('bdSeq')), 'the will names the session of the births');
  } finally {
    await rx.endAsync(true);
  }
});

test('daemon: after a restart the alerts it restored are in the births at once, before any new sample', async () => {
  const rx = await connectAsync(suite.mosquitto.url, { clientId: 'spb-host-restart', clean: true });
  const got: { topic: string; metrics: ReadonlyMap<string, unknown> }[] = [];
  rx.on('message', (topic, payload) => got.push({ topic, metrics: new Map((codec.decodePayload(payload).metrics ?? []).map((m) => [m.name ?? '', m.value])) }));
  await rx.subscribeAsync('spBv1.0/plant8/#', { qos: 0 });
  const node = 'anomalyd-spbrestart-out';
  const device = `spBv1.0/plant8/DBIRTH/${node}/line1:pump0`;
  const topics = (): string[] => got.map((m) => m.topic);
  try {
    const first = await suite.daemon('spbrestart', { sinks: '  mqtt_out:\n    sparkplug: { group_id: plant8 }' });
    await first.ready();
    const pub = await suite.publisher('spbrestart-publisher');
    // The fault runs to the last sample: the anomaly alert is firing when the daemon stops.
    for (const s of pumpSeries(simAssets('pump', 1, 3, 1)[0].seed, T0, 130, [[60, 130]])) await pub.publish(topicOf('pump0'), pumpPayload(s), 1);
    await waitFor(() => got.some((m) => m.metrics.get('alert/anomaly/firing') === true), 'the alert firing', 30_000, topics);
    // Every sample scored before the stop, so none is left in the journal for the next run to score.
    // Windows of 30, hop 10, over 130 samples: 11.
    await pollUntil('every window scored', () => first.count('anomalyd_windows_scored_total'), (n) => n === 11, 20_000);
    await first.drained();
    first.signal('SIGTERM');
    assert.equal((await first.exited).code, 0, first.log.slice(-3000));
    const before = got.length;

    // Restarted with nothing published: the restored alert comes back through Sink.reconcile, and its device is
    // born with it (score metrics null: nothing scored yet in this run).
    const second = suite.restart(first);
    await second.ready();
    await waitFor(() => got.slice(before).some((m) => m.topic === device), 'the DBIRTH after the restart', 20_000, topics);
    const born = got.slice(before).find((m) => m.topic === device);
    assert.equal(born?.metrics.get('alert/anomaly/firing'), true, 'the restored alert is in the birth');
    assert.equal(born?.metrics.get('score'), null, 'no score yet in this run');
    assert.equal(await second.count('anomalyd_windows_scored_total'), 0, 'nothing scored in this run');
  } finally {
    await rx.endAsync(true);
  }
});
