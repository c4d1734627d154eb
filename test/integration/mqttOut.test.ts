// The mqtt_out sink against a real Mosquitto, built from config through the sink registry as the daemon builds
// it: scores and alert states arrive on their topics as documented, retained state is what a late subscriber
// sees (Home Assistant discovery configs included), and an alert transition written while the broker is down (a
// broker restart, an outage, a stop of the sink in between) reaches a subscriber exactly once.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { get } from 'sparkplug-payload';
import { planSinks } from '../../src/app/sinks';
import { loadConfigText } from '../../src/config/load';
import type { AlertNotice } from '../../src/core/alert';
import type { ScorePoint } from '../../src/core/sink';
import type { Sink } from '../../src/sinks/sink';
import { testContext, type TestContext } from '../helpers/context';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/mosquitto';

let broker: Mosquitto;
const dirs: string[] = [];
const clients: MqttClient[] = [];

before(async () => {
  broker = await startMosquitto();
});

after(async () => {
  for (const s of sinks) await s.stop();
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await broker?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
}

/** A subscriber to `filter`; `session` names a persistent session (QoS 1 messages wait for it at the broker). */
async function subscriber(filter: string | string[], session?: string): Promise<{ client: MqttClient; got: Received[] }> {
  const got: Received[] = [];
  const client = await connectAsync(broker.url, {
    clientId: session ?? `late-${Math.random().toString(16).slice(2)}`,
    clean: session === undefined,
    reconnectPeriod: 200,
  });
  clients.push(client);
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(topic.startsWith('spBv1.0/') ? 'latin1' : 'utf8'), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, got };
}

const sinks: Sink[] = [];

/**
 * The mqtt_out sink a config with `sinks.mqtt_out: <body>` asks for, on a fresh (or the given) state_dir; the
 * daemon's client id is `name` (the sink's is `<name>-out`). Stopped after the tests if a test did not.
 */
async function outSink(name: string, body: string, stateDir?: string): Promise<{ sink: Sink; t: TestContext; stateDir: string }> {
  const dir = stateDir ?? (await mkdtemp(path.join(tmpdir(), 'mqtt-out-')));
  if (!stateDir) dirs.push(dir);
  const yaml = `state_dir: ${dir}\nmqtt: { url: ${broker.url}, client_id: ${name}, reconnect: { min_delay_ms: 200 } }\nsinks:\n  mqtt_out: ${body}\n`;
  const config = loadConfigText(yaml, path.join(dir, 'anomalyd.yaml'), {});
  const t = testContext('sink.mqtt_out');
  const plans = planSinks(config, () => t.ctx, 'http://anomalyd.test/');
  assert.equal(plans.length, 1);
  const sink = plans[0].build();
  sinks.push(sink);
  return { sink, t, stateDir: dir };
}

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function score(stream: string, i: number, extra: Partial<ScorePoint> = {}): ScorePoint {
  return { stream, model: 'pump', modelVersion: '2', time: T0 + i * 10_000, score: 0.01 * i, threshold: 0.3, pValue: 0.5, anomalous: false, completeness: 1, channelShares: { vib_x: 0.6, current: 0.4 }, ...extra };
}

function notice(stream: string, status: 'firing' | 'resolved', sequence: number): AlertNotice {
  return {
    fingerprint: `fp-${stream}`,
    stream,
    model: 'pump',
    kind: 'anomaly',
    status,
    severity: 'warning',
    startsAt: T0,
    endsAt: status === 'resolved' ? T0 + 60_000 : null,
    score: 0.9,
    threshold: 0.3,
    pValue: 1e-5,
    topChannels: [{ channel: 'vib_x', share: 0.7, reading: { observed: 4.2, expected: 1.1, trainingMin: 0.5, trainingMax: 2 } }],
    sequence,
    labels: { line: 'line1' },
  };
}

const written = (t: TestContext): number => t.calls('sinkWritten').reduce((n, [, c]) => n + c, 0);

test('scores and alert states arrive on their topics; a late subscriber sees the retained state and Home Assistant configs', async () => {
  const { sink, t } = await outSink('ha', '{ home_assistant: { enabled: true } }');
  await sink.start();
  await waitFor(() => sink.stats().connected === true, 'the publisher to connect');
  const live = await subscriber('anomalyd/#');
  for (let i = 1; i <= 5; i++) sink.writeScores?.([score('line1/pump1', i), score('line1/pump2', i, { expected: { vib_x: 1.25, current: 10.5 } })]);
  sink.writeAlert?.(notice('line1/pump1', 'firing', 7));
  // A notice a maintenance window holds pages nobody, so it is not a transition here either.
  sink.writeAlert?.({ ...notice('line1/pump2', 'firing', 8), maintenance: 'mw-1' });
  await waitFor(() => written(t) === 11, '10 scores and 1 alert acknowledged', 10_000, () => written(t));
  await sink.flush();

  const late = await subscriber(['anomalyd/#', 'homeassistant/#']);
  await waitFor(() => late.got.length >= 2 + 1 + 1 + 4, 'the retained messages', 5_000, () => late.got.map((m) => m.topic));
  const retained = new Map(late.got.map((m) => [m.topic, m]));
  assert.ok(late.got.every((m) => m.retain), 'a late subscriber gets retained messages');
  assert.deepEqual(
    [...retained.keys()].filter((k) => k.startsWith('anomalyd/')).sort(),
    ['anomalyd/_status/ha-out', 'anomalyd/line1/pump1/alert/anomaly', 'anomalyd/line1/pump1/score', 'anomalyd/line1/pump2/score'],
  );
  assert.equal(retained.get('anomalyd/_status/ha-out')?.payload, 'online');
  const s2 = JSON.parse(retained.get('anomalyd/line1/pump2/score')!.payload) as Record<string, unknown>;
  assert.deepEqual(s2, {
    stream: 'line1/pump2',
    model: 'pump',
    model_version: '2',
    time: new Date(T0 + 50_000).toISOString(),
    ts: T0 + 50_000,
    score: 0.05,
    threshold: 0.3,
    p_value: 0.5,
    anomalous: false,
    completeness: 1,
    channel_shares: { vib_x: 0.6, current: 0.4 },
    expected: { vib_x: 1.25, current: 10.5 },
  }, 'the latest score of the stream, with its expected values');
  assert.equal('expected' in (JSON.parse(retained.get('anomalyd/line1/pump1/score')!.payload) as object), false, 'no expected values where the stream has none');
  const alert = JSON.parse(retained.get('anomalyd/line1/pump1/alert/anomaly')!.payload) as Record<string, unknown>;
  assert.equal(alert['key'], 'fp-line1/pump1-7');
  assert.equal(alert['status'], 'firing');
  assert.equal(alert['kind'], 'anomaly');
  assert.equal(alert['stream'], 'line1/pump1');
  assert.equal(alert['p_value'], 1e-5);
  assert.deepEqual((alert['labels'] as Record<string, string>)['alertname'], 'AnomalyDetected');
  assert.deepEqual((alert['top_channels'] as { observed: number }[])[0]?.observed, 4.2);

  // Home Assistant: a score sensor and an anomaly binary sensor per stream, reading the topics above.
  const configs = late.got.filter((m) => m.topic.startsWith('homeassistant/'));
  assert.equal(configs.length, 4, configs.map((m) => m.topic).join(', '));
  for (const m of configs) {
    assert.match(m.topic, /^homeassistant\/(sensor|binary_sensor)\/ha-out\/[A-Za-z0-9_-]+\/config$/);
    const c = JSON.parse(m.payload) as Record<string, unknown>;
    for (const key of ['name', 'unique_id', 'state_topic', 'value_template', 'availability_topic', 'device']) assert.ok(key in c, `${m.topic} has ${key}`);
    assert.equal(c['availability_topic'], 'anomalyd/_status/ha-out');
    assert.ok(retained.has(String(c['state_topic'])) || String(c['state_topic']).endsWith('/alert/anomaly'), `${m.topic} reads a published topic`);
  }
  const pump2Sensor = configs.map((m) => JSON.parse(m.payload) as Record<string, unknown>).find((c) => c['state_topic'] === 'anomalyd/line1/pump2/score');
  assert.equal(pump2Sensor?.['value_template'], '{{ value_json.score }}');
  assert.equal((pump2Sensor?.['device'] as { name: string }).name, 'line1/pump2');

  // The live subscriber saw every score once (none superseded: the broker kept up), in order per stream.
  const pump1 = live.got.filter((m) => m.topic === 'anomalyd/line1/pump1/score').map((m) => (JSON.parse(m.payload) as { ts: number }).ts);
  assert.deepEqual(pump1, [1, 2, 3, 4, 5].map((i) => T0 + i * 10_000));
  assert.equal(t.calls('sinkDropped').length, 0);

  await sink.stop();
  await waitFor(() => late.got.some((m) => m.topic === 'anomalyd/_status/ha-out' && m.payload === 'offline'), 'offline on the status topic after stop');
});

test('an alert transition written while the broker is down is delivered exactly once after it returns, also across a stop of the sink', async () => {
  const { sink, t, stateDir } = await outSink('once', '{}');
  await sink.start();
  await waitFor(() => sink.stats().connected === true, 'the publisher to connect');
  const rx = await subscriber('anomalyd/line2/+/alert/#', 'mqtt-out-exactly-once');
  const alerts = (): { key: string; status: string }[] => rx.got.map((m) => JSON.parse(m.payload) as { key: string; status: string });

  sink.writeAlert?.(notice('line2/pump1', 'firing', 1));
  await waitFor(() => alerts().length === 1, 'the first firing notice', 10_000, () => ({ written: written(t), got: rx.got, events: t.events, logs: t.logs }));

  // Broker down while the alert resolves and the next episode fires: both wait in the outbox.
  await broker.stop();
  await waitFor(() => sink.stats().connected === false, 'the publisher to see the broker gone');
  sink.writeAlert?.(notice('line2/pump1', 'resolved', 2));
  sink.writeAlert?.(notice('line2/pump1', 'firing', 3));
  await sink.flush();
  assert.equal(sink.stats().buffered, 2, 'two transitions wait in the outbox');
  await broker.restart();
  await waitFor(() => alerts().length === 3, 'both transitions after the broker restart', 15_000, alerts);

  // Broker down again, and the sink stopped before it returns (a daemon restart): the next instance delivers.
  await broker.stop();
  await waitFor(() => sink.stats().connected === false, 'the publisher to see the broker gone');
  sink.writeAlert?.(notice('line2/pump1', 'resolved', 4));
  await sink.stop();
  await broker.restart();
  const next = await outSink('once', '{}', stateDir);
  await next.sink.start();
  await waitFor(() => alerts().length === 4, 'the transition left in the outbox', 15_000, alerts);
  await next.sink.flush();
  await new Promise((r) => setTimeout(r, 500));

  assert.deepEqual(alerts().map((a) => `${a.key} ${a.status}`), [
    'fp-line2/pump1-1 firing',
    'fp-line2/pump1-2 resolved',
    'fp-line2/pump1-3 firing',
    'fp-line2/pump1-4 resolved',
  ], 'each transition once, in order');
  assert.equal(next.sink.stats().buffered, 0);
  assert.equal(written(t) + written(next.t), 4);
  await next.sink.stop();
});

test('while the broker is away only the newest score per stream waits; the older ones are counted as superseded', async () => {
  const { sink, t } = await outSink('newest', '{}');
  await sink.start();
  await waitFor(() => sink.stats().connected === true, 'the publisher to connect');
  await broker.stop();
  await waitFor(() => sink.stats().connected === false, 'the publisher to see the broker gone');
  for (let i = 1; i <= 20; i++) sink.writeScores?.([score('line3/pump1', i)]);
  assert.equal(sink.stats().buffered, 1, 'one score held: the newest');
  assert.equal(t.calls('scoresSuperseded').reduce((n, [, c]) => n + c, 0), 19);
  await broker.restart();
  const late = await subscriber('anomalyd/line3/pump1/score');
  await waitFor(() => late.got.some((m) => (JSON.parse(m.payload) as { ts: number }).ts === T0 + 200_000), 'the newest score after the restart', 15_000);
  await sink.stop();
});

test('Sparkplug B out: NBIRTH with bdSeq, DBIRTH then DDATA per stream, NDEATH at stop; decoded with the same library', async () => {
  const spb = get('spBv1.0');
  assert.ok(spb);
  const rx = await subscriber('spBv1.0/plant/#');
  const { sink, stateDir } = await outSink('spb', '{ sparkplug: { group_id: plant } }');
  await sink.start();
  await waitFor(() => rx.got.some((m) => m.topic === 'spBv1.0/plant/NBIRTH/spb-out'), 'the NBIRTH', 10_000, () => rx.got.map((m) => m.topic));
  sink.writeScores?.([score('line1/pump1', 1)]);
  sink.writeScores?.([score('line1/pump1', 2, { anomalous: true })]);
  sink.writeScores?.([score('line1/pump1', 3, { expected: { vib_x: 1.5 } })]);
  await waitFor(() => rx.got.length === 4, 'NBIRTH and three device messages', 10_000, () => rx.got.map((m) => m.topic));
  await sink.stop();
  await waitFor(() => rx.got.length === 5, 'the NDEATH at stop', 10_000, () => rx.got.map((m) => m.topic));

  const decoded = rx.got.map((m) => ({ topic: m.topic, retain: m.retain, p: spb.decodePayload(Buffer.from(m.payload, 'latin1')) }));
  assert.deepEqual(decoded.map((d) => d.topic), [
    'spBv1.0/plant/NBIRTH/spb-out',
    'spBv1.0/plant/DBIRTH/spb-out/line1:pump1',
    'spBv1.0/plant/DDATA/spb-out/line1:pump1',
    'spBv1.0/plant/DBIRTH/spb-out/line1:pump1',
    'spBv1.0/plant/NDEATH/spb-out',
  ], 'a new metric (expected/vib_x) gives a new DBIRTH');
  assert.ok(decoded.every((d) => !d.retain), 'Sparkplug messages are not retained');
  // 64-bit fields (seq, bdSeq, timestamps) decode as Long objects.
  const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));
  assert.deepEqual(decoded.slice(0, 4).map((d) => num(d.p.seq)), [0, 1, 2, 3]);
  const metric = (i: number, name: string): unknown => decoded[i]?.p.metrics?.find((m) => m.name === name)?.value;
  assert.equal(num(metric(0, 'bdSeq')), 0);
  assert.equal(metric(0, 'Node Control/Rebirth'), false);
  assert.equal(num(metric(4, 'bdSeq')), 0, 'the NDEATH names the session of the NBIRTH');
  assert.equal(metric(1, 'score'), 0.01);
  assert.equal(metric(1, 'threshold'), 0.3);
  assert.equal(metric(1, 'anomalous'), false);
  assert.equal(metric(2, 'anomalous'), true);
  assert.equal(metric(3, 'expected/vib_x'), 1.5);
  assert.equal(num(decoded[1]?.p.metrics?.[0]?.timestamp), T0 + 10_000, 'metrics carry the window end');

  // The next run on the same state_dir is a new session: bdSeq 1.
  const next = await outSink('spb', '{ sparkplug: { group_id: plant } }', stateDir);
  await next.sink.start();
  await waitFor(() => rx.got.length === 6, 'the next NBIRTH', 10_000);
  assert.equal(num(spb.decodePayload(Buffer.from(rx.got[5]?.payload ?? '', 'latin1')).metrics?.find((m) => m.name === 'bdSeq')?.value), 1);
  await next.sink.stop();
});

test('Sparkplug B out: a host rebirth request (NCMD) is answered with NBIRTH seq 0 and the same bdSeq, then the DBIRTHs; a stream gone dies with DDEATH', async () => {
  const spb = get('spBv1.0');
  assert.ok(spb);
  const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));
  const rx = await subscriber('spBv1.0/plant2/#');
  const host = await subscriber('spBv1.0/STATE/host');
  const { sink, t } = await outSink('spb2', '{ sparkplug: { group_id: plant2 } }');
  const node = 'spBv1.0/plant2/NBIRTH/spb2-out';
  const fromNode = (): { topic: string; seq: number; p: ReturnType<typeof spb.decodePayload> }[] =>
    rx.got.filter((m) => !m.topic.includes('/NCMD/')).map((m) => {
      const p = spb.decodePayload(Buffer.from(m.payload, 'latin1'));
      return { topic: m.topic, seq: num(p.seq), p };
    });
  const topics = (): string[] => fromNode().map((m) => m.topic);
  const metric = (p: ReturnType<typeof spb.decodePayload>, name: string): unknown => p.metrics?.find((m) => m.name === name)?.value;
  await sink.start();
  await waitFor(() => topics().includes(node), 'the NBIRTH', 10_000, topics);
  sink.writeScores?.([score('line1/pump1', 1), score('line1/pump2', 2)]);
  await waitFor(() => fromNode().length === 3, 'NBIRTH and two DBIRTHs', 10_000, topics);

  const rebirth = (): Promise<unknown> =>
    host.client.publishAsync('spBv1.0/plant2/NCMD/spb2-out', Buffer.from(spb.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })), { qos: 0 });
  await rebirth();
  await waitFor(() => fromNode().length === 6, 'the NBIRTH and both DBIRTHs again', 10_000, topics);
  // Asked again at once: the births were just sent, so nothing more (at most one answer a second).
  await rebirth();
  // Neither a command that is not a rebirth nor bytes that are not Sparkplug start births; the bytes are counted.
  await host.client.publishAsync('spBv1.0/plant2/NCMD/spb2-out', Buffer.from(spb.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Reboot', type: 'Boolean', value: true }] })), { qos: 0 });
  await host.client.publishAsync('spBv1.0/plant2/NCMD/spb2-out', Buffer.from([0xff, 0xff, 0xff]), { qos: 0 });
  await waitFor(() => t.calls('messageRejected').length === 1, 'the unreadable NCMD counted', 10_000);
  assert.equal(t.calls('messageRejected')[0]?.[0], 'invalid_sparkplug');

  let got = fromNode();
  assert.deepEqual(got.slice(3).map((m) => m.topic), [node, 'spBv1.0/plant2/DBIRTH/spb2-out/line1:pump1', 'spBv1.0/plant2/DBIRTH/spb2-out/line1:pump2']);
  assert.deepEqual(got.map((m) => m.seq), [0, 1, 2, 0, 1, 2], 'the rebirth starts seq again at 0');
  assert.equal(num(metric(got[3].p, 'bdSeq')), num(metric(got[0].p, 'bdSeq')), 'same session, same bdSeq');
  assert.equal(metric(got[5].p, 'score'), 0.02, "a DBIRTH carries the stream's latest score");

  // The daemon stops monitoring line1/pump1 (evicted or removed by a reload): its device dies, with the next seq.
  sink.streamGone?.('line1/pump1');
  await waitFor(() => fromNode().length === 7, 'the DDEATH', 10_000, topics);
  got = fromNode();
  assert.equal(got[6]?.topic, 'spBv1.0/plant2/DDEATH/spb2-out/line1:pump1');
  assert.equal(got[6]?.seq, 3);
  // Gone means gone: a later rebirth no longer names it.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await rebirth();
  await waitFor(() => fromNode().length === 9, 'the NBIRTH and the one DBIRTH left', 10_000, topics);
  assert.deepEqual(fromNode().slice(7).map((m) => m.topic), [node, 'spBv1.0/plant2/DBIRTH/spb2-out/line1:pump2']);
  await sink.stop();
});
