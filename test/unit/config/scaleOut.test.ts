// Scale-out settings: `shard` (index as a number or from the host name, below count) and MQTT 5 shared
// subscriptions (`$share/<group>/...`: routed on the plain filter, refused without protocol 5 or with shard).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { resolveShard } from '../../../src/config/shard';
import { parseSharedFilter } from '../../../src/core/shard';
import { compileRoute } from '../../../src/sources/topics';
import { problemsOf } from './helpers';

const sub = (topic: string): string => `subscriptions:
  - topic: ${topic}
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    channels: [a]
`;

test('shard defaults to one shard (every stream), and index/count come from YAML or ${VAR}', () => {
  const plain = loadConfigText('', 'test.yaml', {});
  assert.deepEqual({ ...plain.shard }, { count: 1, index: '0' });
  assert.deepEqual(resolveShard(plain.shard), { ok: true, spec: { index: 0, count: 1 } });
  const c = loadConfigText('shard: { index: "${IDX}", count: "${COUNT:-3}" }', 'test.yaml', { IDX: '2' });
  assert.deepEqual(resolveShard(c.shard), { ok: true, spec: { index: 2, count: 3 } });
  const yamlNumber = loadConfigText('shard: { index: 1, count: 2 }', 'test.yaml', {});
  assert.deepEqual(resolveShard(yamlNumber.shard), { ok: true, spec: { index: 1, count: 2 } });
});

test('shard.index "hostname" takes the StatefulSet ordinal; without one it is an error unless count is 1', () => {
  assert.deepEqual(resolveShard({ index: 'hostname', count: 3 }, 'anomalyd-2'), { ok: true, spec: { index: 2, count: 3 } });
  assert.deepEqual(resolveShard({ index: 'hostname', count: 1 }, 'devbox'), { ok: true, spec: { index: 0, count: 1 } });
  const noOrdinal = resolveShard({ index: 'hostname', count: 3 }, 'devbox');
  assert.equal(noOrdinal.ok, false);
  assert.match(noOrdinal.ok ? '' : noOrdinal.problem, /host name is 'devbox'; set the index explicitly/);
  const tooHigh = resolveShard({ index: 'hostname', count: 3 }, 'anomalyd-3');
  assert.match(tooHigh.ok ? '' : tooHigh.problem, /shard index 3 \(from the host name 'anomalyd-3'\) must be below shard.count \(3\)/);
});

test('bad shard settings are listed as path: message', () => {
  assert.deepEqual(problemsOf('shard: { index: 3, count: 3 }'), [
    'shard.index: shard index 3 must be below shard.count (3); give every replica the same count, one more than the highest index (got "3")',
  ]);
  // An env variable that is set but empty must not become shard 0 (Ajv would coerce "" to 0 for an integer).
  assert.deepEqual(problemsOf('shard: { index: "${IDX}", count: 2 }', { IDX: '' }), ['shard.index: must be a shard number (0, 1, 2, ...) or "hostname" (got "")']);
  assert.deepEqual(problemsOf('shard: { index: -1 }'), ['shard.index: must be a shard number (0, 1, 2, ...) or "hostname" (got "-1")']);
  assert.deepEqual(problemsOf('shard: { count: 0 }'), ['shard.count: must be >= 1 (got 0)']);
});

test('$share subscriptions need MQTT 5, a group, and no shard partitioning beside them', () => {
  const ok = loadConfigText(`mqtt: { protocol_version: 5 }\n${sub('$share/anomalyd/plant/+/+/telemetry')}`, 'test.yaml', {});
  assert.equal(ok.subscriptions[0]?.topic, '$share/anomalyd/plant/+/+/telemetry');
  assert.deepEqual(problemsOf(sub('$share/anomalyd/plant/+/+/telemetry')), [
    'subscriptions[0].topic: is a shared subscription ($share/...), which needs MQTT 5: set mqtt.protocol_version to 5 (got "$share/anomalyd/plant/+/+/telemetry")',
  ]);
  const both = problemsOf(`mqtt: { protocol_version: 5 }\nshard: { index: 0, count: 2 }\n${sub('$share/g/plant/+/+/telemetry')}`);
  assert.equal(both.length, 1);
  assert.match(both[0] ?? '', /^shard\.count: must be 1 when subscriptions use \$share \(subscriptions\[0\]\)/);
  const noGroup = problemsOf(`mqtt: { protocol_version: 5 }\n${sub('$share//plant/+/+/telemetry')}`);
  assert.ok(noGroup.some((p) => p.startsWith('subscriptions[0].topic: is not a valid shared subscription')), noGroup.join('\n'));
  // The template is checked against the filter without the prefix.
  const badTemplate = problemsOf(`mqtt: { protocol_version: 5 }\n${sub('$share/g/plant/+/telemetry')}`);
  assert.ok(badTemplate.some((p) => p.includes('has 4 levels but the topic plant/+/telemetry has 3')), badTemplate.join('\n'));
});

test('a $share route subscribes as written and resolves message topics of the plain filter', () => {
  assert.deepEqual(parseSharedFilter('$share/grp/plant/#'), { group: 'grp', filter: 'plant/#' });
  assert.deepEqual(parseSharedFilter('plant/#'), { group: undefined, filter: 'plant/#' });
  assert.deepEqual(parseSharedFilter('$share/grp'), { group: '', filter: '$share/grp' });
  const r = compileRoute({ topic: '$share/grp/plant/+/+/telemetry', template: 'plant/{line}/{asset}/telemetry', stream: '{line}/{asset}' });
  assert.equal(r.filter, '$share/grp/plant/+/+/telemetry');
  assert.deepEqual(r.resolve('plant/line1/pump3/telemetry'), { ok: true, stream: 'line1/pump3', labels: { line: 'line1', asset: 'pump3' } });
  assert.equal(r.resolve('other/line1/pump3/telemetry'), null);
  const whole = compileRoute({ topic: '$share/grp/ecg/#', stream: '{topic}' });
  assert.deepEqual(whole.resolve('ecg/ward1/bed2'), { ok: true, stream: 'ecg/ward1/bed2', labels: {} });
});
