// deploy/prometheus through Prometheus's own checker: `promtool check config` (scrape config and the rule files
// it names), `promtool check rules`, and `promtool test rules` on the rule unit tests in
// deploy/prometheus/tests. A last test mutates a rule in a temp copy and expects the unit tests to catch it,
// so a test file that asserts nothing cannot pass unnoticed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ensurePackage } from '../helpers/ensurePackage';
import { PROMTOOL } from '../helpers/promtool';

const PROM_DIR = path.resolve(__dirname, '../../../deploy/prometheus');

function promtool(args: string[], cwd = PROM_DIR): { code: number; output: string } {
  ensurePackage(PROMTOOL, 'prometheus');
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
const ruleFiles = (dir: string): string[] => readdirSync(path.join(dir, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => path.join('rules', f));
const testFiles = (dir: string): string[] => readdirSync(path.join(dir, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => path.join('tests', f));

test('promtool check config accepts prometheus.yml and finds its rule files', () => {
  const r = promtool(['check', 'config', 'prometheus.yml']);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /SUCCESS: 2 rule files found/);
});

test('promtool check rules accepts every rule file', () => {
  const files = ruleFiles(PROM_DIR);
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), ['anomalyd-alerts.yml', 'anomalyd-recording.yml']);
  const r = promtool(['check', 'rules', ...files]);
  assert.equal(r.code, 0, r.output);
  const alerts = readFileSync(path.join(PROM_DIR, 'rules/anomalyd-alerts.yml'), 'utf8');
  // The alerts the runbook promises exist.
  for (const name of ['AnomalydDown', 'IngestionStalled', 'SinkBufferFilling', 'PointsDropped', 'ModelLoadFailing', 'ModelNotScoring', 'WebhookFailing']) {
    assert.match(alerts, new RegExp(`- alert: ${name}\\n`), name);
  }
});

test('promtool test rules: the rule unit tests pass', () => {
  const files = testFiles(PROM_DIR);
  assert.ok(files.length >= 2, 'alert and recording rule tests');
  const r = promtool(['test', 'rules', ...files]);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output.match(/SUCCESS/g)?.length, files.length, r.output);
});

test('the rule unit tests catch a broken rule', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-rules-'));
  try {
    cpSync(PROM_DIR, dir, { recursive: true });
    const file = path.join(dir, 'rules/anomalyd-alerts.yml');
    const text = readFileSync(file, 'utf8');
    // AnomalydDown waiting 10 minutes instead of 2, and the anomaly ratio per line counting the wrong way.
    const broken = text.replace(/(expr: up\{job="anomalyd"\} == 0\n\s+for: )2m/, '$110m');
    assert.notEqual(broken, text);
    writeFileSync(file, broken);
    const rec = path.join(dir, 'rules/anomalyd-recording.yml');
    const recText = readFileSync(rec, 'utf8');
    const recBroken = recText.replace('> bool 1)', '< bool 1)');
    assert.notEqual(recBroken, recText);
    writeFileSync(rec, recBroken);
    const r = promtool(['test', 'rules', ...testFiles(dir)], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /alertname: AnomalydDown/);
    assert.match(r.output, /line:anomalyd_assets_anomalous:ratio/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
