import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_STREAM_ID_LENGTH, compileRoute, routeProblems, streamIdProblem, topicMatches } from '../../../src/sources/topics';

void test('topic filter matching follows MQTT rules', () => {
  assert.ok(topicMatches('plant/+/+/telemetry', 'plant/line1/pump1/telemetry'));
  assert.ok(!topicMatches('plant/+/+/telemetry', 'plant/line1/telemetry'));
  assert.ok(!topicMatches('plant/+/+/telemetry', 'plant/line1/pump1/telemetry/x'));
  assert.ok(topicMatches('plant/+/x', 'plant//x'), '+ matches an empty level');
  assert.ok(topicMatches('plant/#', 'plant'), '# matches the parent level');
  assert.ok(topicMatches('plant/#', 'plant/a/b/c'));
  assert.ok(topicMatches('#', 'anything/at/all'));
  assert.ok(!topicMatches('#', '$SYS/broker/uptime'), 'wildcards do not match $ topics');
  assert.ok(!topicMatches('+/broker/uptime', '$SYS/broker/uptime'));
  assert.ok(topicMatches('$SYS/#', '$SYS/broker/uptime'));
  assert.ok(!topicMatches('a/b', 'a/c'));
});

void test('template names wildcard levels; the stream pattern builds the id', () => {
  const r = compileRoute({ topic: 'plant/+/+/telemetry', template: 'plant/{line}/{asset}/telemetry', stream: '{line}/{asset}' });
  assert.deepEqual(r.resolve('plant/line1/pump3/telemetry'), { ok: true, stream: 'line1/pump3', labels: { line: 'line1', asset: 'pump3' } });
  assert.equal(r.resolve('other/line1/pump3/telemetry'), null);
  assert.equal(r.resolve('plant/line1/pump3/status'), null);
});

void test('{topic} is the whole topic; literal text in the pattern is kept; unnamed wildcards allowed', () => {
  const r = compileRoute({ topic: 'sensors/+/+', template: 'sensors/{site}/+', stream: 'site-{site}:{topic}' });
  assert.deepEqual(r.resolve('sensors/north/t1'), { ok: true, stream: 'site-north:sensors/north/t1', labels: { site: 'north' } });
  const bare = compileRoute({ topic: 'ecg/#', stream: '{topic}' });
  assert.deepEqual(bare.resolve('ecg/ward1/bed2'), { ok: true, stream: 'ecg/ward1/bed2', labels: {} });
});

void test('a named # captures the remaining levels', () => {
  const r = compileRoute({ topic: 'plant/+/#', template: 'plant/{line}/{rest}', stream: '{line}:{rest}' });
  assert.deepEqual(r.resolve('plant/l1/a/b/c'), { ok: true, stream: 'l1:a/b/c', labels: { line: 'l1', rest: 'a/b/c' } });
  const empty = r.resolve('plant/l1');
  assert.ok(empty && !empty.ok && /'\{rest\}' is empty/.test(empty.detail));
});

void test('unsafe stream ids are refused: empty label, control and bidi characters, too long', () => {
  const r = compileRoute({ topic: 'p/+/+', template: 'p/{a}/{b}', stream: '{a}/{b}' });
  const detail = (topic: string): string => {
    const x = r.resolve(topic);
    assert.ok(x && !x.ok, topic);
    return x.ok ? '' : x.detail;
  };
  assert.match(detail('p//x'), /empty/);
  assert.match(detail('p/a\nb/x'), /control/);
  assert.match(detail('p/a\u0000/x'), /control/);
  assert.match(detail('p/a\u202Eb/x'), /format/);
  assert.match(detail('p/a\u2028/x'), /separator/);
  assert.match(detail(`p/${'x'.repeat(MAX_STREAM_ID_LENGTH)}/y`), /longer than 128/);
  assert.deepEqual(r.resolve('p/Zürich Süd/pump 1'), { ok: true, stream: 'Zürich Süd/pump 1', labels: { a: 'Zürich Süd', b: 'pump 1' } });
  assert.equal(streamIdProblem('x'.repeat(MAX_STREAM_ID_LENGTH)), null);
  // InfluxDB cannot store a tag value with a backslash at its end or before ",", " " or "="; elsewhere it is fine.
  for (const id of ['b\\', 'a\\,b', 'a\\ b', 'a\\=b', 'a\\\\ b']) assert.match(streamIdProblem(id) ?? '', /backslash at its end or before/, id);
  assert.match(detail('p/a/b\\'), /backslash at its end/);
  assert.equal(streamIdProblem('a\\b\\"c\\\\d\\\'e, f=g'), null);
});

void test('labels never touch prototypes: a level named __proto__ is just a value', () => {
  const r = compileRoute({ topic: 'p/+', template: 'p/{a}', stream: '{a}' });
  const x = r.resolve('p/__proto__');
  assert.ok(x?.ok);
  assert.equal(x.stream, '__proto__');
  assert.equal(Object.getPrototypeOf(x.labels), Object.prototype);
});

void test('invalid routes list every problem', () => {
  assert.deepEqual(routeProblems({ topic: 'a/+', template: 'a/{x}', stream: '{x}' }), []);
  const p = routeProblems({ topic: 'a/#/b', template: 'a/{x}/c', stream: '{y}' });
  assert.ok(p.some((m) => /'#' must be the last level/.test(m)), p.join('\n'));
  assert.ok(p.some((m) => /level 3 must be 'b'/.test(m)), p.join('\n'));
  assert.ok(p.some((m) => /'\{y\}' is not a template name \(known: \{topic\}, \{x\}\)/.test(m)), p.join('\n'));
  assert.match(routeProblems({ topic: 'a/+/+', template: 'a/{x}', stream: '{x}' }).join(), /2 levels but topic 'a\/\+\/\+' has 3/);
  assert.match(routeProblems({ topic: 'a/+/+', template: 'a/{x}/{x}', stream: '{x}' }).join(), /used twice/);
  assert.match(routeProblems({ topic: 'a/+', template: 'a/{__proto__}', stream: '{topic}' }).join(), /must be '\{name\}'/);
  assert.match(routeProblems({ topic: 'a/b+', stream: '{topic}' }).join(), /whole level/);
  assert.match(routeProblems({ topic: 'a/+', template: 'a/{x}', stream: '{x' }).join(), /unbalanced/);
  assert.throws(() => compileRoute({ topic: 'a/+', stream: '{line}' }), /not a template name/);
});
