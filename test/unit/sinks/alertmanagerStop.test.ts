// AlertmanagerSink.stop(): what is queued is posted once more within one request timeout, and what still did not
// go out is counted as dropped, never lost silently (the contract suite checks the same against a real one).
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { after, test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { AlertmanagerSink } from '../../../src/sinks/alertmanager';
import { testContext, type TestContext } from '../../helpers/context';
import { freePort } from '../../helpers/ports';

/** A stand-in Alertmanager: `answer` decides each post (a status, or 'hang' to never answer). */
async function alertmanager(answer: (index: number) => number | 'hang'): Promise<{ url: string; posts: number[]; arrivals: number[] }> {
  const posts: number[] = [];
  const arrivals: number[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = answer(posts.length);
      posts.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[]).length);
      arrivals.push(Date.now());
      if (a === 'hang') hanging.push(res);
      else res.writeHead(a).end();
    });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, posts, arrivals };
}

function notice(i: number): AlertNotice {
  return {
    fingerprint: `f${i}`,
    stream: `line1/pump${i}`,
    model: 'pump',
    kind: 'anomaly',
    status: 'firing',
    severity: 'warning',
    startsAt: Date.now(),
    endsAt: null,
    score: 2,
    threshold: 1,
    pValue: 1e-3,
    topChannels: [],
    sequence: i,
    labels: {},
  };
}

const sink = (t: TestContext, url: string, retryBaseMs = 20): AlertmanagerSink =>
  new AlertmanagerSink(t.ctx, { url, timeoutMs: 300, repostIntervalMs: 60_000, externalUrl: 'http://127.0.0.1:9464', retryBaseMs, retryMaxDelayMs: 60_000 });
const dropped = (t: TestContext): number => t.calls('sinkDropped').reduce((n, [, , count]) => n + count, 0);
const written = (t: TestContext): number => t.calls('sinkWritten').reduce((n, [, count]) => n + count, 0);

test('stop during a back-off pause posts the queue once more at once', async () => {
  const am = await alertmanager((i) => (i === 0 ? 503 : 200));
  const t = testContext('sink.alertmanager');
  // A first retry a minute away: only stop() can make the second post happen within the test.
  const s = sink(t, am.url, 60_000);
  await s.start();
  s.writeAlert(notice(1));
  s.writeAlert(notice(2));
  while (t.calls('sinkError').length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const began = Date.now();
  await s.stop();
  assert.ok(Date.now() - began < 1000, 'no waiting out the back-off');
  assert.deepEqual([written(t), dropped(t), s.stats().buffered], [2, 0, 0]);
});

test('stop with Alertmanager refusing connections counts the queue as dropped', async () => {
  const t = testContext('sink.alertmanager');
  const s = sink(t, `http://127.0.0.1:${await freePort()}`);
  await s.start();
  for (let i = 1; i <= 3; i++) s.writeAlert(notice(i));
  await s.stop();
  assert.deepEqual([written(t), dropped(t), s.stats().buffered], [0, 3, 0]);
  assert.match(t.calls('sinkDropped')[0]?.[3] ?? '', /not delivered/);
});

test('stop with a post that hangs gives up after one request timeout and counts the post as dropped', async () => {
  const am = await alertmanager(() => 'hang');
  const t = testContext('sink.alertmanager');
  const s = sink(t, am.url);
  await s.start();
  const queued = Date.now();
  s.writeAlert(notice(1));
  while (am.posts.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await s.stop();
  // The post's own timeout (300 ms) starts when it is sent, after writeAlert and before its arrival; on a loaded
  // machine this loop notices the arrival late and the arrival itself is noticed late, so the waiting is bounded
  // from below by the time it was queued and from above by the time it arrived.
  const stopped = Date.now();
  assert.ok(stopped - queued >= 295, `stopped ${stopped - queued} ms after the alert was queued, before its post timed out`);
  assert.ok(stopped - am.arrivals[0] < 2000, `stopped ${stopped - am.arrivals[0]} ms after the hanging post arrived`);
  assert.deepEqual([written(t), dropped(t)], [0, 1]);
});

test('a sink stopped without having started counts what it was given', async () => {
  const t = testContext('sink.alertmanager');
  const s = sink(t, 'http://127.0.0.1:9');
  s.writeAlert(notice(1));
  await s.stop();
  assert.equal(dropped(t), 1);
  assert.match(t.calls('sinkDropped')[0]?.[3] ?? '', /without having started/);
});
