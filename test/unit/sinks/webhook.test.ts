// The webhook sink against real HTTP receivers (node:http on free loopback ports).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AlertNotice } from '../../../src/core/alert';
import { webhookBody } from '../../../src/sinks/alertPayload';
import { Outbox } from '../../../src/sinks/outbox';
import { WebhookSink, type WebhookSinkOptions } from '../../../src/sinks/webhook';
import { testContext, type TestContext } from '../../helpers/context';
import { notice as alertNotice } from '../../helpers/notices';
import { freePort } from '../../helpers/ports';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}
type Reply = number | 'hang';

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  reply: (index: number) => Reply;
  close(): Promise<void>;
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function receiver(reply: (index: number) => Reply): Promise<Receiver> {
  const port = await freePort();
  const r: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    received: [],
    reply,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = r.received.length;
      r.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = r.reply(index);
      if (answer === 'hang') return;
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 400 ? `refused with ${answer}` : 'ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return r;
}

function notice(sequence: number, status: 'firing' | 'resolved' = 'firing'): AlertNotice {
  return alertNotice({
    fingerprint: '00112233aabbccdd', status, severity: 'warning', endsAt: status === 'firing' ? null : 1_700_000_060_000,
    score: 0.5, threshold: 0.1, pValue: 0.001, topChannels: [{ channel: 'vib_x', share: 0.7 }], sequence, labels: { line: 'line1' },
  });
}

function sink(t: TestContext, url: string, over: Partial<WebhookSinkOptions> = {}): WebhookSink {
  return new WebhookSink(t.ctx, {
    receiver: 'ops',
    url,
    timeoutMs: 1000,
    maxRetries: 10,
    sendResolved: true,
    stateDir: mkdtempSync(path.join(tmpdir(), 'webhook-')),
    externalUrl: 'http://127.0.0.1:9464',
    retryBaseMs: 20,
    retryMaxDelayMs: 100,
    ...over,
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const results = (t: TestContext): [string, number | null][] => t.calls('webhookDelivery').map(([, result, status]) => [result, status]);

describe('WebhookSink delivery', () => {
  it('signs the body with HMAC-SHA256 over "<t>.<body>" and sends the idempotency key and custom headers', async () => {
    const r = await receiver(() => 200);
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { secret: 'hmac-key-1', headers: { 'X-Team': 'pumps' } });
    await s.start();
    s.writeAlert(notice(7));
    await waitFor('delivery', () => results(t).length === 1);
    await s.stop();
    const [got] = r.received;
    assert.ok(got);
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(got.headers['x-anomalyd-signature']));
    assert.ok(match, `signature header ${String(got.headers['x-anomalyd-signature'])}`);
    const [, ts, mac] = match;
    assert.equal(mac, createHmac('sha256', 'hmac-key-1').update(`${ts}.${got.body}`).digest('hex'));
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 10);
    assert.notEqual(mac, createHmac('sha256', 'other-key').update(`${ts}.${got.body}`).digest('hex'));
    assert.equal(got.headers['idempotency-key'], '00112233aabbccdd-7');
    assert.equal(got.headers['x-team'], 'pumps');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(got.body), webhookBody(notice(7), { receiver: 'ops', externalUrl: 'http://127.0.0.1:9464' }));
    assert.deepEqual(results(t), [['success', 200]]);
    assert.equal(s.stats().buffered, 0);
    assert.ok(!JSON.stringify([t.logs, t.events]).includes('hmac-key-1'), 'the secret never reaches logs or events');
  });

  it('retries 500, 503 and a timeout with the same idempotency key and body, then succeeds', async () => {
    const r = await receiver((i) => [500, 503, 'hang' as const][i] ?? 200);
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { secret: 'k', timeoutMs: 300 });
    await s.start();
    s.writeAlert(notice(1));
    await waitFor('delivery', () => results(t).some(([res]) => res === 'success'));
    await s.stop();
    assert.equal(r.received.length, 4);
    assert.deepEqual(new Set(r.received.map((x) => x.headers['idempotency-key'])), new Set(['00112233aabbccdd-1']));
    assert.equal(new Set(r.received.map((x) => x.body)).size, 1);
    assert.deepEqual(results(t), [
      ['retry', 500],
      ['retry', 503],
      ['retry', null],
      ['success', 200],
    ]);
    assert.match(String(t.calls('webhookDelivery')[2]?.[3]), /timed out/);
  });

  it('does not retry a 4xx: counted as rejected, dropped, and the next notice goes out', async () => {
    const r = await receiver((i) => (i === 0 ? 400 : 200));
    const t = testContext('sink.webhook');
    const s = sink(t, r.url);
    await s.start();
    s.writeAlert(notice(1));
    s.writeAlert(notice(2));
    await waitFor('two results', () => results(t).length === 2);
    // Nothing left in the outbox: no further request can come.
    await waitFor('the outbox empty', () => s.stats().buffered === 0);
    await s.stop();
    assert.deepEqual(
      r.received.map((x) => x.headers['idempotency-key']),
      ['00112233aabbccdd-1', '00112233aabbccdd-2'],
    );
    assert.deepEqual(results(t), [
      ['rejected', 400],
      ['success', 200],
    ]);
    const dropped = t.calls('sinkDropped');
    assert.equal(dropped.length, 1);
    assert.deepEqual(dropped[0]?.slice(0, 3), ['webhook.ops', 'rejected', 1]);
    assert.match(String(dropped[0]?.[3]), /refused with 400/);
  });

  it('retries 429, honouring Retry-After up to the cap', async () => {
    const r = await receiver((i) => (i === 0 ? 429 : 200));
    const t = testContext('sink.webhook');
    const s = sink(t, r.url);
    await s.start();
    s.writeAlert(notice(1));
    await waitFor('delivery', () => results(t).length === 2);
    await s.stop();
    assert.deepEqual(results(t), [
      ['retry', 429],
      ['success', 200],
    ]);
  });

  it('after max_retries counts failures but keeps the notice and delivers it once the receiver is back', async () => {
    const r = await receiver((i) => (i < 4 ? 502 : 200));
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { maxRetries: 1, retryMaxDelayMs: 40 });
    await s.start();
    s.writeAlert(notice(1));
    await waitFor('delivery', () => results(t).some(([res]) => res === 'success'));
    await s.stop();
    assert.deepEqual(
      results(t).map(([res]) => res),
      ['retry', 'failed', 'failed', 'failed', 'success'],
    );
  });

  it('send_resolved: false skips resolved notices', async () => {
    const r = await receiver(() => 200);
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { sendResolved: false });
    await s.start();
    s.writeAlert(notice(1));
    s.writeAlert(notice(2, 'resolved'));
    s.writeAlert(notice(3));
    await waitFor('deliveries', () => results(t).length === 2);
    // Nothing left in the outbox: the skipped resolve is not still on its way.
    await waitFor('the outbox empty', () => s.stats().buffered === 0);
    await s.stop();
    assert.deepEqual(
      r.received.map((x) => x.headers['idempotency-key']),
      ['00112233aabbccdd-1', '00112233aabbccdd-3'],
    );
  });

  it('sends URL credentials as Basic auth and never logs them', async () => {
    const r = await receiver(() => 200);
    const t = testContext('sink.webhook');
    const s = sink(t, r.url.replace('http://', 'http://ops:pw-very-secret@'));
    await s.start();
    s.writeAlert(notice(1));
    await waitFor('delivery', () => results(t).length === 1);
    await s.stop();
    assert.equal(r.received[0]?.headers.authorization, `Basic ${Buffer.from('ops:pw-very-secret').toString('base64')}`);
    assert.ok(!JSON.stringify([t.logs, t.events]).includes('pw-very-secret'));
  });

  it('stops retrying when the daemon aborts, keeping the notice', async () => {
    const r = await receiver(() => 500);
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { retryBaseMs: 50, retryMaxDelayMs: 50 });
    await s.start();
    s.writeAlert(notice(1));
    await waitFor('first attempt', () => r.received.length >= 1);
    t.abort.abort();
    const count = r.received.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(r.received.length <= count + 1, `no retries after abort (${r.received.length} requests)`);
    await s.stop();
    assert.equal(s.stats().buffered, 1);
  });
});

describe('WebhookSink outbox', () => {
  it('a new sink instance delivers what the stopped one could not, once each, in order, with the same keys', async () => {
    const r = await receiver(() => 503);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'webhook-'));
    const t1 = testContext('sink.webhook');
    const first = sink(t1, r.url, { stateDir, retryBaseMs: 30 });
    await first.start();
    for (let seq = 1; seq <= 3; seq++) first.writeAlert(notice(seq));
    await waitFor('a few failed attempts', () => r.received.length >= 2);
    assert.equal(first.stats().buffered, 3);
    await first.stop();
    const firstAttempts = r.received.length;
    assert.ok(r.received.every((x) => x.headers['idempotency-key'] === '00112233aabbccdd-1'), 'in order: notice 1 blocks the others');

    r.reply = () => 200;
    const t2 = testContext('sink.webhook');
    const second = sink(t2, r.url, { stateDir });
    await second.start();
    await waitFor('redelivery', () => results(t2).length === 3);
    await waitFor('the outbox empty', () => second.stats().buffered === 0);
    await second.stop();
    assert.deepEqual(
      r.received.slice(firstAttempts).map((x) => x.headers['idempotency-key']),
      ['00112233aabbccdd-1', '00112233aabbccdd-2', '00112233aabbccdd-3'],
    );

    const t3 = testContext('sink.webhook');
    const third = sink(t3, r.url, { stateDir });
    await third.start();
    // The outbox was loaded by start(): it holds nothing, so there is nothing it could send again.
    assert.equal(third.stats().buffered, 0, 'nothing pending after the reload');
    await third.stop();
    assert.equal(r.received.length, firstAttempts + 3, 'delivered notices are not sent again');
  });

  it('survives kill -9 of the daemon process: the next start re-sends with the same keys', async () => {
    const r = await receiver(() => 503);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'webhook-'));
    const modulePath = path.resolve(__dirname, '..', '..', '..', 'src', 'sinks', 'webhook.js');
    const script = `
      const { WebhookSink } = require(${JSON.stringify(modulePath)});
      const noop = () => {};
      const log = { error: noop, warn: noop, info: noop, debug: noop, child: () => log };
      const ctx = { id: 'child', log, events: new Proxy({}, { get: () => noop }), clock: { now: () => Date.now() }, signal: new AbortController().signal };
      const sink = new WebhookSink(ctx, ${JSON.stringify({ receiver: 'ops', url: r.url, timeoutMs: 1000, maxRetries: 10, sendResolved: true, stateDir, externalUrl: 'http://127.0.0.1:9464', retryBaseMs: 5000, retryMaxDelayMs: 5000 })});
      sink.start().then(async () => {
        for (const n of ${JSON.stringify([notice(1), notice(2, 'resolved')])}) sink.writeAlert(n);
        await sink.flush();
        process.stdout.write('persisted\\n');
        setInterval(noop, 1000);
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('persisted')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    await waitFor('the child attempt', () => r.received.length >= 1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    r.reply = () => 200;
    const before = r.received.length;
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { stateDir });
    await s.start();
    await waitFor('redelivery', () => results(t).length === 2);
    await s.stop();
    assert.deepEqual(
      r.received.slice(before).map((x) => x.headers['idempotency-key']),
      ['00112233aabbccdd-1', '00112233aabbccdd-2'],
    );
    assert.equal(r.received[0]?.body, r.received[before]?.body, 'the re-sent body is byte-identical');
  });

  it('skips and counts damaged outbox lines at start and delivers the intact notices', async () => {
    const r = await receiver(() => 200);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'webhook-'));
    const box = new Outbox({ dir: stateDir, receiver: 'ops', maxNotices: 100 });
    await box.open();
    box.add(notice(1));
    await box.flush();
    appendFileSync(box.file, 'not a record at all\n');
    box.add(notice(2));
    await box.close();
    appendFileSync(box.file, '3f2a {"op":"add","key":"00112233aabbccdd-3","noti');
    const t = testContext('sink.webhook');
    const s = sink(t, r.url, { stateDir });
    await s.start();
    await waitFor('deliveries', () => results(t).length === 2);
    await s.stop();
    const dropped = t.calls('sinkDropped');
    assert.deepEqual(dropped.map((d) => d.slice(0, 3)), [['webhook.ops', 'spool_corrupt', 2]]);
    assert.deepEqual(
      r.received.map((x) => x.headers['idempotency-key']),
      ['00112233aabbccdd-1', '00112233aabbccdd-2'],
    );
  });

  it('stop() is idempotent and safe without start()', async () => {
    const t = testContext('sink.webhook');
    const s = sink(t, 'http://127.0.0.1:9/x');
    await s.stop();
    await s.stop();
    s.writeAlert(notice(1));
    assert.equal(s.stats().buffered, 0);
  });
});
