import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { OperatorApi, type AuditEvent } from '../../../src/telemetry/operatorApi';
import type { RetrainActions, RetrainJobJson } from '../../../src/telemetry/retrainApi';

const ADMIN = 'admin-token-0123456789';
const READ = 'read-token-0123456789';

function req(method: string, token?: string): IncomingMessage {
  const r = new PassThrough() as unknown as IncomingMessage;
  r.method = method;
  r.headers = token ? { authorization: `Bearer ${token}` } : {};
  (r as unknown as PassThrough).end();
  return r;
}

function api(audits: AuditEvent[], running = new Set<string>()): OperatorApi {
  const last = new Map<string, RetrainJobJson>();
  const actions: RetrainActions = {
    request(stream) {
      if (stream !== 'line1/pump1') return { refused: 'unknown', reason: `no stream '${stream}'` };
      if (running.has(stream)) return { refused: 'running', reason: 'already training' };
      running.add(stream);
      const job = { id: 'j1', stream, model: 'pump', state: 'queued', trigger: 'operator' };
      last.set(stream, job);
      return job;
    },
    last: (stream) => last.get(stream) ?? (stream === 'line1/pump1' ? null : 'unknown'),
  };
  return new OperatorApi({ readToken: READ, adminToken: ADMIN, retrain: actions, audit: (e) => audits.push(e), now: () => 0 });
}

test('POST starts a job (202, audited as retrain), 409 while it runs, 404 for an unknown stream; GET shows the last job', async () => {
  const audits: AuditEvent[] = [];
  const a = api(audits);
  const raw = '/api/v1/streams/line1/pump1/retrain';
  const encoded = '/api/v1/streams/line1%2Fpump1/retrain';
  assert.ok(a.handles(raw) && a.handles(encoded));
  assert.equal(a.handles('/api/v1/streams'), false, 'the status list stays the status API\'s');
  assert.equal((await a.handle(req('GET', READ), raw)).status, 404, 'no retrain yet');
  const started = await a.handle(req('POST', ADMIN), encoded);
  assert.equal(started.status, 202);
  assert.deepEqual(started.body, { id: 'j1', stream: 'line1/pump1', model: 'pump', state: 'queued', trigger: 'operator' });
  assert.deepEqual(audits, [{ who: 'admin', action: 'retrain', target: 'line1/pump1', detail: 'job j1 of model pump' }]);
  assert.equal((await a.handle(req('POST', ADMIN), raw)).status, 409);
  assert.equal((await a.handle(req('POST', ADMIN), '/api/v1/streams/nope/retrain')).status, 404);
  const last = await a.handle(req('GET', READ), raw);
  assert.equal(last.status, 200);
  assert.equal((last.body as { id: string }).id, 'j1');
  assert.equal((await a.handle(req('GET', READ), '/api/v1/streams/nope/retrain')).status, 404);
  assert.equal((await a.handle(req('DELETE', ADMIN), raw)).status, 405);
  assert.equal(audits.length, 1, 'refusals are not audited');
});

test('a start needs the admin token: none 401, the read token 403, no admin token configured 403', async () => {
  const audits: AuditEvent[] = [];
  const a = api(audits);
  const path = '/api/v1/streams/line1/pump1/retrain';
  assert.equal((await a.handle(req('POST'), path)).status, 401);
  assert.equal((await a.handle(req('POST', READ), path)).status, 403);
  assert.equal((await a.handle(req('GET'), path)).status, 401, 'reading needs the read token where one is set');
  const open = new OperatorApi({ retrain: { request: () => ({ refused: 'unknown', reason: '' }), last: () => null }, audit: (e) => audits.push(e), now: () => 0 });
  assert.equal((await open.handle(req('POST'), path)).status, 403);
  assert.equal(audits.length, 0);
});
