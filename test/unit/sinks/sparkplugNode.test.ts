// mqtt_out's Sparkplug B edge node with a recording publisher, decoded with Eclipse Tahu's library: the alert
// states as metrics (per kind firing / severity / since; stream kinds on the device, daemon-wide kinds on the
// node), in every birth, and as DDATA/NDATA carrying only what changed when a transition happens. The real
// broker is in test/integration/mqttOut.test.ts and mqttOutSparkplugDaemon.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { get } from 'sparkplug-payload';
import type { AlertNotice } from '../../../src/core/alert';
import type { ScorePoint } from '../../../src/core/sink';
import { MqttOutSink, type MqttOutPublisher, type PublisherHooks } from '../../../src/sinks/mqttOut';
import { MqttOutTopics } from '../../../src/sinks/mqttOutTopics';
import { DEVICE_ALERT_KINDS, NODE_ALERT_KINDS } from '../../../src/sinks/sparkplugAlerts';
import { SparkplugNode } from '../../../src/sinks/sparkplugNode';
import { testContext } from '../../helpers/context';

const codec = get('spBv1.0')!;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Decoded = { topic: string; seq: number; metrics: Map<string, { value: unknown; type: string; timestamp: number | undefined }> };

const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));

/** A publisher that is connected or not as the test says and keeps what was published. */
class RecordingPublisher implements MqttOutPublisher {
  connected = false;
  readonly sent: { topic: string; payload: Buffer }[] = [];
  hooks: PublisherHooks | null = null;
  start(hooks: PublisherHooks): Promise<void> {
    this.hooks = hooks;
    return Promise.resolve();
  }
  publish(topic: string, payload: string | Buffer): Promise<void> {
    this.sent.push({ topic, payload: Buffer.from(payload) });
    return Promise.resolve();
  }
  setWill(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  decoded(from = 0): Decoded[] {
    return this.sent.slice(from).map(({ topic, payload }) => {
      const p = codec.decodePayload(new Uint8Array(payload));
      const metrics = new Map((p.metrics ?? []).map((m) => [m.name ?? '', { value: m.value, type: m.type, timestamp: m.timestamp === undefined || m.timestamp === null ? undefined : num(m.timestamp) }]));
      return { topic, seq: num(p.seq), metrics };
    });
  }
}

const T0 = Date.UTC(2026, 0, 5, 8);

async function node(): Promise<{ n: SparkplugNode; pub: RecordingPublisher }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spb-node-'));
  dirs.push(dir);
  const pub = new RecordingPublisher();
  const n = new SparkplugNode(testContext('sink.mqtt_out').ctx, { publisher: pub, group: 'g', edgeNode: 'e', stateDir: dir, now: () => T0 + 999 });
  await n.loadBdSeq();
  return { n, pub };
}

function connect(n: SparkplugNode, pub: RecordingPublisher): void {
  pub.connected = true;
  n.connected();
}

function score(stream: string, i: number): ScorePoint {
  return { stream, model: 'pump', time: T0 + i * 1000, score: 0.1, threshold: 0.3, pValue: 0.4, anomalous: false, completeness: 1, channelShares: {} };
}

function notice(stream: string, kind: AlertNotice['kind'], status: 'firing' | 'resolved', extra: Partial<AlertNotice> = {}): AlertNotice {
  return {
    fingerprint: `fp-${stream}-${kind}`, stream, model: 'pump', kind, status, severity: 'warning', startsAt: T0 + 10_000,
    endsAt: status === 'resolved' ? T0 + 70_000 : null, score: 0.9, threshold: 0.3, pValue: 1e-6, topChannels: [], sequence: 1, labels: {}, ...extra,
  };
}

const value = (d: Decoded | undefined, name: string): unknown => d?.metrics.get(name)?.value;

test('births name every alert kind of their scope: firing false, severity and since null until a kind fires', async () => {
  const { n, pub } = await node();
  connect(n, pub);
  n.score(score('line1/pump1', 1));
  const [nbirth, dbirth] = pub.decoded();
  assert.equal(nbirth?.topic, 'spBv1.0/g/NBIRTH/e');
  assert.deepEqual(NODE_ALERT_KINDS, ['streams_refused', 'streams_stalled']);
  for (const kind of NODE_ALERT_KINDS) {
    assert.equal(value(nbirth, `alert/${kind}/firing`), false);
    assert.equal(nbirth?.metrics.get(`alert/${kind}/severity`)?.type, 'String');
    assert.equal(value(nbirth, `alert/${kind}/severity`), null);
    assert.equal(nbirth?.metrics.get(`alert/${kind}/since`)?.type, 'DateTime');
    assert.equal(value(nbirth, `alert/${kind}/since`), null);
  }
  assert.equal(dbirth?.topic, 'spBv1.0/g/DBIRTH/e/line1:pump1');
  assert.deepEqual(DEVICE_ALERT_KINDS, ['anomaly', 'insufficient_data', 'ingestion_stalled', 'sensor_flatline', 'sensor_spikes', 'timestamps_rejected']);
  for (const kind of DEVICE_ALERT_KINDS) {
    assert.equal(value(dbirth, `alert/${kind}/firing`), false, kind);
    assert.equal(value(dbirth, `alert/${kind}/severity`), null, kind);
  }
  assert.ok(!dbirth?.metrics.has('alert/streams_stalled/firing'), 'daemon-wide kinds are not device metrics');
  assert.equal(value(dbirth, 'score'), 0.1);
});

test('a transition goes out as DDATA with what changed; a repeat says nothing; a rebirth carries the state', async () => {
  const { n, pub } = await node();
  connect(n, pub);
  n.score(score('line1/pump1', 1));
  let mark = pub.sent.length;
  n.alert(notice('line1/pump1', 'anomaly', 'firing', { severity: 'critical' }));
  let [ddata] = pub.decoded(mark);
  assert.equal(pub.sent.length, mark + 1);
  assert.equal(ddata?.topic, 'spBv1.0/g/DDATA/e/line1:pump1');
  assert.equal(ddata?.seq, 2);
  assert.deepEqual([...(ddata?.metrics.keys() ?? [])], ['alert/anomaly/firing', 'alert/anomaly/severity', 'alert/anomaly/since']);
  assert.equal(value(ddata, 'alert/anomaly/firing'), true);
  assert.equal(value(ddata, 'alert/anomaly/severity'), 'critical');
  assert.equal(num(value(ddata, 'alert/anomaly/since')), T0 + 10_000);
  assert.equal(ddata?.metrics.get('alert/anomaly/firing')?.timestamp, T0 + 10_000, 'timestamped with the episode start');

  // The same state again (a reconcile after a reload): nothing to report.
  mark = pub.sent.length;
  n.reconcile([notice('line1/pump1', 'anomaly', 'firing', { severity: 'critical' })]);
  assert.equal(pub.sent.length, mark);

  // A score after it: DDATA of the score only (the alert metrics were born and did not change).
  n.score(score('line1/pump1', 2));
  [ddata] = pub.decoded(mark);
  assert.equal(ddata?.topic, 'spBv1.0/g/DDATA/e/line1:pump1');
  assert.ok(!ddata?.metrics.has('alert/anomaly/firing'));

  // A host's rebirth: the DBIRTH carries the firing alert.
  mark = pub.sent.length;
  n.command('spBv1.0/g/NCMD/e', Buffer.from(codec.encodePayload({ timestamp: T0, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })));
  const births = pub.decoded(mark);
  assert.deepEqual(births.map((b) => b.topic), ['spBv1.0/g/NBIRTH/e', 'spBv1.0/g/DBIRTH/e/line1:pump1']);
  assert.equal(value(births[1], 'alert/anomaly/firing'), true);
  assert.equal(value(births[1], 'alert/anomaly/severity'), 'critical');
  assert.equal(value(births[1], 'alert/ingestion_stalled/firing'), false);

  // The resolve: firing false and since the episode's end; severity unchanged, so not sent.
  mark = pub.sent.length;
  n.alert(notice('line1/pump1', 'anomaly', 'resolved', { severity: 'critical' }));
  [ddata] = pub.decoded(mark);
  assert.deepEqual([...(ddata?.metrics.keys() ?? [])], ['alert/anomaly/firing', 'alert/anomaly/since']);
  assert.equal(value(ddata, 'alert/anomaly/firing'), false);
  assert.equal(num(value(ddata, 'alert/anomaly/since')), T0 + 70_000);
});

test('a firing alert of a stream not yet scored brings its DBIRTH (score metrics null); a resolve of an unknown stream says nothing', async () => {
  const { n, pub } = await node();
  connect(n, pub);
  n.alert(notice('line1/pump9', 'insufficient_data', 'firing'));
  const [, dbirth] = pub.decoded();
  assert.equal(dbirth?.topic, 'spBv1.0/g/DBIRTH/e/line1:pump9');
  assert.equal(value(dbirth, 'alert/insufficient_data/firing'), true);
  assert.equal(value(dbirth, 'score'), null);
  assert.equal(dbirth?.metrics.get('score')?.type, 'Double');
  assert.equal(value(dbirth, 'anomalous'), null);
  // Its first score keeps the metric set: DDATA, not a new birth.
  const mark = pub.sent.length;
  n.score(score('line1/pump9', 1));
  assert.equal(pub.decoded(mark)[0]?.topic, 'spBv1.0/g/DDATA/e/line1:pump9');

  // Gone (DDEATH), then its alerts are closed: no new birth for a stream no longer monitored.
  n.deviceGone('line1/pump9');
  const afterDeath = pub.sent.length;
  n.alert(notice('line1/pump9', 'insufficient_data', 'resolved'));
  n.alert(notice('line1/never', 'ingestion_stalled', 'resolved'));
  assert.equal(pub.sent.length, afterDeath);
});

test('daemon-wide alerts are node metrics: NDATA on a transition, and in the NBIRTH of the next connection', async () => {
  const { n, pub } = await node();
  connect(n, pub);
  let mark = pub.sent.length;
  n.alert(notice('_ingestion', 'streams_stalled', 'firing', { severity: 'critical' }));
  const [ndata] = pub.decoded(mark);
  assert.equal(ndata?.topic, 'spBv1.0/g/NDATA/e');
  assert.equal(ndata?.seq, 1);
  assert.equal(value(ndata, 'alert/streams_stalled/firing'), true);
  assert.equal(pub.decoded().filter((d) => d.topic.includes('/DBIRTH/')).length, 0, 'no device for a daemon-wide alert');

  // While disconnected nothing is sent; the next NBIRTH carries what happened meanwhile.
  pub.connected = false;
  n.disconnected();
  mark = pub.sent.length;
  n.alert(notice('_admission', 'streams_refused', 'firing'));
  n.alert(notice('line1/pump2', 'ingestion_stalled', 'firing'));
  assert.equal(pub.sent.length, mark);
  connect(n, pub);
  const [nbirth, dbirth] = pub.decoded(mark);
  assert.equal(nbirth?.topic, 'spBv1.0/g/NBIRTH/e');
  assert.equal(value(nbirth, 'alert/streams_stalled/firing'), true);
  assert.equal(value(nbirth, 'alert/streams_refused/firing'), true);
  assert.equal(dbirth?.topic, 'spBv1.0/g/DBIRTH/e/line1:pump2');
  assert.equal(value(dbirth, 'alert/ingestion_stalled/firing'), true);
});

test('the mqtt_out sink tells the node only what reaches the pagers, and reconciles restored alerts without the outbox', async () => {
  const { n, pub } = await node();
  const plain = new RecordingPublisher();
  const dir = await mkdtemp(path.join(tmpdir(), 'spb-sink-'));
  dirs.push(dir);
  const sink = new MqttOutSink(testContext('sink.mqtt_out').ctx, {
    publisher: plain,
    topics: new MqttOutTopics({ score: 'anomalyd/{stream}/score', alert: 'anomalyd/{stream}/alert/{kind}', status: 'anomalyd/_status/{client_id}' }),
    clientId: 'c',
    stateDir: dir,
    maxOutboxNotices: 10,
    externalUrl: 'http://x/',
    sparkplug: { node: n, publisher: pub },
  });
  await sink.start();
  pub.connected = true;
  pub.hooks?.connected();
  const mark = pub.sent.length;
  // Held by a maintenance window, or spoken for by a summary: pages nobody, so no state change either.
  sink.writeAlert?.(notice('line1/pump1', 'anomaly', 'firing', { maintenance: 'mw-1' }));
  sink.writeAlert?.(notice('line1/pump1', 'ingestion_stalled', 'firing', { summarisedBy: 'fp-summary' }));
  sink.reconcile?.([notice('line1/pump1', 'sensor_flatline', 'firing', { maintenance: 'mw-1' })]);
  assert.equal(pub.sent.length, mark);
  // Restored after a restart: the device is born with it; nothing enters the outbox (the alert topic holds it).
  sink.reconcile?.([notice('line1/pump1', 'sensor_spikes', 'firing')]);
  const [dbirth] = pub.decoded(mark);
  assert.equal(dbirth?.topic, 'spBv1.0/g/DBIRTH/e/line1:pump1');
  assert.equal(value(dbirth, 'alert/sensor_spikes/firing'), true);
  assert.equal(value(dbirth, 'alert/anomaly/firing'), false);
  assert.equal(value(dbirth, 'alert/ingestion_stalled/firing'), false);
  assert.equal(sink.stats().buffered, 0);
  await sink.stop();
});
