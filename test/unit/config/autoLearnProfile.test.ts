// The auto_learn profile: streams whose model is "auto" get it over `defaults`, streams with a configured model
// do not, the user's own settings (in auto_learn, the subscription or the stream entry) win key by key, and the
// likelihood counts the user did not write follow the stream's hop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { HTM_LIKELIHOOD_SAMPLES, streamDetection } from '../../../src/config/detection';
import type { Config, DetectionConfig } from '../../../src/config/schema';
import { planReload } from '../../../src/app/reload';
import { problemsOf } from './helpers';

const head = `
mqtt: { url: mqtt://127.0.0.1:1883, client_id: a }
models: { pump: { path: models/pump } }
`;
const subs = `
subscriptions:
  - { topic: a/+/t, template: "a/{asset}/t", stream: "a/{asset}", decoder: json, model: auto, channels: [x, y] }
  - { topic: b/+/t, template: "b/{asset}/t", stream: "b/{asset}", decoder: json, model: pump, channels: [x, y] }
`;
const load = (text: string): Config => loadConfigText(text, 'test.yaml', {});

function detectionOf(config: Config, subscription: number, stream: string): DetectionConfig {
  const sub = config.subscriptions[subscription];
  assert.ok(sub);
  return streamDetection(config, sub, config.streams.find((s) => s.id === stream));
}

test('an auto-learning stream gets the profile, its likelihood counts converted to windows of its hop', () => {
  const d = detectionOf(load(head + subs), 0, 'a/p1');
  assert.equal(d.training.ensemble, 3);
  assert.equal(d.training.input_transform, 'none');
  assert.equal(d.calibration.likelihood.enabled, true);
  assert.equal(d.calibration.likelihood.range_tolerance, 0.05);
  assert.equal(d.calibration.likelihood.coarse_pool, 8);
  assert.equal(d.calibration.likelihood.threshold, 0.5);
  assert.equal(d.alerting.k, 1);
  // Default hop 16: HTM's 10 / 8640 / 288 / 200 samples, rounded up to windows.
  assert.equal(d.window.hop, 16);
  assert.deepEqual(counts(d), { average_windows: 1, history_windows: 540, learning_windows: 18, suppress_windows: 13 });
  // Everything the profile does not name comes from defaults.
  assert.deepEqual(d.training.encoder_units, [128, 64]);
  assert.equal(d.calibration.method, 'pot');
  assert.equal(d.alerting.n, 5);
});

test('with hop 1 the counts are HTM\'s own', () => {
  const d = detectionOf(load(`${head}defaults: { window: { hop: 1 } }\n${subs}`), 0, 'a/p1');
  assert.deepEqual(counts(d), HTM_LIKELIHOOD_SAMPLES);
});

test('a stream with a configured model keeps the defaults as they are', () => {
  const config = load(`${head}${subs}streams:\n  - { id: a/p2, model: pump }\n`);
  for (const d of [detectionOf(config, 1, 'b/p1'), detectionOf(config, 0, 'a/p2')]) {
    assert.equal(d.training.ensemble, 1);
    assert.equal(d.calibration.likelihood.enabled, false);
    assert.equal(d.calibration.likelihood.coarse_pool, 0);
    assert.equal(d.calibration.likelihood.history_windows, 500);
    assert.equal(d.alerting.k, 3);
  }
});

test('user settings win key by key: auto_learn over the profile, subscription and stream entry over auto_learn', () => {
  const config = load(`${head}
auto_learn:
  training: { ensemble: 2 }
  calibration: { likelihood: { suppress_windows: 40 } }
subscriptions:
  - topic: a/+/t
    template: "a/{asset}/t"
    stream: "a/{asset}"
    decoder: json
    model: auto
    channels: [x, y]
    calibration: { likelihood: { coarse_pool: 0, history_windows: 12 } }
streams:
  - { id: a/p2, alerting: { k: 2 } }
`);
  const d = detectionOf(config, 0, 'a/p1');
  assert.equal(d.training.ensemble, 2);
  assert.equal(d.calibration.likelihood.enabled, true, 'the profile keys the user did not write stay');
  assert.equal(d.calibration.likelihood.coarse_pool, 0);
  assert.equal(d.calibration.likelihood.suppress_windows, 40, 'written counts are windows, not converted');
  assert.equal(d.calibration.likelihood.history_windows, 12);
  // The converted learning count (18) gives way to the history the user wrote.
  assert.equal(d.calibration.likelihood.learning_windows, 12);
  assert.equal(d.calibration.likelihood.average_windows, 1);
  assert.equal(detectionOf(config, 0, 'a/p2').alerting.k, 2);
  assert.equal(detectionOf(config, 0, 'a/p1').alerting.k, 1);
});

test('the profile turned off by the user gives the plain defaults back', () => {
  const config = load(`${head}
auto_learn:
  training: { ensemble: 1 }
  calibration: { likelihood: { enabled: false, coarse_pool: 0, range_tolerance: 0 } }
  alerting: { k: 3 }
${subs}`);
  const d = detectionOf(config, 0, 'a/p1');
  assert.equal(d.training.ensemble, 1);
  assert.equal(d.calibration.likelihood.enabled, false);
  assert.equal(d.alerting.k, 3);
});

test('settings that contradict each other after the profile are rejected where they are written', () => {
  assert.deepEqual(problemsOf(`${head}auto_learn: { alerting: { k: 9 } }\n${subs}`), ['auto_learn.alerting.k: k (9) must not exceed n (5) (got 9)']);
  // n: 2 is fine for the auto subscription (the profile's k is 1), not for the configured one (k 3 from defaults).
  const withN2 = subs.replace('model: auto, channels: [x, y] }', 'model: auto, channels: [x, y], alerting: { n: 2 } }').replace('model: pump, channels: [x, y] }', 'model: pump, channels: [x, y], alerting: { n: 2 } }');
  assert.deepEqual(problemsOf(head + withN2), ['subscriptions[1].alerting.n: k (3) must not exceed n (2) (got 2)']);
  assert.deepEqual(problemsOf(`${head}auto_learn: { calibration: { likelihood: { learning_windows: 900, history_windows: 800 } } }\n${subs}`), [
    'auto_learn.calibration.likelihood.learning_windows: likelihood learning_windows (900) must not exceed history_windows (800) (got 900)',
  ]);
});

test('a reload applies the auto_learn section live', () => {
  const running = load(head + subs);
  const next = load(`${head}auto_learn: { training: { ensemble: 2 } }\n${subs}`);
  const plan = planReload(running, next);
  assert.deepEqual(plan.restartNeeded, []);
  assert.deepEqual(plan.applied, ['auto_learn.training.ensemble']);
  assert.equal(plan.config.auto_learn.training.ensemble, 2);
});

function counts(d: DetectionConfig): Record<keyof typeof HTM_LIKELIHOOD_SAMPLES, number> {
  const l = d.calibration.likelihood;
  return { average_windows: l.average_windows, history_windows: l.history_windows, learning_windows: l.learning_windows, suppress_windows: l.suppress_windows };
}
