import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { maintenanceRequest, OperatorApi, type AuditEvent, type FeedbackActions, type MaintenanceActions, type MaintenanceWindowJson } from '../../../src/telemetry/operatorApi';

const NOW = Date.parse('2026-12-10T06:00:00Z');

/** Maintenance actions kept in a list (the real ones are tested in test/unit/app/maintenance.test.ts). */
function listActions(): MaintenanceActions & { windows: MaintenanceWindowJson[] } {
  const windows: MaintenanceWindowJson[] = [{ id: 'cfg', reason: 'file', streams: ['**'], labels: {}, schedule: '0 6 * * 1 (UTC)', duration_ms: 3_600_000, origin: 'config', created_by: 'config' }];
  return {
    windows,
    list: () => windows,
    add: (r, who) => {
      const w: MaintenanceWindowJson = { id: `w${windows.length}`, reason: r.reason, streams: r.streams, labels: r.labels, start: new Date(r.start).toISOString(), end: new Date(r.end).toISOString(), origin: 'api', created_by: who };
      windows.push(w);
      return Promise.resolve(w);
    },
    end: (id) => {
      const i = windows.findIndex((w) => w.id === id);
      if (i < 0) return Promise.resolve('unknown' as const);
      if (windows[i].origin === 'config') return Promise.resolve('config' as const);
      windows.splice(i, 1);
      return Promise.resolve('ended' as const);
    },
  };
}

async function serve(options: { readToken?: string; adminToken?: string }): Promise<{ url: string; audit: AuditEvent[]; actions: ReturnType<typeof listActions>; close: () => Promise<void> }> {
  const audit: AuditEvent[] = [];
  const actions = listActions();
  const api = new OperatorApi({ ...options, maintenance: actions, audit: (e) => audit.push(e), now: () => NOW });
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    void api.handle(req, path).then((r) => {
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(r.status === 204 ? undefined : JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, audit, actions, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const body = { streams: 'line1/*', reason: 'valve swap', end: '2026-12-10T10:00:00Z' };
const post = (url: string, token?: string, payload: unknown = body, type = 'application/json'): Promise<Response> =>
  fetch(`${url}/api/v1/maintenance`, { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(payload) });

test('operator API: without an admin token every change is refused with 403 and nothing changes', async () => {
  const s = await serve({});
  try {
    const r = await post(s.url, 'anything');
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: string }).error, /no http.admin_token/);
    assert.equal(s.actions.windows.length, 1);
    assert.equal((await fetch(`${s.url}/api/v1/maintenance`)).status, 200, 'reading is open without a read token');
  } finally {
    await s.close();
  }
});

test('operator API: no token or a wrong one is 401, the read token is 403, the admin token makes the change and is audited', async () => {
  const s = await serve({ readToken: 'read-secret', adminToken: 'admin-secret' });
  try {
    assert.equal((await post(s.url)).status, 401);
    assert.equal((await post(s.url, 'wrong')).status, 401);
    assert.equal((await post(s.url, 'read-secret')).status, 403);
    assert.equal(s.actions.windows.length, 1, 'refused changes change nothing');
    assert.equal(s.audit.length, 0);
    assert.equal((await fetch(`${s.url}/api/v1/maintenance`)).status, 401, 'reading needs a token when one is set');
    const list = await fetch(`${s.url}/api/v1/maintenance`, { headers: { authorization: 'Bearer read-secret' } });
    assert.equal(list.status, 200);
    const r = await post(s.url, 'admin-secret');
    assert.equal(r.status, 201);
    const w = (await r.json()) as MaintenanceWindowJson;
    assert.deepEqual([w.streams, w.start, w.end, w.created_by], [['line1/*'], '2026-12-10T06:00:00.000Z', '2026-12-10T10:00:00.000Z', 'admin']);
    assert.equal(r.headers.get('location'), `/api/v1/maintenance/${w.id}`);
    assert.deepEqual(s.audit.map((a) => [a.who, a.action, a.target]), [['admin', 'maintenance_add', w.id]]);
    const del = (id: string): Promise<Response> => fetch(`${s.url}/api/v1/maintenance/${id}`, { method: 'DELETE', headers: { authorization: 'Bearer admin-secret' } });
    assert.equal((await del('cfg')).status, 409, 'a config window is ended by editing the file');
    assert.equal((await del('nope')).status, 404);
    assert.equal((await del(w.id)).status, 204);
    assert.deepEqual(s.audit.map((a) => a.action), ['maintenance_add', 'maintenance_end']);
    const one = await fetch(`${s.url}/api/v1/maintenance/cfg`, { headers: { authorization: 'Bearer admin-secret' } });
    assert.equal(((await one.json()) as MaintenanceWindowJson).id, 'cfg', 'the admin token reads too');
  } finally {
    await s.close();
  }
});

test('operator API: bodies that are not JSON, too large, or not a window are refused with the reason', async () => {
  const s = await serve({ adminToken: 'a' });
  try {
    assert.equal((await post(s.url, 'a', body, 'text/plain')).status, 415);
    assert.equal((await fetch(`${s.url}/api/v1/maintenance`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer a' }, body: '{"reason":' })).status, 400);
    assert.equal((await post(s.url, 'a', { ...body, reason: 'x'.repeat(70_000) })).status, 413);
    const bad = await post(s.url, 'a', { ...body, colour: 'red' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /unknown field\(s\): colour/);
    assert.equal((await fetch(`${s.url}/api/v1/maintenance`, { method: 'PUT', headers: { authorization: 'Bearer a' } })).status, 405);
    assert.equal(s.actions.windows.length, 1);
  } finally {
    await s.close();
  }
});

test('maintenance request: defaults and refusals', () => {
  assert.deepEqual(maintenanceRequest({ reason: ' r ', end: '2026-12-10T07:00:00+01:00' }, NOW - 1), { streams: ['**'], labels: {}, start: NOW - 1, end: NOW, reason: 'r' });
  const refused = (v: unknown): string => {
    const r = maintenanceRequest(v, NOW);
    return 'refused' in r ? r.refused : 'accepted';
  };
  assert.match(refused([]), /JSON object/);
  assert.match(refused({ end: '2026-12-10T07:00:00Z' }), /reason is required/);
  assert.match(refused({ reason: 'r' }), /end is required/);
  assert.match(refused({ reason: 'r', end: '2026-12-10 07:00' }), /end is required/);
  assert.match(refused({ reason: 'r', end: '2026-12-10T05:00:00Z' }), /end must be after start/);
  assert.match(refused({ reason: 'r', start: '2026-12-09T01:00:00Z', end: '2026-12-09T05:00:00Z' }), /in the past/);
  assert.match(refused({ reason: 'r', end: '2026-12-10T07:00:00Z', labels: { line: 1 } }), /labels must be/);
  assert.match(refused({ reason: 'r', end: '2026-12-10T07:00:00Z', streams: [] }), /streams must be/);
});

test('operator API: feedback needs the admin token, names an episode the daemon knows, and is audited', async () => {
  const labels: { fingerprint: string; label: string; startsAt?: number }[] = [];
  const feedback: FeedbackActions = {
    list: () => [],
    label: (fingerprint, request) => {
      if (fingerprint !== 'abc123') return Promise.resolve('unknown' as const);
      labels.push({ fingerprint, label: request.label, ...(request.startsAt !== undefined ? { startsAt: request.startsAt } : {}) });
      return Promise.resolve({ fingerprint, stream: 's', kind: 'anomaly', startsAt: '2026-12-10T05:00:00.000Z', endsAt: null, label: request.label, note: request.note, who: 'admin', at: '2026-12-10T06:00:00.000Z' });
    },
  };
  const audit: AuditEvent[] = [];
  const api = new OperatorApi({ adminToken: 'admin-secret', feedback, audit: (e) => audit.push(e), now: () => NOW });
  const server = createServer((req, res) => {
    void api.handle(req, new URL(req.url ?? '/', 'http://x').pathname).then((r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (fp: string, body: unknown, token = 'admin-secret'): Promise<Response> =>
    fetch(`${url}/api/v1/alerts/${fp}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  try {
    assert.equal(api.handles('/api/v1/alerts'), false, 'the status JSON stays with the HTTP server');
    assert.equal((await post('abc123', { label: 'false_positive' }, 'wrong')).status, 401);
    assert.equal((await post('abc123', { label: 'maybe' })).status, 400);
    assert.equal((await post('abc123', { label: 'true_positive', startsAt: 'yesterday' })).status, 400);
    assert.equal((await post('nope', { label: 'true_positive' })).status, 404);
    assert.equal(labels.length, 0);
    const ok = await post('abc123', { label: 'false_positive', note: ' valve test ', startsAt: '2026-12-10T05:00:00Z' });
    assert.equal(ok.status, 201);
    assert.deepEqual(labels, [{ fingerprint: 'abc123', label: 'false_positive', startsAt: Date.parse('2026-12-10T05:00:00Z') }]);
    assert.deepEqual(audit.map((a) => [a.action, a.target, a.detail]), [['feedback', 'abc123@2026-12-10T05:00:00.000Z', 'false_positive: valve test']]);
    assert.equal((await fetch(`${url}/api/v1/feedback`)).status, 200);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
