// Every stream id the daemon admits reaches InfluxDB and reads back exactly (issue 13): random ids heavy in the
// characters line protocol treats specially (backslash, comma, space, equals, quotes) are written through the
// InfluxSink as score points (stream and model tags) and alerts to a real InfluxDB 1.x, then read back with
// SHOW TAG VALUES and selected one by one with the InfluxQL string literal `train --influx-query` uses. The ids
// are those the MQTT source admits (streamIdProblem); ids with a backslash 1.x cannot store in a tag (at the end,
// or before a comma, space or equals sign: see sinks/influx/escape.ts) are refused there. Fixed seed, printed by
// fast-check on failure.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { InfluxSink } from '../../src/sinks/influx/influxSink';
import { influxString } from '../../src/sinks/influx/query';
import type { ScorePoint } from '../../src/sinks/sink';
import { streamIdProblem } from '../../src/sources/topics';
import { testContext } from '../helpers/context';
import { startInfluxd, type Influxd } from '../helpers/influxd';
import { notice } from '../helpers/notices';

const SEED = 20261206;
const T0 = Math.floor((Date.now() - 86_400_000) / 1000) * 1000;
let influxd: Influxd;
let run = 0;

before(async () => {
  influxd = await startInfluxd();
});

after(async () => {
  await influxd?.stop();
});

const piece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('\\', ',', ' ', '=', '"', "'", '\\,', '\\ ', '\\=', '\\\\', '\\"', "\\'", '\\n', '/', '#', '{', '}', ':', '+') },
  { weight: 4, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }) },
);
/** An id the MQTT source admits (no control characters, no trailing backslash, at most 128 characters). */
const streamId = fc
  .array(piece, { minLength: 1, maxLength: 12 })
  .map((p) => p.join(''))
  .filter((id) => streamIdProblem(id) === null);

function point(stream: string, i: number): ScorePoint {
  return { stream, model: `auto:${stream}`, time: T0 + i * 1000, score: 0.5, threshold: 1, pValue: 0.5, anomalous: false, completeness: 1, channelShares: { vib_x: 1 } };
}

async function tagValues(db: string, measurement: string, key: string): Promise<string[]> {
  const series = await influxd.query(`SHOW TAG VALUES FROM ${measurement} WITH KEY = "${key}"`, db);
  return (series[0]?.values ?? []).map((v) => String(v[1])).sort();
}

test('random admitted stream ids are written to a real InfluxDB and read back exactly', async () => {
  let written = 0;
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(streamId, { minLength: 1, maxLength: 30 }), async (ids) => {
      const db = `ids_${++run}`;
      const tc = testContext('sink.influx');
      const sink = new InfluxSink(tc.ctx, { url: `${influxd.url}/${db}`, flushIntervalMs: 50, batchSize: 1000 });
      await sink.start();
      try {
        sink.writeScores(ids.map(point));
        ids.forEach((id, i) =>
          sink.writeAlert(
            notice({
              fingerprint: `f${i}`, stream: id, model: `auto:${id}`, severity: 'warning', startsAt: T0 + i * 1000,
              score: 2, threshold: 1, pValue: 1e-4, topChannels: [{ channel: 'vib_x', share: 1 }], sequence: i + 1,
            }),
          ),
        );
        await sink.flush();
        assert.deepEqual(tc.calls('sinkDropped'), [], 'no point refused');
        const sorted = [...ids].sort();
        assert.deepEqual(await tagValues(db, 'anomaly_score', 'stream'), sorted);
        assert.deepEqual(await tagValues(db, 'anomaly_score', 'model'), ids.map((id) => `auto:${id}`).sort());
        assert.deepEqual(await tagValues(db, 'anomaly_alert', 'stream'), sorted);
        // Each id selects its own point only, through the string literal the history reader builds.
        for (const [i, id] of ids.entries()) {
          const series = await influxd.query(`SELECT score FROM anomaly_score WHERE stream = ${influxString(id)}`, db);
          assert.deepEqual(series[0]?.values, [[T0 + i * 1000, 0.5]], `id ${JSON.stringify(id)}`);
        }
        written += ids.length;
      } finally {
        await sink.stop();
        tc.abort.abort();
      }
    }),
    { seed: SEED, numRuns: 30 },
  );
  assert.ok(written >= 100, `enough ids were tried (${written})`);
});

test('what InfluxDB cannot carry is refused at admission, with a reason', () => {
  for (const id of ['line1/pump\\', 'line1\\ pump', 'a\\,b', 'a\\=b']) assert.match(streamIdProblem(id) ?? '', /backslash at its end or before/, id);
  assert.match(streamIdProblem('line1\npump') ?? '', /control/);
  assert.equal(streamIdProblem('line1\\pump, 2=b'), null);
});
