// Retraining against the real daemon, Mosquitto and a webhook receiver: a pump's load profile changes (its
// pressure level shifts), the share of windows beyond the calibration's 99th percentile passes the drift bound, and
// the daemon retrains the stream's model from its recorded windows into a candidate (left out: the windows of
// the alert the shift raised). The operator labels that alert a false positive and retrains through
// `anomalyd retrain`: the new candidate learns the shifted windows. Each candidate is a version of the model that
// shadows the live one without paging; `anomalyd models promote` makes it live and `rollback` returns, across kill -9. Starting a retrain is refused without the
// admin token (401) and with the read token (403), and changes nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pumpPayload, pumpSamples } from '../../src/simulator/signals';
import type { ModelJson } from '../../src/telemetry/modelsApi';
import { counterValue, faultSuite, MAIN, metricValue, pollUntil, publishAll, simAssets, topicOf } from '../helpers/faults';

const run = promisify(execFile);
const ADMIN = 'admin-secret-4242-retrain';
const READ = 'read-secret-4242-retrain';
const STREAM = 'line1/pump0';
// Yesterday 04:00 UTC: the simulated pump follows the time of day, and at some hours the shift's alert resolved
// before it could be labelled; a fixed hour gives the same data every run.
const T0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 20 * 3600_000;
const PRESSURE = 5;
const suite = faultSuite('retrain', { receiver: true });

interface Job {
  readonly id: string;
  readonly stream: string;
  readonly model: string;
  readonly trigger: string;
  readonly state: string;
  readonly reason?: string;
  readonly version?: string;
  readonly windows?: number;
  readonly data_hash?: string;
  readonly metrics?: Record<string, number>;
}

test('a drift retrains the stream\'s model from its recorded clean windows; the operator retrains after labelling the shift a false positive', async () => {
  const d = await suite.daemon(
    'retrain',
    {
      sinks: `  webhooks: [{ name: hook, url: ${suite.receiver.url} }]`,
      extra: `retrain:
  lookback: 2h
  min_clean_windows: 40
  drift: { over: 10m, factor: 3, min_windows: 30 }`,
    },
    (yaml) =>
      yaml
        .replace(/^http: \{ (.*) \}$/m, `http: { $1, token: ${READ}, admin_token: ${ADMIN} }`)
        .replace(/^defaults:\n/m, 'defaults:\n  training: { epochs: 3, encoder_units: [32], latent_units: 4, seed: 5 }\n'),
  );
  await d.ready();
  const base = `http://127.0.0.1:${d.httpPort}`;
  /** The pump model as GET /api/v1/models shows it (of `daemon`, default the first one started). */
  const pumpModel = async (daemon: { readonly httpPort: number } = d): Promise<ModelJson> =>
    ((await (await fetch(`http://127.0.0.1:${daemon.httpPort}/api/v1/models`, { headers: { authorization: `Bearer ${READ}` } })).json()) as { models: ModelJson[] }).models.find((m) => m.name === 'pump') as ModelJson;
  const api = async (method: string, p: string, token?: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    const r = await fetch(`${base}${p}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: await r.json().catch((): unknown => null) };
  };
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${READ}` } })).text();
  const retrainPath = `/api/v1/streams/${encodeURIComponent(STREAM)}/retrain`;

  const pub = await suite.publisher('retrain-publisher');
  const seed = simAssets('pump', 1, 3, 1)[0].seed;
  const samples = pumpSamples(seed, T0, 1600);
  // The first 800 s as the model knows them, then the pressure level 40 % up (another duty point of the plant).
  const shifted = samples.map((s, i) => (i < 800 ? s : { ts: s.ts, values: Float32Array.from(s.values, (v, c) => (c === PRESSURE ? v * 1.4 : v)) }));
  await publishAll(pub, shifted.slice(0, 800).map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })), 50);
  await pollUntil('the normal windows are scored', async () => metricValue(await metrics(), 'anomalyd_windows_scored_total'), (n) => n >= 77, 30_000);
  assert.equal(counterValue(await metrics(), 'anomalyd_retrains_total', { trigger: 'drift', outcome: 'candidate' }), 0, 'no drift on the data the model knows');

  // Refused changes change nothing: no token 401, the read token 403, an unknown stream 404.
  assert.equal((await api('POST', retrainPath)).status, 401);
  assert.equal((await api('POST', retrainPath, READ)).status, 403);
  assert.equal((await api('POST', '/api/v1/streams/line1%2Fnope/retrain', ADMIN)).status, 404);
  assert.equal((await api('GET', retrainPath, READ)).status, 404, 'no retrain yet');

  await publishAll(pub, shifted.slice(800).map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })), 50);
  const drifted = await pollUntil(
    'the drift retrain produces a candidate',
    async () => {
      const r = await api('GET', retrainPath, READ);
      return r.status === 200 ? (r.body as Job) : { id: '', stream: STREAM, model: '', trigger: '', state: 'none' };
    },
    (j) => j.id !== '' && j.state !== 'queued' && j.state !== 'training',
    90_000,
    500,
  );
  assert.equal(drifted.trigger, 'drift', JSON.stringify(drifted));
  assert.equal(drifted.state, 'shadow', JSON.stringify(drifted));
  assert.equal(drifted.model, 'pump');
  assert.ok((drifted.windows ?? 0) >= 40, `trained on the clean windows (${drifted.windows})`);
  assert.match(drifted.data_hash ?? '', /^[0-9a-f]{64}$/);
  assert.ok(!Number.isNaN(metricValue(await metrics(), 'anomalyd_drift_share', { stream: STREAM })), 'the stream has a drift share series');
  assert.equal(counterValue(await metrics(), 'anomalyd_retrains_total', { trigger: 'drift', outcome: 'candidate' }), 1);
  assert.match(d.log, /The stream drifted: retraining its model\./);
  // The candidate is a version of the model in the version store, shadowing the live v1.
  const afterDrift = await pumpModel();
  assert.deepEqual([afterDrift.live, afterDrift.shadow?.version], ['v1', drifted.version]);
  assert.equal(drifted.version, 'v2');
  const stored = afterDrift.versions.find((v) => v.version === 'v2');
  assert.deepEqual([stored?.trigger, stored?.stream, stored?.windows, stored?.data_hash], ['drift', STREAM, drifted.windows, drifted.data_hash]);
  const manifest = JSON.parse(await readFile(path.join(stored?.dir ?? '', 'manifest.json'), 'utf8')) as { training: { windows: number }; calibration: unknown };
  assert.equal(manifest.training.windows, drifted.windows);
  assert.notEqual(manifest.calibration, null, 'calibrated');

  // The shift paged (the live model has not changed); the operator says it was the new normal.
  const alerts = await pollUntil(
    'the shift fires an alert',
    async () => (await api('GET', '/api/v1/alerts', READ)).body as { firing: { fingerprint: string; stream: string }[] },
    (a) => a.firing.some((f) => f.stream === STREAM),
    30_000,
  );
  const firing = alerts.firing.find((f) => f.stream === STREAM);
  assert.ok(firing);
  assert.ok(suite.receiver.delivered().some((h) => h.body.status === 'firing'), 'the live model paged the shift');
  const labelled = await api('POST', `/api/v1/alerts/${firing.fingerprint}/feedback`, ADMIN, { label: 'false_positive', note: 'new duty point' });
  assert.equal(labelled.status, 201);
  await pollUntil('every window is scored', async () => metricValue(await metrics(), 'anomalyd_windows_scored_total'), (n) => n >= 157, 30_000);

  const cli = await run(process.execPath, [MAIN, 'retrain', STREAM, '--url', base, '--json'], { env: { ...process.env, ANOMALYD_ADMIN_TOKEN: ADMIN } });
  const started = JSON.parse(cli.stdout) as Job;
  assert.equal(started.trigger, 'operator');
  assert.ok(started.state === 'queued' || started.state === 'training', started.state);
  const again = await api('POST', retrainPath, ADMIN);
  assert.equal(again.status, 409, 'one retrain of a model at a time');
  const operator = await pollUntil(
    'the operator retrain ends',
    async () => (await api('GET', retrainPath, READ)).body as Job,
    (j) => j.id === started.id && j.state !== 'queued' && j.state !== 'training',
    90_000,
    500,
  );
  assert.equal(operator.state, 'shadow', JSON.stringify(operator));
  if (process.env['RETRAIN_TEST_VERBOSE']) console.error(JSON.stringify({ drifted, operator }));
  assert.ok((operator.metrics?.['kept_false_positive'] ?? 0) > 0, `the false positive's windows are training data: ${JSON.stringify(operator.metrics)}`);
  assert.ok((operator.windows ?? 0) > (drifted.windows ?? 0), `more windows than before the label (${operator.windows} vs ${drifted.windows})`);
  assert.notEqual(operator.data_hash, drifted.data_hash);
  const text = await metrics();
  assert.equal(counterValue(text, 'anomalyd_retrains_total', { trigger: 'operator', outcome: 'candidate' }), 1);
  assert.equal(counterValue(text, 'anomalyd_operator_changes_total', { action: 'retrain' }), 1, 'the refused starts are not counted');
  assert.equal(metricValue(text, 'anomalyd_retrain_running'), 0);
  assert.match(d.log, /Operator change\.[^\n]*retrain/);
  const status = await run(process.execPath, [MAIN, 'retrain', STREAM, '--status', '--url', base], { env: { ...process.env, ANOMALYD_ADMIN_TOKEN: READ } });
  assert.match(status.stdout, new RegExp(`^last retrain of ${STREAM}: job ${operator.id}, model pump, operator, shadow`));

  // The operator's candidate replaced the drift's in shadow; it paged nobody: every page came from the live model.
  const shadowing = await pumpModel();
  assert.deepEqual([shadowing.live, shadowing.shadow?.version], ['v1', 'v3']);
  assert.ok(suite.receiver.delivered().every((h) => !JSON.stringify(h.body).includes('"model_version":"v3"')), 'the shadow pages nobody');
  // Promote: v3 is live, also after kill -9; rollback returns to v1, also after kill -9.
  let current = d;
  const models = (...args: string[]): Promise<{ stdout: string }> => run(process.execPath, [MAIN, 'models', ...args, '--url', `http://127.0.0.1:${current.httpPort}`, '--json'], { env: { ...process.env, ANOMALYD_ADMIN_TOKEN: ADMIN } });
  assert.deepEqual(JSON.parse((await models('promote', 'pump')).stdout), { model: 'pump', live: 'v3', previous: 'v1' });
  // The model that learned the labelled false positive takes the shifted pressure as normal: the shift's alert
  // resolves under it, and 400 s more of the same pattern page nothing new.
  const firingPages = (): number => suite.receiver.delivered().filter((h) => h.body.status === 'firing').length;
  const pagesBefore = firingPages();
  const more = pumpSamples(seed, T0 + 1600_000, 400).map((x) => ({ ts: x.ts, values: Float32Array.from(x.values, (v, c) => (c === PRESSURE ? v * 1.4 : v)) }));
  await publishAll(pub, more.map((x) => ({ topic: topicOf('pump0'), payload: pumpPayload(x) })), 50);
  await pollUntil('the shift\'s alert resolves under v3', async () => ((await api('GET', '/api/v1/alerts', READ)).body as { firing: { stream: string }[] }).firing.filter((f) => f.stream === STREAM).length, (n) => n === 0, 60_000);
  await pollUntil('the new windows are scored', async () => metricValue(await metrics(), 'anomalyd_windows_scored_total'), (n) => n >= 197, 60_000);
  assert.equal(firingPages(), pagesBefore, 'no new page on the pattern labelled a false positive');
  process.kill(current.pid, 'SIGKILL');
  await current.exited;
  current = suite.restart(current);
  await current.ready();
  assert.deepEqual([(await pumpModel(current)).live, (await pumpModel(current)).history], ['v3', ['v1']], 'the promotion survived kill -9');
  assert.deepEqual(JSON.parse((await models('rollback', 'pump')).stdout), { model: 'pump', live: 'v1', previous: 'v3' });
  process.kill(current.pid, 'SIGKILL');
  await current.exited;
  current = suite.restart(current);
  await current.ready();
  assert.equal((await pumpModel(current)).live, 'v1', 'the rollback survived kill -9');
});
