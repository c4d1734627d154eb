// The model routes of the operator API: reading takes the read token, promote and rollback the admin token
// (403 with none configured or with the read token, 401 without one) and change nothing when refused; a bad
// body is 400, an unknown model or version 404, nothing to roll back to 409.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ModelChange, ModelJson, ModelList, ModelRefusal, ModelsActions } from '../../../src/telemetry/modelsApi';
import { promoteRequest } from '../../../src/telemetry/modelsApi';
import { OperatorApi } from '../../../src/telemetry/operatorApi';

/** One model with v1..v3, v3 in shadow, kept in memory. */
function actions(): ModelsActions & { live: string; history: string[]; calls: string[] } {
  const a = {
    live: 'v1',
    history: [] as string[],
    calls: [] as string[],
    list: (): Promise<ModelList> => Promise.resolve({ models: [{ name: 'pump', live: a.live, shadow: null, history: a.history, versions: [] }], learnedNotListed: 0 }),
    promote: (model: string, version: string | undefined, who: string): Promise<ModelChange | ModelRefusal> => {
      a.calls.push(`promote ${model} ${version ?? '(shadow)'} ${who}`);
      if (model !== 'pump') return Promise.resolve({ refused: 'unknown', reason: `no model '${model}'` });
      const v = version ?? 'v3';
      if (!['v1', 'v2', 'v3'].includes(v)) return Promise.resolve({ refused: 'unknown', reason: `no version '${v}'` });
      const previous = a.live;
      a.history.push(previous);
      a.live = v;
      return Promise.resolve({ model, live: v, previous });
    },
    rollback: (model: string): Promise<ModelChange | ModelRefusal> => {
      const v = a.history.pop();
      if (v === undefined) return Promise.resolve({ refused: 'conflict', reason: 'nothing to roll back to' });
      const previous = a.live;
      a.live = v;
      return Promise.resolve({ model, live: v, previous });
    },
  };
  return a;
}

async function serve(tokens: { readToken?: string; adminToken?: string }): Promise<{ url: string; models: ReturnType<typeof actions>; close: () => Promise<void> }> {
  const models = actions();
  const api = new OperatorApi({ ...tokens, models, audit: () => assert.fail('model actions audit themselves'), now: () => 0 });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    void api.handle(req, path).then((r) => {
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, models, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const call = (url: string, path: string, token?: string, body?: unknown): Promise<Response> =>
  fetch(`${url}${path}`, {
    method: body === undefined && !path.endsWith('rollback') && !path.endsWith('promote') ? 'GET' : 'POST',
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

test('models API: no admin token configured refuses changes with 403; the read token reads and is refused changes with 403; none is 401', async () => {
  const open = await serve({});
  try {
    assert.equal((await call(open.url, '/api/v1/models/pump/promote', 'x', {})).status, 403);
    assert.equal((await call(open.url, '/api/v1/models/pump/rollback', 'x')).status, 403);
    assert.equal((await call(open.url, '/api/v1/models')).status, 200);
  } finally {
    await open.close();
  }
  const s = await serve({ readToken: 'read', adminToken: 'admin' });
  try {
    assert.equal((await call(s.url, '/api/v1/models')).status, 401);
    const listed = (await (await call(s.url, '/api/v1/models', 'read')).json()) as { models: ModelJson[]; learned_not_listed: number };
    assert.deepEqual([listed.models[0].live, listed.learned_not_listed], ['v1', 0]);
    assert.equal((await call(s.url, '/api/v1/models/pump/promote', undefined, {})).status, 401);
    const byReader = await call(s.url, '/api/v1/models/pump/promote', 'read', {});
    assert.equal(byReader.status, 403);
    assert.match(((await byReader.json()) as { error: string }).error, /read token cannot make changes/);
    assert.equal((await call(s.url, '/api/v1/models/pump/rollback', 'wrong')).status, 401);
    assert.deepEqual(s.models.calls, [], 'nothing reached the actions');
    assert.equal(s.models.live, 'v1');
  } finally {
    await s.close();
  }
});

test('models API: promote (default the shadow, or a named version), rollback, and their refusals', async () => {
  const s = await serve({ adminToken: 'admin' });
  try {
    const promoted = await call(s.url, '/api/v1/models/pump/promote', 'admin', {});
    assert.equal(promoted.status, 200);
    assert.deepEqual(await promoted.json(), { model: 'pump', live: 'v3', previous: 'v1' });
    assert.deepEqual(await (await call(s.url, '/api/v1/models/pump/promote', 'admin', { version: 'v2' })).json(), { model: 'pump', live: 'v2', previous: 'v3' });
    assert.equal((await call(s.url, '/api/v1/models/pump/promote', 'admin', { version: 'v9' })).status, 404);
    assert.equal((await call(s.url, '/api/v1/models/nope/promote', 'admin', {})).status, 404);
    assert.equal((await call(s.url, '/api/v1/models/pump/promote', 'admin', { version: 3 })).status, 400);
    assert.equal((await call(s.url, '/api/v1/models/pump/promote', 'admin', { versoin: 'v2' })).status, 400);
    assert.deepEqual(await (await call(s.url, '/api/v1/models/pump/rollback', 'admin')).json(), { model: 'pump', live: 'v3', previous: 'v2' });
    assert.deepEqual(await (await call(s.url, '/api/v1/models/pump/rollback', 'admin')).json(), { model: 'pump', live: 'v1', previous: 'v3' });
    const none = await call(s.url, '/api/v1/models/pump/rollback', 'admin');
    assert.equal(none.status, 409);
    assert.equal((await call(s.url, '/api/v1/models/pump/retire', 'admin', {})).status, 404);
    const get = await fetch(`${s.url}/api/v1/models/pump/promote`, { headers: { authorization: 'Bearer admin' } });
    assert.equal(get.status, 405);
    assert.equal((await fetch(`${s.url}/api/v1/models`, { method: 'DELETE', headers: { authorization: 'Bearer admin' } })).status, 405);
  } finally {
    await s.close();
  }
});

test('promoteRequest: an object with at most a version id', () => {
  assert.deepEqual(promoteRequest({}), { version: undefined });
  assert.deepEqual(promoteRequest({ version: 'v12' }), { version: 'v12' });
  assert.ok('refused' in promoteRequest([]));
  assert.ok('refused' in promoteRequest({ version: 'latest' }));
});
