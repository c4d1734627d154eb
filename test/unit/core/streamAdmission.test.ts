import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit, globRegExp, StreamAllowList, StreamRateBucket } from '../../../src/core/streamAdmission';

test('allow list: exact ids, `*` within one level, `**` across levels, nothing else', () => {
  const allow = new StreamAllowList(['line1/*', 'line2/press1', 'plant3/**', 'pump-*-a']);
  for (const id of ['line1/pump1', 'line1/x', 'line2/press1', 'plant3/a/b/c', 'pump-7-a']) assert.equal(allow.admits(id), true, id);
  for (const id of ['line1/a/b', 'line1', 'line2/press10', 'line2/press', 'xline1/pump1', 'plant3', 'pump-7-b', 'line10/pump1']) assert.equal(allow.admits(id), false, id);
});

test('glob characters other than * are literal (a "." does not match any character)', () => {
  assert.equal(globRegExp('a.b').test('a.b'), true);
  assert.equal(globRegExp('a.b').test('axb'), false);
  assert.equal(globRegExp('line1/*').test('line1/'), true, '`*` may match nothing');
});

test('rate bucket: a burst of perMinute at once, then one per 60/perMinute seconds', () => {
  const bucket = new StreamRateBucket(60);
  let t = 1_000_000;
  for (let i = 0; i < 60; i++) assert.equal(bucket.take(t), true, `burst token ${i}`);
  assert.equal(bucket.take(t), false, 'the 61st at once is refused');
  t += 999;
  assert.equal(bucket.take(t), false, 'not yet a second later');
  t += 1;
  assert.equal(bucket.take(t), true, 'one token a second');
  assert.equal(bucket.take(t), false);
  t += 3_600_000;
  let taken = 0;
  while (bucket.take(t)) taken++;
  assert.equal(taken, 60, 'an hour of quiet refills to the burst, not beyond');
});

test('rate bucket: a clock that steps back refills nothing; 0 = unlimited', () => {
  const bucket = new StreamRateBucket(1);
  assert.equal(bucket.take(100_000), true);
  assert.equal(bucket.take(40_000), false, 'back in time');
  assert.equal(bucket.take(100_001), false, 'still only a millisecond after the last token');
  assert.equal(bucket.take(160_000), true);
  const unlimited = new StreamRateBucket(0);
  for (let i = 0; i < 10_000; i++) assert.equal(unlimited.take(0), true);
});

test('admit: the allow list is asked first and takes no token', () => {
  const rule = { allow: new StreamAllowList(['line1/*']), bucket: new StreamRateBucket(1) };
  assert.equal(admit(rule, 'fake/1', 0)?.reason, 'stream_not_allowed');
  assert.match(admit(rule, 'fake/2', 0)?.detail ?? '', /allow_streams \(line1\/\*\)/);
  assert.equal(admit(rule, 'line1/p1', 0), null, 'the token is still there');
  assert.equal(admit(rule, 'line1/p2', 0)?.reason, 'stream_rate');
});
