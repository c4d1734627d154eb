// Operator feedback against the real daemon, Mosquitto and InfluxDB: an alert fires on a fault; `anomalyd
// feedback` labels it a false positive (refused without the admin token); the label is in InfluxDB
// (`anomaly_feedback` at the episode's start), in the audit trail, in anomalyd_alert_precision, and still there
// after kill -9.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, MAIN, metricValue, pollUntil, publishAll, pumpSeries, simAssets, topicOf } from '../helpers/faults';

const run = promisify(execFile);
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const ADMIN = 'admin-secret-4242-feedback';
const suite = faultSuite('feedback', { influx: true });

interface Episode {
  readonly fingerprint: string;
  readonly stream: string;
  readonly startsAt: string;
}

test('a fired alert labelled false_positive: in InfluxDB, audited, counted in the precision, kept across kill -9', async () => {
  let d = await suite.daemon('feedback', { sinks: `  influx: { url: ${suite.influx.url}/anomalyd, flush_interval_ms: 100 }` }, (yaml) =>
    yaml.replace(/^http: \{ (.*) \}$/m, `http: { $1, admin_token: ${ADMIN} }`),
  );
  await d.ready();
  const pub = await suite.publisher('feedback-publisher');
  const seed = simAssets('pump', 1, 3, 1)[0].seed;
  await publishAll(pub, pumpSeries(seed, T0, 200, [[100, 200]]).map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })), 50);
  const alerts = await pollUntil(
    'the alert fires',
    async () => (await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/alerts`)).json()) as { firing: Episode[] },
    (a) => a.firing.length === 1,
    30_000,
  );
  const [episode] = alerts.firing;
  const cli = (args: string[], env: NodeJS.ProcessEnv = { ANOMALYD_ADMIN_TOKEN: ADMIN }): Promise<{ stdout: string; stderr: string; code: number }> =>
    run(process.execPath, [MAIN, 'feedback', ...args, '--url', `http://127.0.0.1:${d.httpPort}`], { env: { ...process.env, ...env } }).then(
      (r) => ({ ...r, code: 0 }),
      (err: { stdout: string; stderr: string; code: number }) => ({ stdout: err.stdout, stderr: err.stderr, code: err.code }),
    );

  const refused = await cli([episode.fingerprint, '--false-positive'], { ANOMALYD_ADMIN_TOKEN: '' });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /the daemon refused \(401\)/);
  const unknown = await cli(['0000000000000000', '--true-positive']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\(404\): no alert episode with fingerprint '0000000000000000'/);

  const labelled = await cli([episode.fingerprint, '--false-positive', '--note', 'valve test', '--json']);
  assert.equal(labelled.code, 0, labelled.stderr);
  const label = JSON.parse(labelled.stdout) as { stream: string; startsAt: string; label: string; who: string };
  assert.deepEqual([label.stream, label.startsAt, label.label, label.who], [episode.stream, episode.startsAt, 'false_positive', 'admin']);
  assert.equal(metricValue(await d.metricsText(), 'anomalyd_alert_precision', { stream: episode.stream }), 0);
  assert.equal(metricValue(await d.metricsText(), 'anomalyd_operator_changes_total', { action: 'feedback' }), 1);

  await d.drained();
  const rows = async (q: string): Promise<Record<string, unknown>[]> =>
    (await suite.influx.query(q, 'anomalyd')).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
  const points = await pollUntil('the label in InfluxDB', () => rows('SELECT * FROM anomaly_feedback'), (r) => r.length === 1, 10_000);
  assert.deepEqual([points[0]['time'], points[0]['label'], points[0]['note'], points[0]['fingerprint']], [Date.parse(episode.startsAt), 'false_positive', 'valve test', episode.fingerprint]);
  const audit = await rows(`SELECT * FROM anomaly_audit WHERE "action" = 'feedback'`);
  assert.equal(audit.length, 1);

  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  d = suite.restart(d);
  await d.ready();
  const listed = await cli(['list']);
  assert.match(listed.stdout, new RegExp(`^${episode.fingerprint} ${episode.stream} anomaly from ${episode.startsAt}: false_positive \\(valve test\\) by admin\\n$`));
});
