import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StallDetector } from '../../../src/core/stall';

test('fires once after the silence, resolves when samples return, with monotonic sequences', () => {
  let seq = 0;
  const d = new StallDetector({ stream: 'line1/pump1', model: 'pump', labels: { line: 'line1' }, silenceMs: 60_000, nextSequence: () => ++seq }, 0);
  assert.deepEqual(d.check(60_000), [], 'not before the silence has passed');
  const [fire] = d.check(60_001);
  assert.equal(fire.kind, 'ingestion_stalled');
  assert.equal(fire.status, 'firing');
  assert.equal(fire.startsAt, 0, 'starts at the last activity');
  assert.deepEqual(d.check(120_000), [], 'one notice while stalled');
  const [resolved] = d.activity(130_000);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.fingerprint, fire.fingerprint);
  assert.equal(resolved.endsAt, 130_000);
  assert.ok(resolved.sequence > fire.sequence);
  assert.deepEqual(d.activity(131_000), []);
});

test('silence 0 disables stall alerts', () => {
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 0, nextSequence: () => 1 }, 0);
  assert.deepEqual(d.check(1e12), []);
});
