// InfluxSink against a real InfluxDB 1.x: the schema as queried back with InfluxQL, idempotent rewrites,
// database creation, and a 400 partial write (field type conflict).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InfluxSink, type InfluxSinkOptions } from '../../src/sinks/influx/influxSink';
import type { ScorePoint } from '../../src/sinks/sink';
import { testContext, type TestContext } from '../helpers/context';
import { startInfluxd, type Influxd, type QuerySeries } from '../helpers/influxd';
import { notice } from '../helpers/notices';

let influxd: Influxd;
let dbCounter = 0;
// A recent base time: all points of a test fall in one shard group of the default retention policy.
const T0 = Math.floor((Date.now() - 86_400_000) / 1000) * 1000;

before(async () => {
  influxd = await startInfluxd();
});

after(async () => {
  await influxd?.stop();
});

interface Harness {
  readonly db: string;
  readonly tc: TestContext;
  readonly sink: InfluxSink;
}

async function harness(extra: Partial<InfluxSinkOptions> = {}): Promise<Harness> {
  const db = `anomalyd_it_${++dbCounter}`;
  const tc = testContext('sink.influx');
  const sink = new InfluxSink(tc.ctx, { url: `${influxd.url}/${db}`, flushIntervalMs: 50, batchSize: 500, ...extra });
  await sink.start();
  return { db, tc, sink };
}

function score(stream: string, i: number, extra: Partial<ScorePoint> = {}): ScorePoint {
  return {
    stream,
    model: 'pump',
    time: T0 + i * 1000,
    score: 0.1 + i / 1000,
    threshold: 0.5,
    pValue: 0.2,
    anomalous: i % 2 === 1,
    completeness: 0.9,
    channelShares: { vib_x: 0.75, current: 0.25 },
    ...extra,
  };
}

/** Rows of the first series as objects keyed by column. */
function rows(series: QuerySeries[]): Record<string, unknown>[] {
  return (series[0]?.values ?? []).map((v) => Object.fromEntries(series[0].columns.map((c, i) => [c, v[i]])));
}

function total(tc: TestContext, name: 'sinkWritten'): number {
  return tc.calls(name).reduce((n, [, points]) => n + points, 0);
}

test('scores, alerts and health land with the documented schema; the database is created', async () => {
  const { db, tc, sink } = await harness();
  assert.ok(rows(await influxd.query('SHOW DATABASES')).some((r) => r.name === db), 'created at start');
  sink.writeScores([score('line1/pump1', 0), score('line1/pump1', 1), score('line1/pump2', 1)]);
  const firing = notice({
    fingerprint: 'a1b2', severity: 'warning', startsAt: T0 + 1000, score: 0.9, pValue: 1e-4,
    topChannels: [{ channel: 'vib_x', share: 0.61 }, { channel: 'current', share: 0.22 }], sequence: 7,
  });
  sink.writeAlert(firing);
  sink.writeAlert({ ...firing, status: 'resolved', endsAt: T0 + 9000, sequence: 8 });
  sink.writeHealth({ time: T0 + 5000, fields: { messages_per_s: 12.5, queue_depth: 3 } });
  await sink.flush();

  const scores = rows(await influxd.query('SELECT * FROM anomaly_score ORDER BY time', db)).sort(
    (a, b) => (a.time as number) - (b.time as number) || String(a.stream).localeCompare(String(b.stream)),
  );
  assert.deepEqual(scores, [
    { time: T0, stream: 'line1/pump1', model: 'pump', score: 0.1, threshold: 0.5, p_value: 0.2, anomalous: false, completeness: 0.9, share_vib_x: 0.75, share_current: 0.25 },
    { time: T0 + 1000, stream: 'line1/pump1', model: 'pump', score: 0.101, threshold: 0.5, p_value: 0.2, anomalous: true, completeness: 0.9, share_vib_x: 0.75, share_current: 0.25 },
    { time: T0 + 1000, stream: 'line1/pump2', model: 'pump', score: 0.101, threshold: 0.5, p_value: 0.2, anomalous: true, completeness: 0.9, share_vib_x: 0.75, share_current: 0.25 },
  ]);
  const fieldKeys = (await influxd.query('SHOW FIELD KEYS FROM anomaly_score', db))[0].values;
  const fieldTypes = Object.fromEntries(fieldKeys.map(([name, type]) => [String(name), String(type)]));
  assert.deepEqual(fieldTypes, { anomalous: 'boolean', completeness: 'float', p_value: 'float', score: 'float', share_current: 'float', share_vib_x: 'float', threshold: 'float' });
  const tagKeys = (await influxd.query('SHOW TAG KEYS FROM anomaly_score', db))[0].values.flat().sort();
  assert.deepEqual(tagKeys, ['model', 'stream']);

  const alerts = rows(await influxd.query('SELECT * FROM anomaly_alert ORDER BY time', db));
  const common = { stream: 'line1/pump1', model: 'pump', severity: 'warning', score: 0.9, top_channels: 'vib_x:0.61,current:0.22', fingerprint: 'a1b2', kind: 'anomaly' };
  assert.deepEqual(alerts, [
    { time: T0 + 1000, state: 'firing', sequence: 7, ...common },
    { time: T0 + 9000, state: 'resolved', sequence: 8, ...common },
  ]);
  const alertTags = (await influxd.query('SHOW TAG KEYS FROM anomaly_alert', db))[0].values.flat().sort();
  assert.deepEqual(alertTags, ['model', 'severity', 'stream']);

  assert.deepEqual(rows(await influxd.query('SELECT * FROM anomalyd_health', db)), [{ time: T0 + 5000, messages_per_s: 12.5, queue_depth: 3 }]);
  assert.equal(total(tc, 'sinkWritten'), 6);
  assert.deepEqual(tc.calls('sinkError'), []);
  assert.deepEqual(tc.calls('sinkDropped'), []);
  assert.deepEqual(sink.stats(), { buffered: 0, spooledBytes: 0 });
  await sink.stop();
});

test('writing the same window ends again overwrites: no duplicates', async () => {
  const { db, sink } = await harness();
  const first = Array.from({ length: 300 }, (_, i) => score(`s${i % 3}`, i));
  sink.writeScores(first);
  await sink.flush();
  sink.writeScores(first.map((p) => ({ ...p, score: p.score + 1 })));
  await sink.flush();
  const counts = await influxd.query('SELECT count(score), min(score) FROM anomaly_score GROUP BY stream', db);
  assert.deepEqual(
    counts.map((s) => [s.tags?.stream, s.values[0][1]]),
    [
      ['s0', 100],
      ['s1', 100],
      ['s2', 100],
    ],
  );
  assert.ok(counts.every((s) => (s.values[0][2] as number) >= 1.1), 'the rewrite replaced the values');
  await sink.stop();
});

test('a database dropped while running is created again by the next write', async () => {
  const { db, tc, sink } = await harness();
  sink.writeScores([score('s', 0)]);
  await sink.flush();
  await influxd.query(`DROP DATABASE ${db}`);
  sink.writeScores([score('s', 1), score('s', 2)]);
  await sink.flush();
  const n = rows(await influxd.query('SELECT count(score) FROM anomaly_score', db))[0]?.count;
  assert.equal(n, 2);
  assert.deepEqual(tc.calls('sinkDropped'), []);
  await sink.stop();
});

test('400 partial write: the rest of the batch is written, the bad point is counted once and not retried', async () => {
  const { db, tc, sink } = await harness({ flushIntervalMs: 20 });
  // share_odd already exists as a string in this shard, so a float share_odd is a field type conflict.
  const seeded = await influxd.writeLines(db, `anomaly_score,stream=seed,model=x share_odd="text" ${T0}`);
  assert.equal(seeded.status, 204);
  const batch = Array.from({ length: 10 }, (_, i) => score('bad-batch', i + 1, i === 4 ? { channelShares: { odd: 0.5 } } : {}));
  sink.writeScores(batch);
  await sink.flush();
  const written = rows(await influxd.query(`SELECT score FROM anomaly_score WHERE stream = 'bad-batch' ORDER BY time`, db));
  assert.deepEqual(
    written.map((r) => r.time),
    batch.filter((_, i) => i !== 4).map((p) => p.time),
  );
  const rejected = tc.calls('sinkDropped');
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0][1], 'rejected');
  assert.equal(rejected[0][2], 1);
  assert.match(rejected[0][3], /field type conflict/);
  assert.equal(total(tc, 'sinkWritten'), 9);

  // Later traffic flows and the bad point does not come back.
  sink.writeScores([score('bad-batch', 20)]);
  await sink.flush();
  // A second flush sends whatever the sink might still hold (a bad point kept for retry would go now).
  await sink.flush();
  assert.equal(tc.calls('sinkDropped').length, 1);
  assert.equal(total(tc, 'sinkWritten'), 10);
  assert.deepEqual(tc.calls('sinkError'), []);
  console.log(`partial write: 10 points sent, ${written.length} written, ${rejected[0][2]} rejected once`);
  await sink.stop();
});
