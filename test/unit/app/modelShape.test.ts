// One source of truth for a trained model's shape: a stream bound to a configured model takes the model's
// window (manifest.json), and a window size, sample period, sample rate or channel list the configuration
// writes that contradicts the model is refused with one line naming the config path and value and the model
// directory and value, by `validate` (checkModels) and by `run` (Daemon.start) alike.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { checkModels } from '../../../src/app/modelCheck';
import { applyModelShapes, readModelShapes } from '../../../src/app/modelShape';
import { Daemon } from '../../../src/app/daemon';
import { validateCommand } from '../../../src/cli/validate';
import { streamDetection } from '../../../src/config/detection';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { ConfigError } from '../../../src/core/errors';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const PUMP = path.join(ROOT, 'models', 'pump');
const ECG = path.join(ROOT, 'models', 'ecg');
const PUMP_CHANNELS = 'vib_x_rms, vib_y_rms, vib_z_rms, motor_current_a, voltage_v, pressure_bar, flow_m3h, temperature_c';

/**
 * A pump plant config; `defaults`, `sub` (extra subscription keys), `channels` (null: none listed) and `rest`
 * (more sections) vary per test.
 */
function pumpConfig(o: { defaults?: string; sub?: string; channels?: string | null; rest?: string; modelPath?: string } = {}): string {
  return [
    'http: { enabled: false }',
    'mqtt: { url: "mqtt://127.0.0.1:1" }',
    `models: { pump: { path: ${JSON.stringify(o.modelPath ?? PUMP)} } }`,
    o.defaults ? `defaults:\n${o.defaults}` : '',
    'subscriptions:',
    `  - { topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry", stream: "{line}/{asset}", decoder: json, model: pump${o.channels === null ? '' : `, channels: [${o.channels ?? PUMP_CHANNELS}]`}${o.sub ?? ''} }`,
    o.rest ?? '',
  ].join('\n');
}

async function shaped(text: string): Promise<{ config: Config; problems: readonly string[] }> {
  const config = loadConfigText(text, 'plant.yaml', {});
  return applyModelShapes(config, await readModelShapes(config));
}

test('a stream of a trained model takes its window from the manifest when the config leaves it out', async () => {
  const { config, problems } = await shaped(pumpConfig());
  assert.deepEqual(problems, []);
  const sub = config.subscriptions[0];
  assert.ok(sub);
  assert.deepEqual(sub.window, { size: 30, hop: 5, sample_period_ms: 1000, max_gap_ms: 10_000, min_completeness: 0.9 });
  const window = streamDetection(config, sub, undefined).window;
  assert.equal(window.size, 30, 'not the schema default 64');
  assert.equal(window.hop, 5, 'not the schema default 16');
});

test('defaults.window that contradicts the model is refused, naming the config path and value and the model directory and value', async () => {
  const { problems } = await shaped(pumpConfig({ defaults: '  window: { size: 60, hop: 10, sample_period_ms: 500 }' }));
  assert.deepEqual(problems, [
    `defaults.window.size: differs from model 'pump' (window.size 30 in ${PUMP}/manifest.json), which subscriptions[0] uses; leave it out to take the model's value, or train a model with this window (got 60)`,
    `defaults.window.sample_period_ms: differs from model 'pump' (window.samplePeriodMs 1000 in ${PUMP}/manifest.json), which subscriptions[0] uses; leave it out to take the model's value, or train a model with this window (got 500)`,
  ]);
});

test("a written hop is honoured (how often windows are scored), an unwritten one is the model's", async () => {
  const written = await shaped(pumpConfig({ defaults: '  window: { hop: 10 }' }));
  assert.deepEqual(written.problems, []);
  const sub = written.config.subscriptions[0];
  assert.ok(sub);
  assert.equal(streamDetection(written.config, sub, undefined).window.hop, 10);
  assert.equal(streamDetection(written.config, sub, undefined).window.size, 30);
  const tooLong = await shaped(pumpConfig({ defaults: '  window: { hop: 40 }' }));
  assert.equal(tooLong.problems.length, 1);
  assert.match(tooLong.problems[0] ?? '', /^defaults\.window\.hop: exceeds the window size of model 'pump' \(window\.size 30 in .*\), .* \(got 40\)$/);
});

test("values equal to the model's are accepted, and the live-data tolerances a config writes are kept", async () => {
  const { config, problems } = await shaped(pumpConfig({ defaults: '  window: { size: 30, hop: 5, sample_period_ms: 1000, max_gap_ms: 5000 }' }));
  assert.deepEqual(problems, []);
  const sub = config.subscriptions[0];
  assert.ok(sub);
  const window = streamDetection(config, sub, undefined).window;
  assert.equal(window.max_gap_ms, 5000, 'the stated max_gap_ms, not the manifest 10000');
  assert.equal(window.min_completeness, 0.9, "the manifest's min_completeness");
});

test('a subscription or stream entry window that contradicts the model is refused at its own path', async () => {
  const { problems } = await shaped(pumpConfig({ sub: ', window: { size: 40 }', rest: 'streams:\n  - { id: line1/pump7, window: { sample_period_ms: 2000 } }' }));
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems[0] ?? '', /^subscriptions\[0\]\.window\.size: differs from model 'pump' \(window\.size 30 in .*manifest\.json\), which subscriptions\[0\] uses; .* \(got 40\)$/);
  assert.match(problems[1] ?? '', /^streams\[0\]\.window\.sample_period_ms: differs from model 'pump' \(window\.samplePeriodMs 1000 in .*\), which streams\[0\] \(stream 'line1\/pump7'\) uses; .* \(got 2000\)$/);
});

test('channels in another order than the model reads them are refused', async () => {
  const { problems } = await shaped(pumpConfig({ channels: PUMP_CHANNELS.split(', ').reverse().join(', ') }));
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^subscriptions\[0\]\.channels: differ from model 'pump' \(channels \[vib_x_rms, .*\] in .*manifest\.json\), .* \(got \[temperature_c, .*\]\)$/);
});

test("a subscription that lists no channels reads the model's; one whose model did not load cannot, and is refused", async () => {
  const { config, problems } = await shaped(pumpConfig({ channels: null }));
  assert.deepEqual(problems, []);
  assert.deepEqual(config.subscriptions[0]?.channels, PUMP_CHANNELS.split(', '));
  const missing = await shaped(pumpConfig({ channels: null, modelPath: path.join(ROOT, 'models', 'nonexistent') }));
  assert.equal(missing.problems.length, 1);
  assert.match(missing.problems[0] ?? '', /^subscriptions\[0\]\.channels: unset, and model 'pump' did not load, so the channels of its messages are unknown/);
});

test('a subscription that learns its own model must list its channels', () => {
  assert.throws(
    () => loadConfigText('subscriptions:\n  - { topic: a/+, template: "a/{x}", stream: "{x}", decoder: json, model: auto }', 'auto.yaml', {}),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => /^subscriptions\[0\]\.channels: is required when the model is "auto"/.test(p)),
  );
});

test('a sample rate that is not the rate the model was trained at is refused', async () => {
  const text = [
    'http: { enabled: false }',
    'mqtt: { url: "mqtt://127.0.0.1:1" }',
    `models: { ecg: { path: ${JSON.stringify(ECG)} } }`,
    'subscriptions:',
    '  - { topic: ecg/+, template: "ecg/{asset}", stream: "{asset}", decoder: f32le, sample_rate_hz: 200, model: ecg, channels: [ecg_mv] }',
  ].join('\n');
  const { problems } = await shaped(text);
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^subscriptions\[0\]\.sample_rate_hz: differs from model 'ecg' \(window\.samplePeriodMs 4, i\.e\. 250 Hz, in .*\), which subscriptions\[0\] uses; .*\(got 200\)$/);
  assert.deepEqual((await shaped(text.replace('sample_rate_hz: 200', 'sample_rate_hz: 250'))).problems, []);
});

test('defaults.window written for auto-learned streams is fine where a trained model overrides it for its own', async () => {
  const text = pumpConfig({
    defaults: '  window: { size: 60, hop: 10 }',
    sub: ', window: { size: 30, hop: 5 }',
    rest: '  - { topic: other/+, template: "other/{asset}", stream: "o/{asset}", decoder: json, model: auto, channels: [a] }',
  });
  const { config, problems } = await shaped(text);
  assert.deepEqual(problems, []);
  const auto = config.subscriptions[1];
  assert.ok(auto);
  assert.equal(streamDetection(config, auto, undefined).window.size, 60, 'the auto-learned stream keeps the written defaults');
});

test('validate refuses a window that contradicts the model (exit 1, the problem on stderr)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-shape-'));
  try {
    const file = path.join(dir, 'plant.yaml');
    await writeFile(file, pumpConfig({ defaults: '  window: { size: 60, hop: 10 }' }));
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await validateCommand(['-c', file], { checks: [checkModels], stdout: out, stderr: err });
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^${escape(file)}: defaults\\.window\\.size: differs from model 'pump' \\(window\\.size 30 in ${escape(PUMP)}/manifest\\.json\\).* \\(got 60\\)$`, 'm'));
    await writeFile(file, pumpConfig());
    assert.equal(await validateCommand(['-c', file], { checks: [checkModels], stdout: out, stderr: err }), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('run refuses the same configuration at start with the same message', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-shape-'));
  try {
    const config = loadConfigText(`${pumpConfig({ defaults: '  window: { size: 60, hop: 10 }' })}\nstate_dir: ${JSON.stringify(dir)}\nlog: { level: error }`, 'plant.yaml', {});
    const daemon = new Daemon(config, { version: 'test', configFile: 'plant.yaml' });
    await assert.rejects(daemon.start(), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.file, 'plant.yaml');
      assert.equal(err.problems.length, 1);
      assert.match(err.problems[0] ?? '', /^defaults\.window\.size: differs from model 'pump' \(window\.size 30 in .*manifest\.json\), which subscriptions\[0\] uses; .* \(got 60\)$/);
      return true;
    });
    await daemon.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test("a stream of a trained model tracks the model's rhythm (manifest.rhythm), whatever the config writes", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-rhythm-model-'));
  try {
    await cp(PUMP, dir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const rhythm = { channel: 'flow_m3h', slopeSteps: 2, smoothingSteps: 3, thresholdFraction: 0.3, peakHalfLifeMs: 60_000, refractoryMs: 5_000, historyEvents: 16, exponent: 2, late: 'ignore' };
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, rhythm }));
    const withModel = await shaped(pumpConfig({ modelPath: dir, defaults: '  training:\n    rhythm: { enabled: true, channel: vib_x_rms, exponent: 5 }' }));
    assert.deepEqual(withModel.problems, []);
    const sub = withModel.config.subscriptions[0];
    assert.ok(sub);
    assert.deepEqual(streamDetection(withModel.config, sub, undefined).training.rhythm, {
      enabled: true, channel: 'flow_m3h', slope_samples: 2, smoothing_samples: 3, threshold_fraction: 0.3, peak_half_life_ms: 60_000, refractory_ms: 5_000, history_events: 16, exponent: 2, late: 'ignore',
    });
    // A model without one: no rhythm for its streams, though the defaults turn it on.
    const without = await shaped(pumpConfig({ defaults: '  training:\n    rhythm: { enabled: true, channel: vib_x_rms }' }));
    const plain = without.config.subscriptions[0];
    assert.ok(plain);
    assert.equal(streamDetection(without.config, plain, undefined).training.rhythm.enabled, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
