// Bearer-token protection of /metrics, the status page and its JSON (/api/v1/alerts, /api/v1/streams); probes stay open.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createEvents } from '../../src/telemetry/events';
import { createTelemetryServer, type TelemetryServer } from '../../src/telemetry/http';
import { createMetrics } from '../../src/telemetry/metrics';
import { testContext } from '../helpers/context';

const TOKEN = 'canary-token-0123456789abcdef';
let server: TelemetryServer;
let url: string;

before(async () => {
  const metrics = createMetrics({ maxStreamLabels: 10, defaultMetrics: false });
  const events = createEvents(testContext().ctx.log, metrics);
  server = createTelemetryServer({ host: '127.0.0.1', port: 0, metrics, status: events.status, bearerToken: TOKEN });
  url = (await server.start()).url;
});

after(async () => {
  await server.stop();
});

test('without the token /metrics, / and the JSON API answer 401; with it 200; the token never appears in a response', async () => {
  for (const path of ['/metrics', '/', '/api/v1/alerts', '/api/v1/streams']) {
    const denied = await fetch(url + path);
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await fetch(url + path, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
    const ok = await fetch(url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.ok(!(await ok.text()).includes(TOKEN));
  }
});

test('health probes stay open', async () => {
  assert.equal((await fetch(url + '/healthz')).status, 200);
  assert.notEqual((await fetch(url + '/readyz')).status, 401);
});
