// The MQTT source's per-topic routing cache: one frozen target per topic (the same object every time, which the
// journal's header cache relies on), the first matching subscription decides, misses and refusals are cached
// too, the cache is bounded, and a config reload routes by the new subscriptions at once (no stale entry).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IPublishPacket } from 'mqtt';
import { createDecoder } from '../../../src/sources/decoders';
import { MqttSource, type MqttSubscriptionOptions } from '../../../src/sources/mqtt';
import type { StreamSamples } from '../../../src/sources/source';
import { TopicRouter, type SubscriptionRoute } from '../../../src/sources/topicRouter';
import { compileRoute } from '../../../src/sources/topics';
import { testContext } from '../../helpers/context';

const decode = createDecoder({ kind: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' }, maxPayloadBytes: 64 });

function route(index: number, topic: string, template: string, stream: string): SubscriptionRoute {
  return { index, route: compileRoute({ topic, template, stream }), decode };
}

void test('a topic resolves once: the same frozen target (labels too) for every message', () => {
  const router = new TopicRouter([route(0, 'plant/+/+/telemetry', 'plant/{line}/{asset}/telemetry', '{line}/{asset}')]);
  const a = router.resolve('plant/l1/p1/telemetry');
  assert.ok(a.ok);
  assert.deepEqual({ stream: a.stream, subscription: a.subscription, labels: { ...a.labels } }, { stream: 'l1/p1', subscription: 0, labels: { line: 'l1', asset: 'p1' } });
  assert.equal(router.resolve('plant/l1/p1/telemetry'), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.labels));
  assert.equal(router.size, 1);
});

void test('the first matching subscription decides; no match and a bad stream id are refusals, cached as well', () => {
  const router = new TopicRouter([
    route(0, 'plant/+/special/telemetry', 'plant/{line}/special/telemetry', 'special-{line}'),
    route(1, 'plant/+/+/telemetry', 'plant/{line}/{asset}/telemetry', '{line}/{asset}'),
  ]);
  const special = router.resolve('plant/l1/special/telemetry');
  assert.ok(special.ok && special.stream === 'special-l1' && special.subscription === 0);
  const plain = router.resolve('plant/l1/p2/telemetry');
  assert.ok(plain.ok && plain.stream === 'l1/p2' && plain.subscription === 1);
  const none = router.resolve('other/topic');
  assert.deepEqual(none, { ok: false, detail: 'no configured subscription matches the topic' });
  const empty = router.resolve('plant//p2/telemetry');
  assert.ok(!empty.ok && /is empty/.test(empty.detail));
  assert.equal(router.resolve('plant//p2/telemetry'), empty);
  assert.equal(router.size, 4);
});

void test('the cache is bounded: a flood of topics costs recomputation, not memory', () => {
  const router = new TopicRouter([route(0, 'x/+', 'x/{id}', '{id}')], 3);
  for (let i = 0; i < 10; i++) assert.ok(router.resolve(`x/${i}`).ok);
  assert.ok(router.size <= 3);
  const again = router.resolve('x/1');
  assert.ok(again.ok && again.stream === '1');
});

void test('a config reload routes by the new subscriptions from the next message on', async () => {
  const tc = testContext('source.mqtt');
  const sub = (stream: string): MqttSubscriptionOptions => ({
    topic: 'plant/+/+/telemetry', template: 'plant/{line}/{asset}/telemetry', stream, decoder: 'number', channels: ['v'],
    timestamp: { source: 'arrival', field: 'ts', unit: 'ms' },
  });
  const source = new MqttSource(tc.ctx, { url: 'mqtt://127.0.0.1:1', clientId: 't', subscriptions: [sub('{line}/{asset}')] });
  const got: StreamSamples[] = [];
  // The message path without a broker: what start() wires up (deliver) and what mqtt.js calls (accept).
  const inside = source as unknown as { deliver: (b: StreamSamples) => void; accept(p: IPublishPacket): void };
  inside.deliver = (b) => void got.push(b);
  const packet = { cmd: 'publish', topic: 'plant/l1/p1/telemetry', payload: Buffer.from('1.5'), qos: 1, dup: false, retain: false, messageId: 1 } as IPublishPacket;
  inside.accept(packet);
  await source.updateSubscriptions([sub('site-{asset}')]);
  inside.accept(packet);
  await source.updateSubscriptions([{ ...sub('x'), topic: 'other/+/+/telemetry', template: 'other/{line}/{asset}/telemetry' }]);
  inside.accept(packet);
  assert.deepEqual(got.map((b) => b.stream), ['l1/p1', 'site-p1']);
  assert.deepEqual(tc.calls('messageRejected').map((c) => c[0]), ['unknown_stream']);
  assert.ok(got.every((b) => typeof b.receivedAt === 'number'));
});
