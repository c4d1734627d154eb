// Maintenance windows against the real daemon, Mosquitto and a webhook receiver: a change without the admin token
// (none or a wrong one) is refused and changes nothing; inside a window a fault is scored and recorded but pages nobody; a fault that
// resolves inside the window never pages; one still firing when the window ends pages then, once, naming it;
// `anomalyd maintenance list` shows the open window with its reason; a window survives kill -9; InfluxDB gets
// the window's opening and closing (`anomaly_maintenance`), the audit trail (`anomaly_audit`) and the held alerts
// marked (`anomaly_alert.maintenance`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pumpPayload } from '../../src/simulator/signals';
import { counterValue, faultSuite, MAIN, pollUntil, publishAll, pumpSeries, simAssets, topicOf } from '../helpers/faults';

const run = promisify(execFile);
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
const ADMIN = 'admin-secret-0815';
const suite = faultSuite('maintenance', { receiver: true, influx: true });

interface Window {
  readonly id: string;
  readonly reason: string;
  readonly open?: { start: string; end: string };
}

test('a fault inside a maintenance window pages nobody and is scored; one outlasting the window pages at its end, once', async () => {
  const { receiver } = suite;
  let d = await suite.daemon(
    'maintenance',
    {
      sinks: `  influx: { url: ${suite.influx.url}/anomalyd, flush_interval_ms: 100 }\n  webhooks:\n    - { name: oncall, url: ${receiver.url}, retry_base_ms: 100, retry_max_delay_ms: 400 }`,
    },
    (yaml) => yaml.replace(/^http: \{ (.*) \}$/m, `http: { $1, admin_token: ${ADMIN} }`),
  );
  await d.ready();
  const api = (method: string, path: string, token?: string, body?: unknown): Promise<Response> =>
    fetch(`http://127.0.0.1:${d.httpPort}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const windowBody = { streams: 'line1/*', reason: 'valve 3 replaced', end: new Date(Date.now() + 3600_000).toISOString() };

  // Refused changes change nothing (the read token's 403 is in test/unit/telemetry/operatorApi.test.ts: a read
  // token here would also guard /metrics, which the helpers read).
  assert.equal((await api('POST', '/api/v1/maintenance', undefined, windowBody)).status, 401);
  assert.equal((await api('POST', '/api/v1/maintenance', 'not-the-admin-token', windowBody)).status, 401);
  assert.deepEqual(((await (await api('GET', '/api/v1/maintenance')).json()) as { windows: Window[] }).windows, []);

  // The CLI opens the window (admin token from the environment) and lists it.
  const cli = (args: string[]): Promise<{ stdout: string }> =>
    run(process.execPath, [MAIN, 'maintenance', ...args, '--url', `http://127.0.0.1:${d.httpPort}`], { env: { ...process.env, ANOMALYD_ADMIN_TOKEN: ADMIN } });
  const opened = await cli(['add', '--streams', 'line1/*', '--for', '1h', '--reason', 'valve 3 replaced', '--json']);
  const window = JSON.parse(opened.stdout) as Window;
  assert.ok(window.open, 'open at once');
  const listed = await cli(['list']);
  assert.match(listed.stdout, new RegExp(`${window.id}  OPEN until .*\\n  streams line1/\\*\\n  reason: valve 3 replaced \\(by admin\\)`));

  const pub = await suite.publisher('maintenance-publisher');
  const seeds = simAssets('pump', 2, 3, 1).map((a) => a.seed);
  // pump0: a fault from sample 100 on that goes on; pump1: a fault that clears inside the window.
  const pump0 = pumpSeries(seeds[0], T0, 200, [[100, 200]]);
  const pump1 = pumpSeries(seeds[1], T0, 300, [[100, 150]]);
  const send = (asset: string, samples: typeof pump0): Promise<void> => publishAll(pub, samples.map((s) => ({ topic: topicOf(asset), payload: pumpPayload(s) })), 50);
  await send('pump0', pump0);
  await send('pump1', pump1);
  // 18 + 28 windows scored; both alerts fired and pump1's resolved, all held.
  await pollUntil('both streams scored', () => d.metric('anomalyd_windows_scored_total'), (v) => v >= 46, 30_000);
  await pollUntil('two alerts held by the window', async () => counterValue(await d.metricsText(), 'anomalyd_alerts_suppressed_total', { reason: 'maintenance' }), (v) => v === 2, 10_000);
  await pollUntil('pump1 resolved', () => Promise.resolve(d.log), (l) => /Alert resolved.*pump1/.test(l), 10_000);
  await d.drained();
  assert.equal(receiver.requests.length, 0, `nothing paged inside the window: ${JSON.stringify(receiver.requests.map((r) => r.body.alerts))}`);

  // kill -9: the window is still there after the restart, and pump0's alert still held.
  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  d = suite.restart(d);
  await d.ready();
  const after = ((await (await api('GET', '/api/v1/maintenance')).json()) as { windows: Window[] }).windows;
  assert.deepEqual(after.map((w) => w.id), [window.id], 'the window survives kill -9');
  assert.equal(receiver.requests.length, 0, `no page on restart inside the window: ${JSON.stringify(receiver.requests.map((r) => r.body))}`);

  // Ending the window early: pump0's fault goes on, so it pages now, once, naming the window; pump1 never.
  const ended = await cli(['end', window.id]);
  assert.match(ended.stdout, new RegExp(`ended ${window.id}`));
  await pollUntil('the page at the window end', () => Promise.resolve(receiver.requests.filter((r) => r.status === 200).length), (n) => n >= 1, 10_000);
  await new Promise((r) => setTimeout(r, 2500));
  await d.drained();
  const pages = receiver.requests.filter((r) => r.status === 200).flatMap((r) => r.body.alerts.map((a) => ({ ...a, status: r.body.status })));
  assert.equal(pages.length, 1, JSON.stringify(pages));
  assert.equal(pages[0].labels.asset, 'pump0');
  assert.equal(pages[0].status, 'firing');
  const annotations = (pages[0] as unknown as { annotations?: Record<string, string> }).annotations ?? {};
  assert.match(annotations['maintenance'] ?? JSON.stringify(pages[0]), new RegExp(`still firing when maintenance window '${window.id}' \\(valve 3 replaced\\) ended`));

  // InfluxDB: the window opened and closed, who opened and ended it, and the alerts it held.
  await d.drained();
  const rows = async (q: string): Promise<Record<string, unknown>[]> =>
    (await suite.influx.query(q, 'anomalyd')).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
  const windowRows = await pollUntil('the window closing in InfluxDB', () => rows(`SELECT * FROM anomaly_maintenance WHERE "window" = '${window.id}'`), (r) => r.length === 2, 10_000);
  assert.deepEqual(windowRows.map((r) => [r['state'], r['reason'], r['streams']]), [['open', 'valve 3 replaced', 'line1/*'], ['closed', 'valve 3 replaced', 'line1/*']]);
  const audit = await rows('SELECT * FROM anomaly_audit');
  assert.deepEqual(audit.map((r) => [r['action'], r['who'], r['target']]), [['maintenance_add', 'admin', window.id], ['maintenance_end', 'admin', window.id]]);
  const held = await rows(`SELECT * FROM anomaly_alert WHERE "maintenance" = '${window.id}'`);
  assert.ok(held.length >= 3, `the held firing and resolved alerts are marked: ${JSON.stringify(held)}`);
  const paged = await rows(`SELECT * FROM anomaly_alert WHERE "maintenance_ended" =~ /still firing/`);
  assert.equal(paged.length, 1, JSON.stringify(paged));
});

