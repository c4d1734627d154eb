import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RECOVERY_SAMPLES, StallDetector } from '../../../src/core/stall';

test('fires once after the silence, resolves when samples return, with monotonic sequences', () => {
  let seq = 0;
  const d = new StallDetector({ stream: 'line1/pump1', model: 'pump', labels: { line: 'line1' }, silenceMs: 60_000, nextSequence: () => ++seq }, 0);
  d.windowCompleted();
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

const FUTURE = { reason: 'future_timestamp', detail: "field 'ts' is 82800000 ms (23.0 h) ahead of arrival" } as const;

test('a silence full of time rejections fires TimestampsRejected naming the reason and offset, not a stall', () => {
  let seq = 0;
  const d = new StallDetector({ stream: 'line1/pump1', model: 'pump', labels: {}, silenceMs: 60_000, nextSequence: () => ++seq }, 0);
  d.timeRejected(FUTURE);
  assert.deepEqual(d.check(60_000), []);
  const [fire] = d.check(60_001);
  assert.equal(fire.kind, 'timestamps_rejected');
  assert.equal(fire.detail, "future_timestamp: field 'ts' is 82800000 ms (23.0 h) ahead of arrival");
  const plain = new StallDetector({ stream: 'line1/pump1', model: 'pump', labels: {}, silenceMs: 1, nextSequence: () => 0 }, 0);
  plain.windowCompleted();
  assert.notEqual(fire.fingerprint, plain.check(2)[0].fingerprint);
  assert.deepEqual(d.check(120_000), [], 'one notice while it lasts');
});

test('TimestampsRejected resolves after a run of correctly timed samples; a rejection in the run starts it again', () => {
  let seq = 0;
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => ++seq }, 0);
  d.timeRejected(FUTURE);
  const [fire] = d.check(1001);
  assert.equal(fire.kind, 'timestamps_rejected');
  for (let i = 0; i < RECOVERY_SAMPLES - 1; i++) assert.deepEqual(d.activity(2000 + i), [], `not after ${i + 1} good samples`);
  d.timeRejected(FUTURE);
  for (let i = 0; i < RECOVERY_SAMPLES - 1; i++) assert.deepEqual(d.activity(3000 + i), [], 'the run starts again after a rejection');
  const [resolved] = d.activity(4000);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.fingerprint, fire.fingerprint);
  assert.equal(resolved.kind, 'timestamps_rejected');
  assert.deepEqual(d.activity(5000), []);
  // Accepted samples clear the rejection: a later silence of the stream, once it completed a window, is a stall.
  assert.deepEqual(d.check(7000), [], 'not before its first window');
  d.windowCompleted();
  const [stall] = d.check(7000);
  assert.equal(stall.kind, 'ingestion_stalled');
});

test('a message of many samples counts each toward the run', () => {
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 1 }, 0);
  d.timeRejected({ reason: 'too_old', detail: "field 'ts' is before arrival" });
  assert.equal(d.check(1001)[0].kind, 'timestamps_rejected');
  assert.equal(d.activity(2000, RECOVERY_SAMPLES)[0].status, 'resolved');
});

test('a rejection followed by accepted samples before the silence ends raises nothing', () => {
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 1 }, 0);
  d.timeRejected(FUTURE);
  d.activity(500);
  d.windowCompleted();
  assert.deepEqual(d.check(1400), []);
  assert.equal(d.check(1501)[0].kind, 'ingestion_stalled', 'a later plain silence is a stall');
});

test('a firing TimestampsRejected survives snapshot and restore, and resolves with its identity', () => {
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 1 }, 0);
  d.timeRejected(FUTURE);
  const [fire] = d.check(1001);
  const again = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 2 }, 5000);
  again.restore(JSON.parse(JSON.stringify(d.snapshot())));
  assert.equal(again.active()[0].kind, 'timestamps_rejected');
  const [resolved] = again.activity(6000, RECOVERY_SAMPLES);
  assert.equal(resolved.fingerprint, fire.fingerprint);
});

test('a stream that never completed a window does not page when it goes silent; after its first window it does', () => {
  let seq = 0;
  const d = new StallDetector({ stream: 'made/up', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => ++seq }, 0);
  d.activity(10, 1);
  assert.deepEqual(d.check(100_000), [], 'a topic that sent one message and stopped is not a stalled stream');
  assert.equal(d.healthy, false);
  d.activity(100_000, 1);
  d.windowCompleted();
  assert.equal(d.healthy, true);
  const [fire] = d.check(101_001);
  assert.equal(fire?.kind, 'ingestion_stalled');
  assert.equal(seq, 1, 'one sequence number taken: one notice');
});

test('healthy survives snapshot and restore, so a restored stream pages when it stays silent; old snapshots count as healthy', () => {
  const d = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 1 }, 0);
  const before = d.revision;
  d.windowCompleted();
  assert.ok(d.revision > before, 'a checkpoint saves the change');
  const again = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 2 }, 5000);
  again.restore(JSON.parse(JSON.stringify(d.snapshot())));
  assert.equal(again.check(6001)[0]?.kind, 'ingestion_stalled');
  const never = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 2 }, 5000);
  never.restore(JSON.parse(JSON.stringify(new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 1 }, 0).snapshot())));
  assert.deepEqual(never.check(60_000), [], 'saved as never healthy: no page');
  const old = new StallDetector({ stream: 's', model: 'm', labels: {}, silenceMs: 1000, nextSequence: () => 2 }, 5000);
  old.restore({ version: 1, firing: null });
  assert.equal(old.check(6001)[0]?.kind, 'ingestion_stalled', 'a file written before healthy was kept: taken as healthy');
});
