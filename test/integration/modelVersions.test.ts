// Model versions against the real daemon, Mosquitto, InfluxDB and a webhook receiver. A candidate trained with
// `anomalyd train` on the pump at 70 % of its load (so every window of the normal pump looks anomalous to it) is
// added to the state directory's version store while the daemon is stopped (addCandidate, as retraining does).
// Then: the candidate shadows the bundled model (anomaly_shadow_score points tagged model_version=v2, live
// anomaly_score points tagged v1), its would-be alerts are counted and written but page nobody, and its counts
// survive a restart; a promote
// without a token (401) or with the read token (403) changes nothing; `anomalyd models promote` makes v2 live
// (new scores carry v2, and its alerts now page); it survives a reload and kill -9; `anomalyd models rollback` returns to v1,
// which survives kill -9 too. Both changes are audited.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ModelVersions } from '../../src/app/modelVersions';
import { selectBackend } from '../../src/model/backend';
import { Detector } from '../../src/model/detector';
import { PUMP_CHANNELS, pumpPayload } from '../../src/simulator/signals';
import { runCli } from '../helpers/cli';
import { testContext } from '../helpers/context';
import { faultSuite, MAIN, metricValue, pollUntil, publishAll, PUMP_MODEL, pumpSeries, simAssets, topicOf, type DaemonProcess } from '../helpers/faults';

const run = promisify(execFile);
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const READ = 'read-token-versions-1717';
const ADMIN = 'admin-token-versions-4242';
const STREAM = 'line1/pump0';
const suite = faultSuite('versions', { influx: true, receiver: true });

const TRAIN_CONFIG = `defaults:
  window: { size: 30, hop: 10, max_gap_ms: 10000, min_completeness: 0.9, sample_period_ms: 1000 }
  training: { encoder_units: [16], latent_units: 4, epochs: 40, seed: 3 }
  calibration: { method: percentile, percentile: 99 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    channels: [${PUMP_CHANNELS.join(', ')}]
`;

interface ModelsBody {
  models: { name: string; live: string; history: string[]; shadow: { version: string; windows: number; would_be_episodes: number; live_episodes: number } | null; versions: { version: string; role: string | null; trigger: string }[] }[];
}

test('a candidate shadows without paging; promote switches, rollback returns, both survive kill -9; refused without the admin token', async () => {
  const seed = simAssets('pump', 1, 3, 1)[0].seed;
  // The candidate: the same pump at 70 % of its values, so to it the real pump is out of its training range.
  const csv = ['timestamp,' + PUMP_CHANNELS.join(','), ...pumpSeries(seed, T0 - 86_400_000, 600).map((s) => `${new Date(s.ts).toISOString()},${Array.from(s.values, (v) => (v * 0.7).toFixed(4)).join(',')}`)];
  await writeFile(path.join(suite.dir, 'train.csv'), csv.join('\n') + '\n');
  await writeFile(path.join(suite.dir, 'train.yaml'), TRAIN_CONFIG);
  const trained = await runCli(suite.dir, ['train', '-c', 'train.yaml', '--stream', STREAM, '--input', 'train.csv', '--out', 'candidate', '--no-report', '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const summary = JSON.parse(trained.stdout) as { windows: number; loss: number; threshold: number };

  // Handed to the store of the daemon's state directory while no daemon runs, as retraining hands it over.
  await selectBackend();
  const store = new ModelVersions({ stateDir: path.join(suite.dir, 'versions'), log: testContext('versions').ctx.log, now: () => Date.now() });
  await store.load();
  store.attach({ baseDir: (m) => (m === 'pump' ? PUMP_MODEL : undefined), load: (_m, _v, dir) => Detector.load(dir), live: () => undefined });
  const added = await store.addCandidate('pump', path.join(suite.dir, 'candidate'), {
    trigger: 'operator', stream: STREAM, dataHash: 'ab'.repeat(32), windows: summary.windows, from: T0 - 86_400_000, to: T0 - 86_400_000 + 600_000, metrics: { final_loss: summary.loss, threshold: summary.threshold },
  });
  assert.equal(added.version, 'v2');

  let d = await suite.daemon(
    'versions',
    { sinks: `  influx: { url: ${suite.influx.url}/anomalyd, flush_interval_ms: 100 }\n  webhooks:\n    - { name: oncall, url: ${suite.receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }` },
    (yaml) => yaml.replace(/^http: \{ (.*) \}$/m, `http: { $1, token: ${READ}, admin_token: ${ADMIN} }`),
  );
  await d.ready();
  const pub = await suite.publisher('versions-publisher');
  const series = pumpSeries(seed, T0, 600);
  const publish = (from: number, to: number): Promise<void> => publishAll(pub, series.slice(from, to).map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })), 50);
  const read = { authorization: `Bearer ${READ}` };
  const models = async (daemon: DaemonProcess): Promise<ModelsBody['models'][number]> => ((await (await fetch(`${daemon.base}/api/v1/models`, { headers: read })).json()) as ModelsBody).models[0];
  const metric = async (daemon: DaemonProcess, name: string, labels: Record<string, string>): Promise<number> => metricValue(await daemon.metricsText(read), name, labels);
  const rows = async (q: string): Promise<Record<string, unknown>[]> =>
    (await suite.influx.query(q, 'anomalyd')).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
  const count = async (q: string): Promise<number> => Number((await rows(q))[0]?.['count'] ?? 0);
  const cli = (args: string[], env: NodeJS.ProcessEnv = { ANOMALYD_ADMIN_TOKEN: ADMIN }): Promise<{ stdout: string; stderr: string; code: number }> =>
    run(process.execPath, [MAIN, 'models', ...args, '--url', d.base], { env: { ...process.env, ...env } }).then(
      (r) => ({ ...r, code: 0 }),
      (err: { stdout: string; stderr: string; code: number }) => ({ stdout: err.stdout, stderr: err.stderr, code: err.code }),
    );

  // Shadow: 200 normal samples, 18 windows, scored by both versions.
  await publish(0, 200);
  const shadowed = await pollUntil('the shadow scores and would alert', () => models(d), (m) => m.shadow !== null && m.shadow.windows === 18 && m.shadow.would_be_episodes >= 1, 30_000);
  assert.equal(shadowed.live, 'v1');
  assert.equal(shadowed.shadow?.version, 'v2');
  assert.equal(shadowed.shadow?.live_episodes, 0);
  assert.ok((await metric(d, 'anomalyd_shadow_alerts_total', { model: 'pump' })) >= 1);
  assert.equal(await metric(d, 'anomalyd_shadow_windows_total', { model: 'pump' }), 18);
  assert.equal(await metric(d, 'anomalyd_model_version_info', { model: 'pump', version: 'v2', role: 'shadow' }), 1);
  await pollUntil('shadow and live scores in InfluxDB', () => count(`SELECT count("score") FROM anomaly_shadow_score WHERE model_version = 'v2' AND stream = '${STREAM}'`), (n) => n === 18, 15_000);
  await pollUntil('live scores tagged v1', () => count(`SELECT count("score") FROM anomaly_score WHERE model_version = 'v1'`), (n) => n === 18, 15_000);
  const wouldBe = await pollUntil('the would-be alert in InfluxDB', () => rows(`SELECT * FROM anomaly_shadow_alert WHERE model_version = 'v2'`), (r) => r.length >= 1, 15_000);
  assert.equal(wouldBe[0]['state'], 'firing');
  assert.equal((await rows('SELECT * FROM anomaly_alert')).length, 0, 'no live alert');
  assert.equal(suite.receiver.requests.length, 0, 'the shadow pages nobody');

  // Refused: no token (401), the read token (403); nothing changes.
  assert.equal((await fetch(`${d.base}/api/v1/models/pump/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
  assert.equal((await fetch(`${d.base}/api/v1/models/pump/promote`, { method: 'POST', headers: { ...read, 'content-type': 'application/json' }, body: '{}' })).status, 403);
  const byReader = await cli(['rollback', 'pump'], { ANOMALYD_ADMIN_TOKEN: READ });
  assert.equal(byReader.code, 1);
  assert.match(byReader.stderr, /the daemon refused \(403\)/);
  assert.equal((await models(d)).live, 'v1');
  const unknown = await cli(['promote', 'pump', '--version', 'v9']);
  assert.match(unknown.stderr, /\(404\): model 'pump' has no version 'v9'/);
  const nothing = await cli(['rollback', 'pump']);
  assert.match(nothing.stderr, /\(409\): model 'pump' has no earlier live version/);

  // The shadow's counts are saved at a clean stop and go on after the restart.
  await d.stop();
  d = suite.restart(d);
  await d.ready();
  const restarted = await models(d);
  assert.deepEqual([restarted.shadow?.version, restarted.shadow?.windows, restarted.shadow?.would_be_episodes], ['v2', 18, shadowed.shadow?.would_be_episodes]);

  // Promote: v2 is live at once; its scores carry v2 and its alerts page.
  const promoted = await cli(['promote', 'pump']);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.equal(promoted.stdout, 'pump: v2 is live (was v1)\n');
  assert.equal(await metric(d, 'anomalyd_model_version_info', { model: 'pump', version: 'v2', role: 'live' }), 1);
  // A reload loads the models again: the promoted version, not the configured artifact.
  const before = d.log.length;
  d.signal('SIGHUP');
  const reloadLog = await pollUntil('the reload', () => Promise.resolve(d.log.slice(before)), (log) => /Reloaded the configuration/.test(log), 10_000);
  assert.match(reloadLog, /Loaded model\..*model=pump.*dir=\S*model_versions\S*v2/);
  assert.doesNotMatch(reloadLog, /Loaded model\..*model=pump.*dir=\S*models\/pump/);
  await publish(200, 400);
  await pollUntil('scores of v2', () => count(`SELECT count("score") FROM anomaly_score WHERE model_version = 'v2'`), (n) => n === 20, 15_000);
  await pollUntil('v2 pages', () => Promise.resolve(suite.receiver.delivered().length), (n) => n >= 1, 15_000);
  assert.equal(suite.receiver.delivered()[0].body.status, 'firing');
  const audited = (n: number): Promise<Record<string, unknown>[]> =>
    pollUntil('the audit points in InfluxDB', () => rows(`SELECT * FROM anomaly_audit WHERE "action" =~ /^model_/`), (r) => r.length === n, 10_000);
  await audited(1);

  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  d = suite.restart(d);
  await d.ready();
  const afterKill = await models(d);
  assert.deepEqual([afterKill.live, afterKill.history, afterKill.shadow], ['v2', ['v1'], null], 'the promotion survived kill -9');

  // Rollback: v1 again, also across kill -9; new scores carry v1.
  const back = await cli(['rollback', 'pump', '--json']);
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(JSON.parse(back.stdout), { model: 'pump', live: 'v1', previous: 'v2' });
  const audit = await audited(2);
  assert.deepEqual(audit.map((r) => [r['action'], r['who'], r['target'], r['detail']]), [['model_promote', 'admin', 'pump', 'v2 live (was v1)'], ['model_rollback', 'admin', 'pump', 'v1 live (was v2)']]);
  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  d = suite.restart(d);
  await d.ready();
  const rolledBack = await models(d);
  assert.deepEqual([rolledBack.live, rolledBack.history], ['v1', []]);
  assert.deepEqual(rolledBack.versions.map((v) => [v.version, v.role, v.trigger]), [['v2', null, 'operator'], ['v1', 'live', 'configured']]);
  await publish(400, 600);
  await pollUntil('scores of v1 after the rollback', () => count(`SELECT count("score") FROM anomaly_score WHERE model_version = 'v1' AND time >= ${series[400].ts}ms`), (n) => n === 20, 15_000);
  const listed = await cli(['list']);
  assert.match(listed.stdout, /^pump: live v1\n {2}v2 operator .*\n {2}v1 \(live\) configured /);
});
