// The write body built by sinks/influx/line.ts against the `influx` package's own writePoints, differentially: for any
// score point (odd stream, model and channel names, every kind of number) and any alert or health record, the
// text is byte for byte what writePoints would send for the same records; and InfluxWriter's request (method,
// path, query, credentials, body) is the one writePoints makes, seen by an HTTP server. Fixed seed.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { InfluxDB } from 'influx';
import { linesOf, recordLine, recordOf, scoreLine, type PendingPoint } from '../../../../src/sinks/influx/line';
import { alertRecord, healthRecord, scoreRecord, toPoint } from '../../../../src/sinks/influx/points';
import { InfluxSink } from '../../../../src/sinks/influx/influxSink';
import { InfluxWriter, resolveTarget } from '../../../../src/sinks/influx/writer';
import type { ScorePoint } from '../../../../src/sinks/sink';
import { shareRecord } from '../../../../src/pipeline/channelShares';
import { testContext } from '../../../helpers/context';
import { notice } from '../../../helpers/notices';

const SEED = 20261127;

/** The body writePoints builds for `points` (its pool replaced by one that keeps the request). */
function writePointsBody(points: readonly PendingPoint[]): string {
  const client = new InfluxDB({ host: '127.0.0.1', database: 'db' });
  let body: string | undefined;
  (client as unknown as { _pool: unknown })._pool = {
    discard: (o: { body: string }) => {
      body = o.body;
      return Promise.resolve();
    },
  };
  void client.writePoints(points.map((p) => toPoint(recordOf(p))), { precision: 'ms' });
  assert.ok(body !== undefined);
  return body;
}

// Without backslashes: for them writePoints' escaping is wrong for InfluxDB 1.x (see sinks/influx/escape.ts), and the
// test below and test/integration/influxIds.test.ts check ours.
const name = fc
  .oneof(fc.constantFrom('line1/pump1', 'pump', 'vib_x_rms', 'a b', 'a,b', 'a=b', 'x|y', "it's", 'ä', '10', '2', '__proto__x', 'share', ''), fc.string({ maxLength: 8 }))
  .map((s) => s.replace(/\\/g, '|'));
const number = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, 1, 0.1, 1e21, 1e-7, 123456789.123, NaN, Infinity, -Infinity),
  fc.float().map(Math.fround),
);
const channels = fc.uniqueArray(name, { maxLength: 9 });

/** Score points as the pipeline makes them (shares in name order), and with shares in any order. */
const scorePoint = fc
  .record({
    stream: name.filter((s) => s !== ''),
    model: name,
    modelVersion: fc.option(fc.constantFrom('v1', 'v2', 'v13'), { nil: undefined }),
    time: fc.oneof(fc.integer({ min: 0, max: 4e12 }), fc.double({ min: 0, max: 4e12, noNaN: true })),
    score: number,
    threshold: number,
    pValue: number,
    anomalous: fc.boolean(),
    completeness: number,
    channels,
    shares: fc.array(number, { minLength: 9, maxLength: 9 }),
    asPipeline: fc.boolean(),
  })
  .map(({ channels: ch, shares, asPipeline, ...p }): ScorePoint => {
    let channelShares: Record<string, number>;
    if (asPipeline) channelShares = shareRecord(ch, shares);
    else {
      channelShares = {};
      ch.forEach((c, i) => (channelShares[c] = shares[i]));
    }
    return { ...p, channelShares };
  });

const record = fc.oneof(
  fc.record({ time: fc.integer({ min: 0, max: 4e12 }), a: number, b: number }).map(({ time, a, b }) => healthRecord({ time, fields: { streams: a, queue_depth: b } })),
  fc.record({ stream: name.filter((s) => s !== ''), model: name, score: number, state: fc.constantFrom<'firing' | 'resolved'>('firing', 'resolved'), channel: name }).map((a) =>
    alertRecord(
      notice({
        fingerprint: 'f"1\\', stream: a.stream, model: a.model, status: a.state, endsAt: a.state === 'resolved' ? 1_700_000_060_000 : null,
        score: a.score, threshold: 1, pValue: 0.001, topChannels: [{ channel: a.channel, share: 0.5 }],
      }),
    ),
  ),
);

void test('score points and records give the text writePoints gives', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(scorePoint, record.filter((r) => r !== null)), { minLength: 1, maxLength: 6 }), (points) => {
      assert.equal(linesOf(points), writePointsBody(points));
    }),
    { seed: SEED, numRuns: 3_000 },
  );
});

void test('the pipeline order of shares takes the fast path; a score point with NaN time fails as writePoints fails', () => {
  const p: ScorePoint = {
    stream: 'line1/pump1', model: 'pump', time: 1_700_000_000_123.4, score: 0.5, threshold: 0.3, pValue: 0.01, anomalous: true, completeness: 0.95,
    channelShares: shareRecord(['vib_x', 'current'], [0.7, 0.3]),
  };
  assert.equal(scoreLine(p), 'anomaly_score,stream=line1/pump1,model=pump anomalous=true,completeness=0.95,p_value=0.01,score=0.5,share_current=0.3,share_vib_x=0.7,threshold=0.3 1700000000123');
  // The live version's tag; the same stream and model under another version is another prefix.
  assert.match(scoreLine({ ...p, modelVersion: 'v2' }), /^anomaly_score,stream=line1\/pump1,model=pump,model_version=v2 anomalous=true,/);
  assert.match(scoreLine({ ...p, modelVersion: 'v3' }), /^anomaly_score,stream=line1\/pump1,model=pump,model_version=v3 anomalous=true,/);
  assert.deepEqual(recordOf(p), scoreRecord(p));
  assert.throws(() => linesOf([{ ...p, time: NaN }]), /Expected numeric value for, timestamp, but got 'NaN'/);
  assert.throws(() => writePointsBody([{ ...p, time: NaN }]), /Expected numeric value for, timestamp, but got 'NaN'/);
});

void test('backslashes are written as InfluxDB 1.x reads them back (pinned against a real server)', () => {
  const stream = (id: string): string => scoreLine({ stream: id, model: 'm', time: 1, score: 1, threshold: 1, pValue: 1, anomalous: false, completeness: 1, channelShares: {} }).split(' anomalous=')[0];
  // Tag values: a backslash is written as is, a ",", "=" or " " with a backslash before it.
  assert.equal(stream('a\\b'), 'anomaly_score,stream=a\\b,model=m');
  assert.equal(stream('a\\\\b"c\\"d'), 'anomaly_score,stream=a\\\\b"c\\"d,model=m');
  assert.equal(stream(' b=c,d'), 'anomaly_score,stream=\\ b\\=c\\,d,model=m');
  assert.equal(stream("it\\'s"), "anomaly_score,stream=it\\'s,model=m");
  // What 1.x cannot carry (refused at admission): a backslash at the end or before ",", "=" or " ", and a line
  // break, written as U+FFFD.
  assert.equal(stream('a\\'), 'anomaly_score,stream=a\uFFFD,model=m');
  assert.equal(stream('a\\,b'), 'anomaly_score,stream=a\uFFFD\\,b,model=m');
  assert.equal(stream('a\\\\ b=c'), 'anomaly_score,stream=a\\\uFFFD\\ b\\=c,model=m');
  assert.equal(stream('a\nb'), 'anomaly_score,stream=a\uFFFDb,model=m');
  // String fields: quote and backslash escaped, line breaks kept.
  const alert = recordLine({ measurement: 'anomaly_alert', tags: { stream: 's' }, fields: { top_channels: 'x\\\'"\n' }, time: 1 });
  assert.equal(alert, 'anomaly_alert,stream=s top_channels="x\\\\\'\\"\n" 1');
  // Field keys: a backslash 1.x would read as an escape is replaced.
  assert.equal(recordLine({ measurement: 'm e,x', tags: {}, fields: { 'a\\,b': 1, 'c\\d': 2, 'e\\': 3 }, time: 1 }), 'm\\ e\\,x a\uFFFD\\,b=1,c\\d=2,e\uFFFD=3 1');
});

/** An HTTP server that answers 204 and keeps each request's method, URL, Authorization header and body. */
async function recorder(): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests.push(JSON.stringify([req.method, req.url, req.headers.authorization ?? null, body]));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

void test("InfluxWriter's request is the one writePoints makes (with and without credentials)", async () => {
  const srv = await recorder();
  try {
    const points: PendingPoint[] = [
      { stream: 'l/p 1', model: 'pump', time: 1_700_000_000_000, score: 1, threshold: 2, pValue: 0.5, anomalous: false, completeness: 1, channelShares: shareRecord(['b', 'a'], [0.25, 0.75]) },
      { measurement: 'anomalyd_health', tags: {}, fields: { streams: 3 }, time: 1_700_000_000_001 },
    ];
    for (const creds of [{}, { username: 'u', password: 'p w' }, { username: 'only' }]) {
      const target = resolveTarget(`${srv.url}/my db`, undefined, 'username' in creds ? creds.username : undefined, 'password' in creds ? creds.password : undefined);
      const outcome = await new InfluxWriter(target, 2_000).write(points);
      assert.equal(outcome.ok, true);
      const client = new InfluxDB({ host: target.host, port: target.port, database: target.database, username: target.username, password: target.password });
      await client.writePoints(points.map((p) => toPoint(recordOf(p))), { precision: 'ms' });
      const [ours, theirs] = srv.requests.splice(0, 2);
      assert.equal(ours, theirs);
    }
  } finally {
    await srv.close();
  }
});

void test('the sink writes what writePoints would', async () => {
  const srv = await recorder();
  const tc = testContext('sink.influx');
  try {
    const sink = new InfluxSink(tc.ctx, { url: `${srv.url}/db`, batchSize: 3, flushIntervalMs: 60_000, timeoutMs: 2_000 });
    await sink.start();
    srv.requests.length = 0;
    const points: ScorePoint[] = [0, 1, 2].map((i) => ({
      stream: `l1/p ${i}`, model: 'pump', time: 1_700_000_000_000 + i, score: i / 3, threshold: 0.5, pValue: 0.25, anomalous: i === 2, completeness: 1,
      channelShares: shareRecord(['z', 'a,b'], [0.5, 0.5]),
    }));
    sink.writeScores(points);
    await sink.flush();
    const [method, url, , body] = JSON.parse(srv.requests.at(-1) ?? '[]') as [string, string, string | null, string];
    assert.equal(method, 'POST');
    assert.match(url, /^\/write\?/);
    assert.equal(body, writePointsBody(points));
    await sink.stop();
  } finally {
    tc.abort.abort();
    await srv.close();
  }
});
