// The config check of a sparkplug_b subscription refuses what the MQTT source would refuse at run, with the same
// words (core/sparkplugNames.ts): a topic outside spBv1.0/, a template, a stream name that is not {group},
// {edge} or {device}; `sparkplug` settings on another decoder are refused too. A valid one loads with its defaults.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveStream } from '../../../src/app/detection';
import { mqttSubscriptions } from '../../../src/app/source';
import { sparkplugNodePattern } from '../../../src/core/sparkplugNames';
import { loadConfigText } from '../../../src/config/load';
import { MqttSource } from '../../../src/sources/mqtt';
import { parseSparkplugTopic, sparkplugStream } from '../../../src/sources/sparkplugTopic';
import { testContext } from '../../helpers/context';
import { problemsOf } from './helpers';

const sub = (lines: string[]): string => ['subscriptions:', '  - channels: [temp, flow]', ...lines.map((l) => `    ${l}`), ''].join('\n');

test('sparkplug_b: a valid subscription loads, with rebirth requests off unless asked for', () => {
  const config = loadConfigText(sub(['topic: spBv1.0/plant/#', 'decoder: sparkplug_b', 'stream: "{group}/{edge}/{device}"', 'sparkplug: { rebirth_requests: true }']), 'test.yaml', {});
  assert.deepEqual(config.subscriptions[0]?.sparkplug, { rebirth_requests: true, rebirth_min_interval_ms: 30_000 });
  const [options] = mqttSubscriptions(config);
  assert.deepEqual(options?.sparkplug, { rebirthRequests: true, rebirthMinIntervalMs: 30_000 });
  // run builds the source from it without a complaint.
  assert.doesNotThrow(() => new MqttSource(testContext().ctx, { url: 'mqtt://127.0.0.1:1', clientId: 'x', subscriptions: mqttSubscriptions(config) }));
  const plain = loadConfigText(sub(['topic: spBv1.0/plant/#', 'decoder: sparkplug_b', 'stream: "{edge}/{device}"']), 'test.yaml', {});
  assert.equal(plain.subscriptions[0]?.sparkplug, undefined);
});

test('sparkplug_b: validate refuses what run refuses, with the same message', () => {
  // [the subscription, where validate puts the problem, the words both say]
  const cases: [Record<string, string>, string, string][] = [
    [{ topic: 'plant/#', stream: '{edge}' }, 'topic', 'decoder sparkplug_b reads Sparkplug B topics, which start with spBv1.0/'],
    [{ topic: 'spBv1.0/+/+/+', template: 'spBv1.0/{g}/{t}/{e}', stream: '{edge}' }, 'template', 'template: not used with decoder sparkplug_b'],
    [{ topic: 'spBv1.0/plant/#', stream: '{line}/{edge}' }, 'stream', "'{line}' is not a Sparkplug name"],
    [{ topic: 'spBv1.0/plant/+/gw1/#', stream: '{device}' }, 'stream', "leaves an edge node's own metrics (NBIRTH, NDATA, NDEATH: their topic has no device) no stream id"],
  ];
  for (const [fields, at, words] of cases) {
    const lines = [`topic: ${fields['topic']}`, 'decoder: sparkplug_b', `stream: "${fields['stream']}"`, ...(fields['template'] ? [`template: "${fields['template']}"`] : [])];
    const problems = problemsOf(sub(lines));
    assert.ok(problems.some((p) => p.startsWith(`subscriptions[0].${at}: `) && p.includes(words)), `${lines.join('; ')}: ${problems.join(' | ')}`);
    const subscription = {
      topic: fields['topic'] ?? '',
      ...(fields['template'] ? { template: fields['template'] } : {}),
      stream: fields['stream'] ?? '',
      decoder: 'sparkplug_b' as const,
      channels: ['temp', 'flow'],
      timestamp: { source: 'auto' as const, field: 'ts', unit: 'ms' as const },
    };
    assert.throws(() => new MqttSource(testContext().ctx, { url: 'mqtt://127.0.0.1:1', clientId: 'x', subscriptions: [subscription] }), (err: Error) => err.message.includes(words));
  }
  const other = problemsOf(sub(['topic: plant/+/+', 'template: "plant/{line}/{asset}"', 'decoder: json', 'stream: "{line}/{asset}"', 'sparkplug: { rebirth_requests: true }']));
  assert.ok(other.some((p) => /subscriptions\[0\]\.sparkplug: is only read with decoder sparkplug_b/.test(p)), other.join(' | '));
});

test("sparkplug_b: an edge node's own stream is the pattern without {device}, or with sparkplug.node_device in its place", () => {
  assert.equal(sparkplugNodePattern('{edge}/{device}'), '{edge}');
  assert.equal(sparkplugNodePattern('{group}/{edge}/{device}'), '{group}/{edge}');
  assert.equal(sparkplugNodePattern('{device}/{edge}'), '{edge}');
  assert.equal(sparkplugNodePattern('site/{edge}/{device}/x'), 'site/{edge}/x');
  assert.equal(sparkplugNodePattern('{edge}/{device}', 'node'), '{edge}/node');
  // The source names the node's messages the same way (NBIRTH, NDATA, NDEATH have no device level).
  const ndata = parseSparkplugTopic('spBv1.0/plant/NDATA/gw9');
  const ddata = parseSparkplugTopic('spBv1.0/plant/DDATA/gw9/pump1');
  assert.ok(typeof ndata === 'object' && typeof ddata === 'object');
  assert.deepEqual(sparkplugStream('{edge}/{device}', ndata), { ok: true, stream: 'gw9', labels: { group: 'plant', edge: 'gw9' } });
  assert.deepEqual(sparkplugStream('{edge}/{device}', ndata, 'node'), { ok: true, stream: 'gw9/node', labels: { group: 'plant', edge: 'gw9' } });
  assert.equal((sparkplugStream('{edge}/{device}', ddata, 'node') as { stream: string }).stream, 'gw9/pump1');
});

test('sparkplug_b: a `streams` entry may name an edge node\'s own stream; validate, run and train find its subscription', () => {
  const withEntry = (subLines: string[], id: string): string => `${sub(['topic: spBv1.0/plant/#', 'decoder: sparkplug_b', 'model: auto', ...subLines])}streams:\n  - id: ${id}\n    window: { hop: 5 }\n`;
  for (const [subLines, id] of [
    [['stream: "{edge}/{device}"'], 'gw9'],
    [['stream: "{edge}/{device}"'], 'gw9/pump1'],
    [['stream: "{edge}/{device}"', 'sparkplug: { node_device: node }'], 'gw9/node'],
    [['stream: "{group}/{edge}/{device}"'], 'plant/gw9'],
  ] as const) {
    // loadConfigText runs every check validate runs, and throws on any problem.
    const config = loadConfigText(withEntry([...subLines], id), 'test.yaml', {});
    const resolved = resolveStream(config, 'test.yaml', id);
    assert.equal(resolved.detection.window.hop, 5, `${id}: the entry's settings apply`);
  }
  // With node_device set the node's stream is "<edge>/node"; "<edge>" alone is then no stream of the subscription.
  const refused = problemsOf(withEntry(['stream: "{edge}/{device}"', 'sparkplug: { node_device: node }'], 'gw9'));
  assert.ok(refused.some((p) => p.startsWith('streams[0].id: matches the stream of no subscription')), refused.join(' | '));
  // node_device fills {device} where the pattern has nothing else to name a node's stream with.
  assert.doesNotThrow(() => loadConfigText(sub(['topic: spBv1.0/plant/+/gw1/#', 'decoder: sparkplug_b', 'stream: "{device}"', 'sparkplug: { node_device: node }']), 'test.yaml', {}));
  const bad = problemsOf(sub(['topic: spBv1.0/plant/#', 'decoder: sparkplug_b', 'stream: "{edge}/{device}"', 'sparkplug: { node_device: "a/b" }']));
  assert.ok(bad.some((p) => p.startsWith('subscriptions[0].sparkplug.node_device: must be 1 to 64 letters')), bad.join(' | '));
  const config = loadConfigText(sub(['topic: spBv1.0/plant/#', 'decoder: sparkplug_b', 'stream: "{edge}/{device}"', 'sparkplug: { node_device: node }']), 'test.yaml', {});
  assert.equal(mqttSubscriptions(config)[0]?.sparkplugNodeDevice, 'node');
});

test('sparkplug_b with model auto may leave channels out: each stream learns them from its birth; other decoders may not', () => {
  const learn = (extra = ''): string => `subscriptions:\n  - topic: spBv1.0/plant/#\n    decoder: sparkplug_b\n    stream: "{edge}/{device}"\n    model: auto\n${extra}`;
  const config = loadConfigText(learn(), 'test.yaml', {});
  const [options] = mqttSubscriptions(config);
  assert.equal(options?.channelsFromBirths, true);
  assert.deepEqual(options?.channels, []);
  // run builds the source from it.
  assert.doesNotThrow(() => new MqttSource(testContext().ctx, { url: 'mqtt://127.0.0.1:1', clientId: 'x', subscriptions: mqttSubscriptions(config) }));
  // A stream entry cannot pick channels the birth has not given yet.
  const entry = problemsOf(`${learn()}streams:\n  - id: gw1/pump1\n    channels: [temp]\n`);
  assert.ok(entry.some((p) => p.startsWith("streams[0].channels: cannot be set: subscriptions[0] learns each stream's channels from its Sparkplug births")), entry.join(' | '));
  const json = problemsOf('subscriptions:\n  - topic: plant/+/+\n    template: "plant/{line}/{asset}"\n    stream: "{line}/{asset}"\n    decoder: json\n    model: auto\n');
  assert.ok(json.some((p) => p.startsWith('subscriptions[0].channels: is required when the model is "auto"')), json.join(' | '));
});
