// InfluxSink through InfluxDB outages (the real influxd stopped and started again, same data and port): every
// point arrives exactly once, the spool fills and drains, the size cap drops the oldest exactly as counted, and
// a damaged spool replays its intact records. Outages last seconds; the 60 s one is in the fault suite.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { InfluxSink, type InfluxSinkOptions } from '../../src/sinks/influx/influxSink';
import type { ScorePoint } from '../../src/sinks/sink';
import { FRAME_HEADER_BYTES } from '../../src/sinks/spool';
import { testContext, type TestContext } from '../helpers/context';
import { startInfluxd, type Influxd } from '../helpers/influxd';

let influxd: Influxd;
let tmp: string;
const T0 = Math.floor((Date.now() - 86_400_000) / 1000) * 1000;

before(async () => {
  influxd = await startInfluxd();
  tmp = await mkdtemp(path.join(tmpdir(), 'anomalyd-influx-outage-'));
});

after(async () => {
  await influxd?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function score(stream: string, i: number): ScorePoint {
  return { stream, model: 'pump', time: T0 + i * 1000, score: i, threshold: 1, pValue: 0.5, anomalous: false, completeness: 1, channelShares: { vib_x: 0.5, current: 0.5 } };
}

function sink(tc: TestContext, db: string, extra: Partial<InfluxSinkOptions>): InfluxSink {
  return new InfluxSink(tc.ctx, { url: `${influxd.url}/${db}`, retryMinDelayMs: 50, retryMaxDelayMs: 250, timeoutMs: 2000, ...extra });
}

function dropped(tc: TestContext, reason: string): number {
  return tc.calls('sinkDropped').filter(([, r]) => r === reason).reduce((n, [, , count]) => n + count, 0);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - start;
}

async function countByStream(db: string): Promise<Map<string, number>> {
  const series = await influxd.query('SELECT count(score) FROM anomaly_score GROUP BY stream', db);
  return new Map(series.map((s) => [s.tags?.stream ?? '', s.values[0][1] as number]));
}

test('InfluxDB stopped while points flow, then restarted: every point lands exactly once, the spool drains', async () => {
  const db = 'outage';
  const tc = testContext('sink.influx');
  const bufferMaxPoints = 5000;
  const s = sink(tc, db, { batchSize: 5000, flushIntervalMs: 50, bufferMaxPoints, spoolDir: path.join(tmp, 'outage-spool') });
  await s.start();
  const streams = Array.from({ length: 50 }, (_, i) => `line1/pump${i}`);
  let tick = 0;
  let maxBuffered = 0;
  let maxSpooled = 0;
  let upAt = 0;
  let spoolEmptyAt = 0;
  const produceFor = async (ms: number): Promise<number> => {
    const end = Date.now() + ms;
    const before = tick;
    while (Date.now() < end) {
      s.writeScores(streams.map((st) => score(st, tick)));
      tick++;
      const st = s.stats();
      maxBuffered = Math.max(maxBuffered, st.buffered);
      maxSpooled = Math.max(maxSpooled, st.spooledBytes);
      if (upAt && !spoolEmptyAt && st.spooledBytes === 0) spoolEmptyAt = Date.now();
      await sleep(10);
    }
    return (tick - before) * streams.length;
  };

  await produceFor(1000);
  await influxd.down();
  const downAt = Date.now();
  const producedDown = await produceFor(3000);
  const outageS = (Date.now() - downAt) / 1000;
  const spooledAtUp = s.stats().spooledBytes;
  const bufferedAtUp = s.stats().buffered;
  await influxd.up();
  upAt = Date.now();
  const producedAfter = await produceFor(1000);
  await until('the spool to drain', () => s.stats().spooledBytes === 0);
  const drainS = ((spoolEmptyAt || Date.now()) - upAt) / 1000;
  await until('memory to empty', () => s.stats().buffered === 0);
  await s.flush();

  const counts = await countByStream(db);
  assert.equal(counts.size, streams.length);
  for (const st of streams) assert.equal(counts.get(st), tick, `points of ${st}`);
  assert.deepEqual(s.stats(), { buffered: 0, spooledBytes: 0 }, 'the buffer gauges return to 0');
  assert.ok(spooledAtUp > 0, 'the spool grew while InfluxDB was down');
  assert.ok(maxBuffered <= bufferMaxPoints, `memory peaked at ${maxBuffered} points`);
  assert.equal(dropped(tc, 'overflow') + dropped(tc, 'spool_full') + dropped(tc, 'spool_corrupt') + dropped(tc, 'rejected'), 0);
  assert.ok(tc.calls('sinkError').length >= 1, 'the outage was reported');
  assert.ok(tc.logs.some((l) => l.msg === 'InfluxDB writes resumed.'));

  // Fill: points produced per second of outage, all of which had to be spooled or buffered. Drain: the
  // backlog plus what kept arriving, over the time from restart to an empty spool (retry delay included).
  const fillRate = producedDown / outageS;
  const drainRate = (producedDown + producedAfter * Math.min(1, drainS)) / drainS;
  console.log(
    `outage ${outageS.toFixed(1)} s: ${tick * streams.length} points sent, ${[...counts.values()].reduce((a, b) => a + b, 0)} found ` +
      `(${tick} per series x ${streams.length}); at restart ${bufferedAtUp} points in memory and ${spooledAtUp} bytes spooled ` +
      `(peak ${maxSpooled} bytes, memory peak ${maxBuffered}/${bufferMaxPoints}); fill ${Math.round(fillRate)} points/s, ` +
      `spool empty ${drainS.toFixed(2)} s after restart while production went on (${Math.round(drainRate)} points/s, ${(drainRate / fillRate).toFixed(1)}x the fill rate)`,
  );
  assert.ok(drainRate >= 2 * fillRate, `drain ${Math.round(drainRate)}/s vs fill ${Math.round(fillRate)}/s`);
  await s.stop();
});

test('spool cap while InfluxDB is down: the oldest points are dropped, and counted exactly', async () => {
  const db = 'capped';
  const tc = testContext('sink.influx');
  await influxd.down();
  const s = sink(tc, db, { batchSize: 500, flushIntervalMs: 20, bufferMaxPoints: 200, spoolMaxBytes: 64 * 1024, spoolDir: path.join(tmp, 'capped-spool') });
  await s.start(); // InfluxDB is down: the database is created later, by the first write that finds it missing
  const n = 3000;
  // Like the daemon's ingest gate: hold input back while the sink asks for room (admission), so what is lost
  // is lost at the documented place (the spool cap), not in memory.
  let held = 0;
  for (let i = 0; i < n; i++) {
    const wait = s.admission();
    if (wait) {
      held++;
      await wait.ready;
    }
    s.writeScores([score('capped', i)]);
    if (i % 100 === 99) await sleep(5);
  }
  await s.flush();
  const spooled = s.stats().spooledBytes;
  assert.ok(spooled <= 64 * 1024, `spool at ${spooled} bytes`);
  const lost = dropped(tc, 'spool_full');
  assert.ok(lost > 0);
  await influxd.up();
  await until('the spool to drain', () => s.stats().spooledBytes === 0 && s.stats().buffered === 0);
  await s.flush();

  const kept = (await influxd.query('SELECT score FROM anomaly_score', db))[0].values.map((v) => v[1] as number);
  console.log(`spool cap 65536 bytes: ${n} points sent while down (input held back ${held} times), ${lost} counted dropped (spool_full), ${kept.length} written`);
  assert.equal(kept.length + lost, n, 'written + counted = sent');
  // The batch being retried when the cap is hit is kept (spool.ts keeps the head batch), so up to one batch of
  // older points may survive ahead of the newest ones; everything else kept is the newest, in order.
  const gap = kept.findIndex((v, i) => i > 0 && v !== kept[i - 1] + 1);
  const head = gap < 0 ? [] : kept.slice(0, gap);
  const newest = gap < 0 ? kept : kept.slice(gap);
  assert.ok(head.length <= 500, `at most one batch kept out of age order (got ${head.length})`);
  assert.deepEqual(newest, Array.from({ length: newest.length }, (_, i) => n - newest.length + i), 'the rest are the newest, in order');
  assert.deepEqual(head, [...head].sort((a, b) => a - b), 'the retried batch is in order');
  assert.equal(dropped(tc, 'overflow') + dropped(tc, 'rejected'), 0);
  await s.stop();
});

test('a damaged spool (flipped byte, torn tail) replays its intact records and counts the broken ones', async () => {
  const db = 'damaged';
  const spoolDir = path.join(tmp, 'damaged-spool');
  const a = testContext('sink.influx');
  await influxd.down();
  const first = sink(a, db, { spoolDir, bufferMaxPoints: 10_000 });
  await first.start();
  first.writeScores(Array.from({ length: 500 }, (_, i) => score('damaged', i)));
  await first.stop(); // InfluxDB is down: all 500 go to the spool
  const segs = (await readdir(spoolDir)).filter((f) => f.endsWith('.seg')).sort();
  assert.equal(segs.length, 1);
  const file = path.join(spoolDir, segs[0]);
  const buf = await readFile(file);
  buf[FRAME_HEADER_BYTES + 5] ^= 0xff; // inside the first record's payload
  await writeFile(file, buf);
  await truncate(file, (await stat(file)).size - 3); // the last record is torn

  await influxd.up();
  const b = testContext('sink.influx');
  const second = sink(b, db, { spoolDir, flushIntervalMs: 20 });
  await second.start();
  assert.equal(dropped(b, 'spool_corrupt'), 2);
  await until('the spool to drain', () => second.stats().spooledBytes === 0);
  await second.flush();
  const times = (await influxd.query('SELECT score FROM anomaly_score', db))[0].values.map((v) => v[0] as number);
  console.log(`damaged spool: 500 records, 2 counted corrupt, ${times.length} replayed`);
  assert.deepEqual(
    times,
    Array.from({ length: 498 }, (_, i) => T0 + (i + 1) * 1000),
  );
  assert.equal(dropped(b, 'spool_corrupt'), 2, 'counted once');
  await second.stop();
});
