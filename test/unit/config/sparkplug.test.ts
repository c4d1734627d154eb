// The config check of a sparkplug_b subscription refuses what the MQTT source would refuse at run, with the same
// words (core/sparkplugNames.ts): a topic outside spBv1.0/, a template, a stream name that is not {group},
// {edge} or {device}; `sparkplug` settings on another decoder are refused too. A valid one loads with its defaults.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { mqttSubscriptions } from '../../../src/app/source';
import { loadConfigText } from '../../../src/config/load';
import { MqttSource } from '../../../src/sources/mqtt';
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
