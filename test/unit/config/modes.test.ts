import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { applyModelShapes } from '../../../src/app/modelShape';
import { mqttModeTopics } from '../../../src/app/source';
import { loadConfigText } from '../../../src/config/load';
import { streamModes } from '../../../src/config/modes';
import { readManifest } from '../../../src/model/artifact';
import { problemsOf, ROOT } from './helpers';

const sub = (modes: string[], channels = '[motor_current_a, flow_m3h, pressure_bar]'): string =>
  [
    'subscriptions:',
    '  - topic: plant/+/+/telemetry',
    '    template: plant/{line}/{asset}/telemetry',
    '    stream: "{line}/{asset}"',
    '    decoder: json',
    `    channels: ${channels}`,
    '    modes:',
    ...modes.map((l) => `      ${l}`),
    '',
  ].join('\n');

test('modes: a `when` entry and a topic entry load; a stream entry\'s modes replace its subscription\'s', () => {
  const config = loadConfigText(
    sub(['when:', '  off: "motor_current_a < 2"', '  high: "flow_m3h >= 40 and pressure_bar > 3"', 'default: normal']) +
      ['streams:', '  - id: l1/p2', '    modes:', '      topic: plant/{line}/{asset}/state', '      field: state', '      values: { "0": off, "1": normal }', '      hold_samples: 1', ''].join('\n'),
    'test.yaml',
    {},
  );
  const s = config.subscriptions[0];
  assert.ok(s);
  assert.deepEqual(Object.keys(s.modes?.when ?? {}), ['off', 'high'], 'conditions keep their order');
  assert.equal(s.modes?.hold_samples, 3, 'default hold');
  assert.equal(streamModes(s, config.streams[0])?.topic, 'plant/{line}/{asset}/state');
  assert.equal(streamModes(s, undefined)?.default, 'normal');
  assert.deepEqual(mqttModeTopics(config), [
    { subscription: 0, stream: '{line}/{asset}', modes: [{ topic: 'plant/{line}/{asset}/state', field: 'state', values: { '0': 'off', '1': 'normal' }, stream: 'l1/p2' }] },
  ]);
});

test('modes: validate refuses bad conditions with the column, and every inconsistent entry, naming the key', () => {
  const one = (modes: string[], channels?: string): string[] => problemsOf(sub(modes, channels));
  assert.deepEqual(one(['when:', '  off: "motor_current < 2"', 'default: normal']), [
    "subscriptions[0].modes.when.off: condition at column 1: 'motor_current' is not a channel of the stream (motor_current_a, flow_m3h, pressure_bar) (got \"motor_current < 2\")",
  ]);
  assert.match(one(['when:', '  high: "flow_m3h >= 40 and"', 'default: normal'])[0] ?? '', /^subscriptions\[0\]\.modes\.when\.high: condition at column 19: expected a channel name or '\('/);
  assert.match(one(['when:', '  off: "motor_current_a < 2"'])[0] ?? '', /^subscriptions\[0\]\.modes\.default: is required with `when`/);
  assert.match(one(['when: { off: "motor_current_a < 2" }', 'default: normal', 'topic: plant/{line}/{asset}/state'])[0] ?? '', /^subscriptions\[0\]\.modes\.topic: give either `when`/);
  assert.match(one(['hold_samples: 2'])[0] ?? '', /^subscriptions\[0\]\.modes: needs `when`/);
  assert.match(one(['topic: plant/{line}/{asset}/state', 'default: normal'])[0] ?? '', /^subscriptions\[0\]\.modes\.default: only applies with `when`/);
  assert.match(one(['when: { off: "motor_current_a < 2" }', 'default: normal', 'field: state'])[0] ?? '', /^subscriptions\[0\]\.modes\.field: only applies with `topic`/);
  assert.match(one(['topic: plant/+/+/state'])[0] ?? '', /^subscriptions\[0\]\.modes\.topic: must not contain wildcards/);
  assert.match(one(['topic: plant/{line}/state'])[0] ?? '', /^subscriptions\[0\]\.modes\.topic: must name \{asset\}: the stream id/);
  assert.match(one(['topic: plant/{line}/{asset}/{x}'])[0] ?? '', /^subscriptions\[0\]\.modes\.topic: uses \{x\}, which the subscription template does not name/);
  assert.match(one(['topic: plant/{line}/{asset}/telemetry'])[0] ?? '', /^subscriptions\[0\]\.modes\.topic: is also matched by subscriptions\[0\]\.topic \(plant\/\+\/\+\/telemetry\): its data messages would be taken as mode messages/);
  const broad = sub(['topic: plant/{line}/{asset}/state']).replace('topic: plant/+/+/telemetry', 'topic: plant/+/+/#').replace('template: plant/{line}/{asset}/telemetry', 'template: plant/{line}/{asset}/{rest}');
  assert.doesNotThrow(() => loadConfigText(broad, 'test.yaml', {}), 'a mode topic inside a broader data filter is fine: it is routed first');
  assert.match(one(['when: { off: "motor_current_a < 2" }', 'default: normal', 'models: { off: auto }'])[0] ?? '', /^subscriptions\[0\]\.modes\.models\.off: names a model for the mode `off`/);
  assert.match(one(['when: { off: "motor_current_a < 2" }', 'default: normal', 'models: { normal: nosuch }'])[0] ?? '', /^subscriptions\[0\]\.modes\.models\.normal: names no model/);
  assert.match(one(['when: { off: "motor_current_a < 2" }', 'default: normal', 'models: { high: auto }'])[0] ?? '', /^subscriptions\[0\]\.modes\.models\.high: is not a mode this entry produces \(off, normal\)/);
  assert.match(one(['when: { "1bad": "motor_current_a < 2" }', 'default: normal'])[0] ?? '', /modes\.when.*must be a mode name/);
  assert.match(one(['when: { off: "motor_current_a < 2" }', 'default: normal', 'hold_samples: 0'])[0] ?? '', /^subscriptions\[0\]\.modes\.hold_samples: /);
});

test('modes: a condition on channels the model gives is checked once the models load (validate and run alike)', async () => {
  const dir = path.join(ROOT, 'models', 'pump');
  const text = [
    'models: { pump: { path: "' + dir + '" } }',
    'subscriptions:',
    '  - topic: plant/+/+/telemetry',
    '    template: plant/{line}/{asset}/telemetry',
    '    stream: "{line}/{asset}"',
    '    decoder: json',
    '    model: pump',
    '    modes:',
    '      when: { off: "motor_current < 2", high: "flow_m3h > 40" }',
    '      default: normal',
    '',
  ].join('\n');
  const config = loadConfigText(text, 'test.yaml', {});
  const shaped = applyModelShapes(config, new Map([['pump', { dir, manifest: await readManifest(dir) }]]));
  assert.equal(shaped.problems.length, 1);
  assert.match(shaped.problems[0] ?? '', /^subscriptions\[0\]\.modes\.when\.off: condition at column 1: 'motor_current' is not a channel of the stream \(vib_x_rms, /);
});

test('modes: a mode\'s configured model must read the stream\'s windows (channels and window size), checked once the models load', async () => {
  const pump = path.join(ROOT, 'models', 'pump');
  const ecg = path.join(ROOT, 'models', 'ecg');
  const text = [
    `models: { pump: { path: "${pump}" }, ecg: { path: "${ecg}" } }`,
    'subscriptions:',
    '  - topic: plant/+/+/telemetry',
    '    template: plant/{line}/{asset}/telemetry',
    '    stream: "{line}/{asset}"',
    '    decoder: json',
    '    model: pump',
    '    modes: { when: { high: "flow_m3h > 40" }, default: normal, models: { high: ecg } }',
    '',
  ].join('\n');
  const config = loadConfigText(text, 'test.yaml', {});
  const shapes = new Map([
    ['pump', { dir: pump, manifest: await readManifest(pump) }],
    ['ecg', { dir: ecg, manifest: await readManifest(ecg) }],
  ]);
  const problems = applyModelShapes(config, shapes).problems;
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.match(problems[0] ?? '', /^subscriptions\[0\]\.modes\.models\.high: differ from model 'ecg' \(channels .*\), which mode 'high' of subscriptions\[0\] uses/);
  assert.match(problems[1] ?? '', /^subscriptions\[0\]\.modes\.models\.high: model 'ecg' reads windows of \d+ .* the stream's are 30/);
  const same = applyModelShapes(loadConfigText(text.replace('models: { high: ecg }', 'models: { high: pump }'), 'test.yaml', {}), shapes);
  assert.deepEqual(same.problems, []);
});
