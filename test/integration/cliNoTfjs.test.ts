// With the native addon scoring, the built binary loads no TensorFlow.js (about 31 MB of RSS): `validate`,
// `replay` and the daemon (a configured model, and a model it auto-learns in its worker thread, loaded back on
// the main thread) run without a module of node_modules/@tensorflow in the process's require.cache, checked by
// a preloaded script when the process exits. The fallback (ANOMALYD_NATIVE=0) loads tfjs and scores the same
// windows within 1e-5. Skips itself where the addon was not built.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadNativeAddon } from '../../src/model/nativeAddon';
import { connectMqttPublisher } from '../../src/sources/mqttClient';
import { PUMP_CHANNELS, pumpPayload, pumpSamples } from '../../src/simulator/signals';
import { waitFor } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const PUMP_MODEL = path.join(ROOT, 'models', 'pump');
const native = loadNativeAddon();
const skip = native.addon ? false : `native addon not available: ${native.problem}`;
let dir: string;
let preload: string;

/** At exit, writes the TensorFlow.js modules this process (its main thread) loaded to $TFJS_REPORT. */
const PRELOAD = `
const fs = require('node:fs');
process.on('exit', () => {
  const marker = require('node:path').join('node_modules', '@tensorflow');
  fs.writeFileSync(process.env.TFJS_REPORT, JSON.stringify(Object.keys(require.cache).filter((f) => f.includes(marker))));
});
`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-notfjs-'));
  preload = path.join(dir, 'reportTfjs.js');
  await writeFile(preload, PRELOAD);
  const rows = [`timestamp,${PUMP_CHANNELS.join(',')}`];
  for (const s of pumpSamples(1, Date.parse('2026-01-01T00:00:00Z'), 200)) rows.push(`${s.ts},${Array.from(s.values, (v) => v.toFixed(4)).join(',')}`);
  await writeFile(path.join(dir, 'pump.csv'), rows.join('\n') + '\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Files of node_modules/@tensorflow the process had loaded when it exited. */
  tfjs: string[];
}

function anomalyd(args: string[], opts: { env?: Record<string, string>; report?: string; onOutput?: (text: string) => void } = {}): { done: Promise<Run>; stop: () => void } {
  const report = opts.report ?? path.join(dir, `report-${args[0]}-${Date.now()}.json`);
  // The backend is chosen as an operator's daemon chooses it, whatever the test runner's environment forces.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ANOMALYD_BACKEND;
  delete env.ANOMALYD_NATIVE;
  Object.assign(env, { ANOMALYD_LOG_LEVEL: 'warn', TFJS_REPORT: report }, opts.env);
  const child = spawn(process.execPath, ['-r', preload, MAIN, ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    opts.onOutput?.(d.toString());
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onOutput?.(d.toString());
  });
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      readFile(report, 'utf8').then(
        (text) => resolve({ code: code ?? -1, stdout, stderr, tfjs: JSON.parse(text) as string[] }),
        () => reject(new Error(`no tfjs report from '${args.join(' ')}' (exit ${String(code)}): ${stderr.slice(-2000)}`)),
      );
    });
  });
  return { done, stop: () => child.kill('SIGTERM') };
}

test('validate loads the bundled model without tfjs', { skip }, async () => {
  const r = await anomalyd(['validate', '-c', path.join(ROOT, 'config', 'default.yaml')]).done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.tfjs, []);
});

test('replay scores natively without tfjs; the tfjs fallback (ANOMALYD_NATIVE=0) scores the same windows within 1e-5', { skip }, async () => {
  const replay = async (name: string, env?: Record<string, string>): Promise<{ run: Run; scores: number[] }> => {
    const out = path.join(dir, `${name}.csv`);
    const run = await anomalyd(['replay', '--model', PUMP_MODEL, '--input', path.join(dir, 'pump.csv'), '--out', out, '--json'], env ? { env } : {}).done;
    assert.equal(run.code, 0, run.stderr);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').slice(1);
    return { run, scores: lines.map((l) => Number(l.split(',')[2])) };
  };
  const natively = await replay('native');
  assert.deepEqual(natively.run.tfjs, []);
  assert.equal((JSON.parse(natively.run.stdout) as { windows: number }).windows, 35);

  const fallback = await replay('fallback', { ANOMALYD_NATIVE: '0' });
  assert.ok(fallback.run.tfjs.length > 0, 'the fallback scores through tfjs');
  assert.equal(fallback.scores.length, natively.scores.length);
  // The CSV prints 7 significant digits, so 1e-5 relative is what it can show.
  fallback.scores.forEach((s, i) => assert.ok(Math.abs(s - natively.scores[i]) <= 1e-5 * Math.abs(s), `window ${i}: ${natively.scores[i]} vs ${s}`));
});

test('the daemon scores a configured and an auto-learned model natively and never loads tfjs on its main thread', { skip }, async () => {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const stateDir = path.join(dir, 'var');
  await writeFile(
    path.join(dir, 'daemon.yaml'),
    `
http: { port: ${httpPort} }
state_dir: ${stateDir}
mqtt: { url: mqtt://127.0.0.1:${mqttPort}, client_id: anomalyd-notfjs, embedded_broker: on }
models:
  pump: { path: ${JSON.stringify(PUMP_MODEL)} }
defaults:
  window: { size: 30, hop: 5, sample_period_ms: 1000 }
  training: { encoder_units: [16], latent_units: 4, epochs: 3, auto_learn_windows: 20, seed: 3 }
  calibration: { method: percentile, percentile: 99 }
subscriptions:
  - { topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry", stream: "{line}/{asset}", decoder: json, model: pump, channels: [${PUMP_CHANNELS.join(', ')}] }
  - { topic: auto/+/+/telemetry, template: "auto/{line}/{asset}/telemetry", stream: "auto/{line}/{asset}", decoder: json, model: auto, channels: [${PUMP_CHANNELS.join(', ')}] }
`,
  );
  let log = '';
  const daemon = anomalyd(['run', '-c', path.join(dir, 'daemon.yaml')], { env: { ANOMALYD_LOG_LEVEL: 'info' }, onOutput: (t) => (log += t) });
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  try {
    await waitFor(() => /anomalyd is running/.test(log), 'daemon start', 30_000, () => log.slice(-2000));
    const publisher = await connectMqttPublisher({ url: `mqtt://127.0.0.1:${mqttPort}`, clientId: 'notfjs-publisher' });
    try {
      const t0 = Date.now() - 3600_000;
      for (const s of pumpSamples(1, t0, 60)) await publisher.publish('plant/line1/pump1/telemetry', pumpPayload(s), 1);
      // 20 windows of 30 at hop 5 need 125 samples; the rest is scored by the learned model.
      for (const s of pumpSamples(2, t0, 125)) await publisher.publish('auto/line1/pump2/telemetry', pumpPayload(s), 1);
      await waitFor(() => /Learned a model; scoring starts/.test(log), 'auto-learned model', 60_000, () => log.slice(-2000));
      for (const s of pumpSamples(2, t0 + 125_000, 30)) await publisher.publish('auto/line1/pump2/telemetry', pumpPayload(s), 1);
    } finally {
      await publisher.close();
    }
    let text = '';
    const scored = (): number => Number(/^anomalyd_windows_scored_total (\S+)/m.exec(text)?.[1] ?? 0);
    const deadline = Date.now() + 20_000;
    // 7 windows of the pump, 6 of the learned model (its learning windows are scored as they are learned from too).
    while (scored() < 13 && Date.now() < deadline) {
      text = await metrics();
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(scored() >= 13, `windows scored: ${scored()}`);
    assert.match(text, /anomalyd_model_info\{model="pump",[^}]*backend="native"\} 1/);
    assert.match(text, /anomalyd_model_info\{model="auto:auto\/line1\/pump2",[^}]*backend="native"\} 1/);
  } finally {
    daemon.stop();
  }
  const run = await daemon.done;
  assert.equal(run.code, 0, log.slice(-2000));
  assert.ok(existsSync(path.join(stateDir, 'models')), 'the learned model was saved');
  assert.deepEqual(run.tfjs, [], 'no tfjs module on the main thread');
});
