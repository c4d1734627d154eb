// InfluxSink with InfluxDB unreachable (a loopback port nobody listens on): bounded memory, exact drop counts,
// flush/stop persisting to the spool, disk full, and the lifecycle contract. The real InfluxDB is in
// test/integration/influx*.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { InfluxSink, type InfluxSinkOptions } from '../../../../src/sinks/influx/influxSink';
import type { ScorePoint } from '../../../../src/sinks/sink';
import { Spool } from '../../../../src/sinks/spool';
import { testContext, type TestContext } from '../../../helpers/context';
import { freePort } from '../../../helpers/ports';

let dir: string;
let tc: TestContext;
let url: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-influxsink-'));
  tc = testContext('sink.influx');
  url = `http://127.0.0.1:${await freePort()}/anomalyd`;
});

afterEach(async () => {
  tc.abort.abort();
  await rm(dir, { recursive: true, force: true });
});

function point(i: number): ScorePoint {
  return { stream: `s${i % 3}`, model: 'm', time: 1_700_000_000_000 + i * 1000, score: i, threshold: 1, pValue: 0.5, anomalous: false, completeness: 1, channelShares: { a: 1 } };
}

function sink(extra: Partial<InfluxSinkOptions> = {}): InfluxSink {
  return new InfluxSink(tc.ctx, { url, batchSize: 1000, flushIntervalMs: 60_000, retryMinDelayMs: 20, retryMaxDelayMs: 50, timeoutMs: 500, ...extra });
}

function dropped(reason: string): number {
  return tc.calls('sinkDropped').filter(([, r]) => r === reason).reduce((n, [, , count]) => n + count, 0);
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

test('without a spool, memory holds buffer_max_points and the oldest beyond are dropped and counted exactly', async () => {
  const s = sink({ bufferMaxPoints: 100 });
  await s.start();
  for (let i = 0; i < 250; i++) s.writeScores([point(i)]);
  assert.equal(s.stats().buffered, 100);
  assert.equal(dropped('overflow'), 150);
  assert.equal(tc.calls('sinkError').length, 1, 'the unreachable database is reported once');
  await s.stop();
  assert.equal(dropped('overflow'), 250, 'stop() gives up after one request timeout and counts what it drops');
  assert.equal(s.stats().buffered, 0);
});

test('flush() and stop() during an outage put everything in the spool; a new instance finds it all', async () => {
  const spoolDir = path.join(dir, 'spool');
  const s = sink({ bufferMaxPoints: 100, spoolDir });
  await s.start();
  // As the daemon does (state/ingestGate.ts): wait while admission() asks for it, so memory stays within the cap.
  let held = 0;
  let peak = 0;
  for (let i = 0; i < 1000; i++) {
    const a = s.admission();
    if (a) {
      held++;
      assert.match(a.reason, /spool catches up/);
      assert.equal(a.failure, false);
      await a.ready;
    }
    s.writeScores([point(i)]);
    peak = Math.max(peak, s.stats().buffered);
    if (i % 50 === 0) await tick();
  }
  assert.ok(peak <= 100, `memory peaked at ${peak} points`);
  assert.ok(held > 0, 'a spill to disk took longer than the writes: input was held back');
  await s.flush();
  assert.equal(s.stats().buffered, 0, 'flush left nothing in memory');
  assert.ok(s.stats().spooledBytes > 0);
  for (let i = 1000; i < 1010; i++) s.writeScores([point(i)]);
  await s.stop();
  await s.stop(); // idempotent
  assert.equal(dropped('overflow') + dropped('spool_full'), 0);
  s.writeScores([point(2000)]);
  assert.equal(dropped('overflow'), 1, 'a write after stop is counted, not silently lost');

  const spool = new Spool({ dir: spoolDir, maxBytes: 1 << 30 });
  const report = await spool.open();
  assert.equal(report.records, 1010);
  assert.equal(report.corrupt, 0);
});

test('disk full: the error says so, memory keeps buffer_max_points, the oldest beyond are counted', async () => {
  const spoolDir = path.join(dir, 'spool');
  const s = sink({ bufferMaxPoints: 100, spoolDir });
  await s.start();
  await symlink('/dev/full', path.join(spoolDir, '0000000000000000.seg'));
  for (let i = 0; i < 250; i++) {
    s.writeScores([point(i)]);
    await tick();
  }
  const diskErrors = tc.calls('sinkError').filter(([, , detail]) => /Disk full/.test(detail) && /ENOSPC/.test(detail));
  assert.ok(diskErrors.length >= 1, JSON.stringify(tc.calls('sinkError')));
  assert.equal(s.stats().buffered, 100);
  assert.equal(dropped('overflow'), 150);
  assert.equal(s.stats().spooledBytes, 0);
  const a = s.admission();
  assert.ok(a, 'a full buffer over a failing spool asks to hold input back');
  assert.equal(a.failure, true);
  assert.match(a.reason, /spool cannot write \(ENOSPC/);
  tc.abort.abort();
  await s.stop();
});

test('stop() is safe without start() and after a failed start()', async () => {
  await sink().stop();
  const bad = new InfluxSink(tc.ctx, { url: 'http://127.0.0.1:1/' });
  await assert.rejects(bad.start(), /database is not set/);
  await bad.stop();
  await bad.stop();
  await writeFile(path.join(dir, 'a-file'), '');
  const unusable = sink({ spoolDir: path.join(dir, 'a-file', 'spool') });
  await assert.rejects(unusable.start(), /Cannot open the InfluxDB spool directory/);
  await unusable.stop();
});
