// deploy/alertmanager/alertmanager.yml through the real Alertmanager (Debian `prometheus-alertmanager`):
// `amtool check-config` accepts it, `amtool config routes test` sends anomalyd's alerts to the receivers the
// comments promise, and a running Alertmanager with this exact file inhibits a stream's warning while a
// critical alert for the same stream fires, but not another stream's warning.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ensurePackage } from '../helpers/ensurePackage';
import { freePort } from '../helpers/ports';

const CONFIG = path.resolve(__dirname, '../../../deploy/alertmanager/alertmanager.yml');
const AMTOOL = '/usr/bin/amtool';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

function amtool(args: string[]): { code: number; stdout: string; output: string } {
  ensurePackage(AMTOOL, 'prometheus-alertmanager');
  const r = spawnSync(AMTOOL, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

test('amtool check-config accepts alertmanager.yml', () => {
  const r = amtool(['check-config', CONFIG]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /SUCCESS/);
  assert.match(r.output, /inhibit rules/);
});

test('routing: machine alerts by asset to maintenance, critical anomalies also paged, daemon alerts to ops', () => {
  const route = (labels: string[]): string => {
    const r = amtool(['config', 'routes', 'test', `--config.file=${CONFIG}`, ...labels]);
    assert.equal(r.code, 0, r.output);
    return r.stdout.trim();
  };
  const machine = ['line=line1', 'asset=pump3', 'stream=line1/pump3', 'model=pump'];
  assert.equal(route(['alertname=AnomalyDetected', 'severity=critical', ...machine]), 'maintenance-pager');
  assert.equal(route(['alertname=AnomalyDetected', 'severity=warning', ...machine]), 'maintenance');
  assert.equal(route(['alertname=InsufficientData', 'severity=warning', ...machine]), 'maintenance');
  assert.equal(route(['alertname=IngestionStalled', 'severity=critical', 'component=anomalyd', 'instance=anomalyd:9464']), 'ops');
});

// ---------------------------------------------------------------------------------------- inhibition, live

interface Gettable {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}
let url = '';
let stop: () => Promise<void> = () => Promise.resolve();

before(async () => {
  ensurePackage(ALERTMANAGER, 'prometheus-alertmanager');
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-am-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // The deploy file as is; its webhook receivers are unreachable here, which only makes notifications fail.
  const child = spawn(ALERTMANAGER, [`--config.file=${CONFIG}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=error'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // starting
    }
    assert.ok(child.exitCode === null && Date.now() < deadline, `alertmanager did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => stop());

test('a critical alert inhibits the same stream\'s warnings, not other streams\'', async () => {
  const alert = (stream: string, alertname: string, severity: string): object => {
    const [line, asset] = stream.split('/');
    return { labels: { alertname, stream, line, asset, model: 'pump', severity }, annotations: { summary: 'test' }, startsAt: new Date().toISOString() };
  };
  const alerts = [
    alert('line1/pump2', 'AnomalyDetected', 'critical'),
    alert('line1/pump2', 'InsufficientData', 'warning'),
    alert('line1/pump3', 'AnomalyDetected', 'warning'),
    // A daemon alert without a stream label must not be inhibited by (or inhibit) the machine alerts.
    { labels: { alertname: 'SinkSpooling', component: 'anomalyd', instance: 'anomalyd:9464', severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString() },
  ];
  const post = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(alerts) });
  assert.equal(post.status, 200, await post.text());

  const deadline = Date.now() + 15_000;
  let states: Record<string, string> = {};
  for (;;) {
    const got = (await (await fetch(`${url}/api/v2/alerts`)).json()) as Gettable[];
    states = Object.fromEntries(got.map((a) => [`${a.labels['stream'] ?? a.labels['instance']} ${a.labels['alertname']}`, a.status.state]));
    if (Object.keys(states).length === 4 && states['line1/pump2 InsufficientData'] === 'suppressed') break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(states, {
    'line1/pump2 AnomalyDetected': 'active',
    'line1/pump2 InsufficientData': 'suppressed',
    'line1/pump3 AnomalyDetected': 'active',
    'anomalyd:9464 SinkSpooling': 'active',
  });
  // Machine alerts are grouped per asset (group_by: [line, asset]): one notification per pump.
  const groups = (await (await fetch(`${url}/api/v2/alerts/groups`)).json()) as { labels: Record<string, string>; receiver: { name: string } }[];
  const machineGroups = groups.filter((g) => g.receiver.name.startsWith('maintenance'));
  assert.ok(machineGroups.length >= 2, JSON.stringify(groups));
  for (const g of machineGroups) assert.deepEqual(Object.keys(g.labels).sort(), ['asset', 'line'], JSON.stringify(g));
});
