// What a config reload applies live and what waits for a restart, and which sinks it keeps, builds and retires.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { changedPaths, planReload, planSinkSwap, type ActiveSink } from '../../../src/app/reload';
import type { Sink } from '../../../src/sinks/sink';

const BASE = `
http: { port: 9464 }
state_dir: /tmp/x
mqtt: { url: mqtt://127.0.0.1:1883, client_id: a }
models: { pump: { path: models/pump } }
defaults:
  alerting: { k: 3, n: 5 }
subscriptions:
  - { topic: plant/+/+/telemetry, template: "plant/{line}/{asset}/telemetry", stream: "{line}/{asset}", decoder: json, model: pump, channels: [a, b] }
`;
const load = (text: string): ReturnType<typeof loadConfigText> => loadConfigText(text, 'test.yaml', {});

test('alerting, log level and models apply live; HTTP, MQTT identity, state_dir and the log format wait for a restart', () => {
  const running = load(BASE);
  const next = load(
    BASE.replace('port: 9464', 'port: 9500')
      .replace('client_id: a', 'client_id: b')
      .replace('state_dir: /tmp/x', 'state_dir: /tmp/y\nlog: { level: debug, format: json }')
      .replace('k: 3, n: 5', 'k: 2, n: 4')
      .replace('path: models/pump', 'path: models/pump, threshold: 0.5'),
  );
  const plan = planReload(running, next);
  assert.deepEqual([...plan.restartNeeded].sort(), ['http.port', 'log.format', 'mqtt.client_id', 'state_dir']);
  assert.deepEqual([...plan.applied].sort(), ['defaults.alerting.k', 'defaults.alerting.n', 'log.level', 'models.pump.threshold']);
  // The applied config keeps every restart-only setting at its running value.
  assert.equal(plan.config.http.port, 9464);
  assert.equal(plan.config.mqtt.client_id, 'a');
  assert.equal(plan.config.state_dir, '/tmp/x');
  assert.equal(plan.config.log.format, running.log.format);
  assert.equal(plan.config.log.level, 'debug');
  assert.equal(plan.config.defaults.alerting.k, 2);
  assert.equal(plan.config.models['pump']?.threshold, 0.5);
});

test('auto_learn_windows waits for a restart while the rest of training applies', () => {
  const running = load(BASE);
  const next = load(BASE.replace('alerting: { k: 3, n: 5 }', 'alerting: { k: 3, n: 5 }\n  training: { auto_learn_windows: 100, epochs: 7 }'));
  const plan = planReload(running, next);
  assert.deepEqual(plan.restartNeeded, ['defaults.training.auto_learn_windows']);
  assert.deepEqual(plan.applied, ['defaults.training.epochs']);
  assert.equal(plan.config.defaults.training.auto_learn_windows, running.defaults.training.auto_learn_windows);
  assert.equal(plan.config.defaults.training.epochs, 7);
});

test('an unchanged file changes nothing', () => {
  const plan = planReload(load(BASE), load(BASE));
  assert.deepEqual(plan.applied, []);
  assert.deepEqual(plan.restartNeeded, []);
});

test('changedPaths names differences down to its depth and lists as a whole', () => {
  assert.deepEqual(changedPaths('x', { a: { b: { c: 1 } }, l: [1] }, { a: { b: { c: 2 } }, l: [1, 2] }), ['x.a.b', 'x.l']);
  assert.deepEqual(changedPaths('x', { a: 1 }, { a: 1 }), []);
  assert.deepEqual(changedPaths('x', 1, 2), ['x']);
});

test('planSinkSwap keeps unchanged sinks, rebuilds changed ones and retires removed ones', () => {
  const sink = (name: string): Sink => ({ name, start: () => Promise.resolve(), flush: () => Promise.resolve(), stop: () => Promise.resolve(), stats: () => ({ buffered: 0, spooledBytes: 0 }) });
  const current: ActiveSink[] = [
    { key: 'influx', settings: 'i1', sink: sink('influx') },
    { key: 'webhook.a', settings: 'a1', sink: sink('webhook.a') },
    { key: 'webhook.gone', settings: 'g', sink: sink('webhook.gone') },
  ];
  const built: string[] = [];
  const plan = (key: string, settings: string): { key: string; settings: string; build(): Sink } => ({
    key,
    settings,
    build: () => {
      built.push(key);
      return sink(key);
    },
  });
  const swap = planSinkSwap(current, [plan('influx', 'i1'), plan('webhook.a', 'a2'), plan('webhook.b', 'b1')]);
  assert.deepEqual(built, ['webhook.a', 'webhook.b']);
  assert.equal(swap.sinks[0], current[0], 'the unchanged sink is the same running instance');
  assert.deepEqual(swap.sinks.map((s) => s.key), ['influx', 'webhook.a', 'webhook.b']);
  assert.deepEqual(swap.started.map((s) => s.key), ['webhook.a', 'webhook.b']);
  assert.deepEqual(swap.stopped.map((s) => s.key), ['webhook.a', 'webhook.gone']);
  assert.equal(swap.stopped[0], current[1]);
});
