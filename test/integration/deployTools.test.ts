// The deploy files through the tools that consume them, where those tools run here:
//  - `anomalyd validate` (this build) loads the compose and Kubernetes daemon configs exactly as the daemon
//    would, including the model they name, from the repository root (the image's /app);
//  - `kubectl kustomize` (Debian kubernetes-client when missing) builds the Kubernetes base;
//  - `systemd-analyze verify` checks the unit file (unknown keys, bad values, missing executables).
// Docker is not available, so compose.yaml and the Dockerfile are only checked statically
// (test/unit/deployStatic.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ensurePackage } from '../helpers/ensurePackage';

const ROOT = path.resolve(__dirname, '../../..');
const DEPLOY = path.join(ROOT, 'deploy');
const MAIN = path.resolve(__dirname, '../../src/main.js');
const KUBECTL = '/usr/bin/kubectl';
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function validate(file: string, env: NodeJS.ProcessEnv): { ok: boolean; problems: string[] } {
  // The configs select the backend automatically; wasm (ANOMALYD_BACKEND, without touching the file) keeps this
  // test independent of whether the native addon built here. Everything else is validated as written.
  const r = run(process.execPath, [MAIN, 'validate', '-c', file, '--json'], { env: { ...process.env, ANOMALYD_BACKEND: 'wasm', ...env } });
  assert.ok(r.stdout.trim().startsWith('{'), `validate printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
  assert.equal(r.code, out.ok ? 0 : 1);
  return out;
}

test('anomalyd validate accepts the compose config (with its model)', () => {
  const out = validate(path.join(DEPLOY, 'anomalyd/config.yaml'), {});
  assert.deepEqual(out.problems, []);
  assert.equal(out.ok, true);
});

test('anomalyd validate accepts the Kubernetes config with the StatefulSet env and the mounted secrets', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-k8s-secrets-'));
  try {
    // The Secret's files, where the pod would have them (the path is rewritten to the temp dir).
    writeFileSync(path.join(dir, 'influx-password'), 'influx-pass\n');
    writeFileSync(path.join(dir, 'webhook-secret'), 'hmac-key\n');
    const text = readFileSync(path.join(DEPLOY, 'k8s/config.yaml'), 'utf8').replaceAll('/run/secrets/anomalyd/', `${dir}/`);
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, text);
    // The env values the StatefulSet sets.
    const sts = parseAllDocuments(readFileSync(path.join(DEPLOY, 'k8s/statefulset.yaml'), 'utf8'))[0].toJS() as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    const env = Object.fromEntries(sts.spec.template.spec.containers[0].env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.ok(env['MQTT_URL'] && env['INFLUX_URL'] && env['ALERT_WEBHOOK_URL']);
    // The copy is no longer beside the repository's models/: MODELS_DIR names them, as the image's ENV does.
    const out = validate(file, { ...env, MODELS_DIR: path.join(ROOT, 'models') });
    assert.deepEqual(out.problems, []);
    // And the same file without the env the StatefulSet provides is refused: the test sees the variables.
    const bare = validate(file, { MQTT_URL: '', INFLUX_URL: '', ALERTMANAGER_URL: '', ALERT_WEBHOOK_URL: '' });
    assert.equal(bare.ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubectl kustomize builds the Kubernetes base', () => {
  ensurePackage(KUBECTL, 'kubernetes-client');
  const r = run(KUBECTL, ['kustomize', path.join(DEPLOY, 'k8s')]);
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown> });
  const kinds = docs.map((d) => d.kind).sort();
  assert.deepEqual(kinds, ['ConfigMap', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceAccount', 'StatefulSet']);
  for (const d of docs) assert.equal(d.metadata.labels?.['app.kubernetes.io/name'], 'anomalyd', `${d.kind} ${d.metadata.name} labelled`);
  // The generated ConfigMap carries a content hash and the StatefulSet mounts exactly that name.
  const cm = docs.find((d) => d.kind === 'ConfigMap');
  assert.ok(cm && /^anomalyd-config-[a-z0-9]{8,}$/.test(cm.metadata.name), cm?.metadata.name);
  const sts = docs.find((d) => d.kind === 'StatefulSet');
  assert.ok(sts);
  const rendered = JSON.stringify(sts);
  assert.ok(rendered.includes(`"name":"${cm.metadata.name}"`), 'StatefulSet mounts the hashed ConfigMap');
  assert.match(rendered, /"image":"registry\.example\/anomalyd:0\.1\.0"/, 'the images transformer set the image');
  const configText = (cm as unknown as { data: Record<string, string> }).data['config.yaml'];
  assert.equal(configText, readFileSync(path.join(DEPLOY, 'k8s/config.yaml'), 'utf8'));
});

test('systemd-analyze verify accepts the unit, and reports a broken one', () => {
  ensurePackage(SYSTEMD_ANALYZE, 'systemd');
  const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-unit-'));
  try {
    // verify checks that ExecStart's binary exists; Node may live elsewhere on this machine than on a server.
    const unit = readFileSync(path.join(DEPLOY, 'systemd/anomalyd.service'), 'utf8').replaceAll('/usr/bin/node ', `${process.execPath} `);
    writeFileSync(path.join(dir, 'anomalyd.service'), unit);
    const good = run(SYSTEMD_ANALYZE, ['verify', './anomalyd.service'], { cwd: dir });
    // verify exits 0 on unknown keys and unparsable values and only prints them: no output is the criterion.
    assert.equal(`${good.stdout}${good.stderr}`.trim(), '', 'systemd-analyze verify complained');
    assert.equal(good.code, 0);

    writeFileSync(path.join(dir, 'broken.service'), unit.replace('Restart=on-failure', 'Restart=sometimes\nProtectSystm=strict'));
    const bad = run(SYSTEMD_ANALYZE, ['verify', './broken.service'], { cwd: dir });
    assert.match(`${bad.stdout}${bad.stderr}`, /restart specifier/);
    assert.match(`${bad.stdout}${bad.stderr}`, /Unknown key 'ProtectSystm'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
