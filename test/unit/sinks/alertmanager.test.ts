// The Alertmanager sink against a recording HTTP server (the real Alertmanager is in test/integration).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AlertNotice } from '../../../src/core/alert';
import { AlertmanagerSink, type AlertmanagerSinkOptions, type PostableAlert } from '../../../src/sinks/alertmanager';
import { testContext, type TestContext } from '../../helpers/context';
import { notice as alertNotice } from '../../helpers/notices';
import { freePort } from '../../helpers/ports';

interface Post {
  readonly path: string;
  readonly alerts: PostableAlert[];
  readonly at: number;
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function fakeAlertmanager(reply: (index: number) => number = () => 200): Promise<{ url: string; posts: Post[] }> {
  const port = await freePort();
  const posts: Post[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = reply(posts.length);
      posts.push({ path: req.url ?? '', alerts: JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostableAlert[], at: Date.now() });
      res.writeHead(status).end(status === 200 ? '' : `{"message":"status ${status}"}`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/`, posts };
}

function notice(over: Partial<AlertNotice> = {}): AlertNotice {
  return alertNotice({
    fingerprint: '1234123412341234', severity: 'warning', startsAt: Date.parse('2024-05-01T12:00:00Z'), score: 2, threshold: 1, pValue: 1e-3,
    topChannels: [{ channel: 'vib_x', share: 0.9 }], sequence: 1, ...over,
  });
}

function sink(t: TestContext, url: string, over: Partial<AlertmanagerSinkOptions> = {}): AlertmanagerSink {
  return new AlertmanagerSink(t.ctx, { url, timeoutMs: 1000, repostIntervalMs: 60_000, externalUrl: 'http://127.0.0.1:9464', retryBaseMs: 20, retryMaxDelayMs: 50, ...over });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('AlertmanagerSink', () => {
  it('posts to /api/v2/alerts with labels, annotations and an expiry four repost intervals ahead', async () => {
    const am = await fakeAlertmanager();
    const t = testContext('sink.alertmanager');
    const s = sink(t, am.url);
    await s.start();
    const before = Date.now();
    s.writeAlert(notice());
    await waitFor('an accepted post', () => t.calls('sinkWritten').length === 1);
    await s.stop();
    const post = am.posts[0];
    assert.equal(post?.path, '/api/v2/alerts');
    assert.equal(post?.alerts.length, 1);
    const alert = post?.alerts[0];
    assert.deepEqual(alert?.labels, { alertname: 'AnomalyDetected', stream: 'line1/pump1', model: 'pump', severity: 'warning' });
    assert.equal(alert?.startsAt, '2024-05-01T12:00:00.000Z');
    assert.equal(alert?.generatorURL, 'http://127.0.0.1:9464/?stream=line1%2Fpump1');
    assert.match(alert?.annotations['description'] ?? '', /vib_x 90%/);
    const ends = Date.parse(alert?.endsAt ?? '');
    assert.ok(ends >= before + 240_000 && ends <= Date.now() + 240_000, alert?.endsAt);
    assert.deepEqual(t.calls('sinkWritten'), [['alertmanager', 1]]);
  });

  it('re-posts firing alerts every interval and stops after the resolve, which carries endsAt', async () => {
    const am = await fakeAlertmanager();
    const t = testContext('sink.alertmanager');
    const s = sink(t, am.url, { repostIntervalMs: 100 });
    await s.start();
    s.writeAlert(notice());
    await waitFor('two re-posts', () => am.posts.length >= 3, 2000);
    s.writeAlert(notice({ status: 'resolved', endsAt: Date.parse('2024-05-01T12:10:00Z'), sequence: 2 }));
    await waitFor('the resolve', () => am.posts.some((p) => p.alerts[0]?.endsAt === '2024-05-01T12:10:00.000Z'));
    // The resolve delivered, the sink holds nothing more: there is nothing left it could re-post.
    await waitFor('the queue empty', () => s.stats().buffered === 0);
    const count = am.posts.length;
    await s.stop();
    assert.equal(am.posts.length, count, 'no re-posts after the resolve');
    // Timers never fire early, so a gap shorter than the interval would be a re-post loop; how late one may come
    // depends on the machine's load and is not asserted (the two re-posts above show they keep coming).
    const gaps = am.posts.slice(1, 3).map((p, i) => p.at - (am.posts[i]?.at ?? 0));
    assert.ok(gaps.every((g) => g >= 60), `re-post gaps ${gaps.join(', ')}`);
  });

  it('an escalation resolves the warning label set and posts the critical one', async () => {
    const am = await fakeAlertmanager();
    const t = testContext('sink.alertmanager');
    const s = sink(t, am.url);
    await s.start();
    s.writeAlert(notice());
    await waitFor('the first post', () => am.posts.length === 1);
    const before = Date.now();
    s.writeAlert(notice({ severity: 'critical', pValue: 1e-9, sequence: 2 }));
    await waitFor('the escalation post', () => am.posts.length === 2);
    await s.stop();
    const posted = am.posts[1]?.alerts ?? [];
    assert.deepEqual(
      posted.map((a) => a.labels['severity']),
      ['warning', 'critical'],
    );
    const warningEnds = Date.parse(posted[0]?.endsAt ?? '');
    assert.ok(warningEnds >= before && warningEnds <= Date.now(), 'the warning ends now');
    assert.ok(Date.parse(posted[1]?.endsAt ?? '') > Date.now() + 200_000, 'the critical one is firing');
  });

  it('retries 5xx with the latest state and drops a 4xx batch, counting it', async () => {
    const am = await fakeAlertmanager((i) => [503, 500, 400][i] ?? 200);
    const t = testContext('sink.alertmanager');
    const s = sink(t, am.url);
    await s.start();
    s.writeAlert(notice());
    await waitFor('three attempts, the last refused', () => am.posts.length === 3 && t.calls('sinkDropped').length === 1);
    assert.deepEqual(
      t.calls('sinkError').map(([name, retryable]) => [name, retryable]),
      [
        ['alertmanager', true],
        ['alertmanager', true],
      ],
    );
    assert.deepEqual(t.calls('sinkDropped').map((d) => d.slice(0, 3)), [['alertmanager', 'rejected', 1]]);
    s.writeAlert(notice({ status: 'resolved', endsAt: Date.now(), sequence: 2 }));
    await waitFor('the next post', () => am.posts.length === 4);
    await s.stop();
    assert.equal(am.posts[3]?.alerts.length, 1);
  });

  it('reconcile re-asserts restored firing alerts once; stop is idempotent', async () => {
    const am = await fakeAlertmanager();
    const t = testContext('sink.alertmanager');
    const s = sink(t, am.url);
    await s.start();
    s.reconcile([notice(), notice({ fingerprint: 'ffff0000ffff0000', kind: 'insufficient_data', status: 'resolved', endsAt: 1 })]);
    s.reconcile([notice()]);
    await waitFor('a post', () => am.posts.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await s.stop();
    await s.stop();
    assert.equal(am.posts.length, 1);
    assert.deepEqual(
      am.posts[0]?.alerts.map((a) => a.labels['alertname']),
      ['AnomalyDetected'],
    );
  });
});
