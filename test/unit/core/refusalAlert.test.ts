import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REFUSAL_ALERT_STREAM, RefusalAlert } from '../../../src/core/refusalAlert';

function alert(): { a: RefusalAlert; seq: () => number } {
  let seq = 0;
  return { a: new RefusalAlert({ fireAfter: 3, quietMs: 1000, nextSequence: () => ++seq }), seq: () => seq };
}

test('fires once when refusals keep coming, with the count, reasons and examples; one notice for any number of streams', () => {
  const { a, seq } = alert();
  assert.deepEqual(a.refused(0, 'f1', 'stream_not_allowed'), []);
  assert.deepEqual(a.refused(10, 'f2', 'stream_rate'), []);
  const [fire] = a.refused(20, 'f3', 'stream_not_allowed');
  assert.equal(fire?.kind, 'streams_refused');
  assert.equal(fire?.stream, REFUSAL_ALERT_STREAM);
  assert.equal(fire?.startsAt, 0);
  assert.match(fire?.detail ?? '', /^3 message\(s\) of new streams refused \(stream_not_allowed: 2, stream_rate: 1\), e\.g\. 'f1', 'f2', 'f3'$/);
  for (let i = 0; i < 1500; i++) assert.deepEqual(a.refused(30 + i / 10, `g${i}`, 'stream_limit'), []);
  assert.equal(seq(), 1, 'one notice for 1,503 refusals');
  assert.equal(a.refusedCount, 1503);
});

test('resolves after the quiet time with the total; a few refusals separated by quiet never fire', () => {
  const { a } = alert();
  for (let i = 0; i < 5; i++) a.refused(i, `f${i}`, 'stream_limit');
  assert.deepEqual(a.check(1004), [], 'not quiet long enough');
  const [resolved] = a.check(1005);
  assert.equal(resolved?.status, 'resolved');
  assert.equal(resolved?.endsAt, 1005);
  assert.match(resolved?.detail ?? '', /^5 message/);
  assert.equal(a.refusedCount, 0);
  const { a: b } = alert();
  b.refused(0, 'x', 'stream_rate');
  b.refused(5000, 'y', 'stream_rate');
  assert.deepEqual(b.refused(10_000, 'z', 'stream_rate'), [], 'three refusals, each after a quiet gap: no page');
});

test('retire resolves a firing alert with the reason, and nothing when it does not fire', () => {
  const { a } = alert();
  assert.deepEqual(a.retire(0, 'stopped'), []);
  for (let i = 0; i < 3; i++) a.refused(i, 'f', 'stream_limit');
  const [resolved] = a.retire(10, 'stopped');
  assert.equal(resolved?.reason, 'stopped');
});
