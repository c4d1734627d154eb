// Stall and sensor-check state across a restart and at removal: a snapshot goes through JSON (as the state
// file keeps it) into a fresh object, which goes on firing without a second notice and resolves with the
// alert's identity when the condition clears; a damaged snapshot is refused with a reason; retire() resolves
// what fires with the reason given; a check turned off while firing resolves instead of staying open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { createRng } from '../../../src/core/random';
import { SensorCheck, type SensorCheckOptions } from '../../../src/core/sensorCheck';
import { StallDetector, type StallOptions } from '../../../src/core/stall';

const SEED = 11;
const viaJson = (x: unknown): unknown => JSON.parse(JSON.stringify(x)) as unknown;

function sequence(): () => number {
  let n = 100;
  return () => ++n;
}

function sensors(o: Partial<SensorCheckOptions> = {}): SensorCheck {
  return new SensorCheck({ stream: 'l1/p1', model: 'pump', channels: ['a', 'b'], labels: { line: 'l1' }, flatlineSamples: 10, spikeFactor: 8, spikeCount: 3, spikeWindowSamples: 60, nextSequence: sequence(), ...o });
}

/** Noisy two-channel samples from index `from`; channel b is stuck at 5.5 for indexes in [stuckFrom, stuckTo). */
function feed(c: SensorCheck, from: number, to: number, stuckFrom: number, stuckTo: number): AlertNotice[] {
  const rng = createRng(SEED + from);
  const out: AlertNotice[] = [];
  for (let i = from; i < to; i++) {
    const v = [10 + Math.sin(i / 40) + 0.05 * (rng() - 0.5), i >= stuckFrom && i < stuckTo ? 5.5 : 5 + 0.05 * (rng() - 0.5)];
    out.push(...c.observe(i * 1000, v));
  }
  return out;
}

test(`a stuck sensor keeps its SensorFlatline across a restart without a second page, then resolves (seed ${SEED})`, () => {
  const before = sensors();
  const fired = feed(before, 0, 200, 150, 400);
  assert.equal(fired.length, 1);
  assert.equal(fired[0].kind, 'sensor_flatline');
  assert.deepEqual(fired[0].topChannels.map((c) => c.channel), ['b']);

  const after = sensors();
  after.restore(viaJson(before.snapshot()));
  assert.deepEqual(after.active().map((n) => n.fingerprint), [fired[0].fingerprint], 'firing again after the restart, without a notice');
  assert.deepEqual(feed(after, 200, 300, 150, 400), [], 'still stuck: no second firing notice, no resolve');
  const [resolved, ...rest] = feed(after, 300, 420, 150, 400);
  assert.deepEqual(rest, []);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.fingerprint, fired[0].fingerprint);
  assert.equal(resolved.startsAt, fired[0].startsAt, 'the resolve keeps the original start');
  assert.equal(resolved.endsAt, 400_000, 'resolved on the first moving sample');
  assert.equal(resolved.reason, undefined, 'an ordinary resolve');
  assert.ok(Number.isNaN(resolved.score), 'no score on a sensor alert (JSON null revived as NaN)');
  assert.deepEqual(resolved.labels, { line: 'l1' });
});

test('without the restored history a restart would have resolved and re-paged: the history is what prevents it', () => {
  const before = sensors();
  feed(before, 0, 200, 150, 400);
  const snapshot = viaJson(before.snapshot()) as Record<string, unknown>;
  // The same alert under a changed channel list: only the firing alert carries over.
  const other = sensors({ channels: ['a', 'b', 'c'] });
  other.restore(snapshot);
  assert.equal(other.active().length, 1);
  const out: AlertNotice[] = [];
  for (let i = 200; i < 215; i++) out.push(...other.observe(i * 1000, [10 + i / 100, 5.5, i]));
  assert.deepEqual(out.map((n) => n.status), ['resolved', 'firing'], 'history restarted: resolve, then a new page after flatline_samples');
});

test('a damaged sensor snapshot is refused with a reason and changes nothing', () => {
  const before = sensors();
  feed(before, 0, 200, 150, 400);
  const good = viaJson(before.snapshot()) as Record<string, unknown>;
  const c = sensors();
  assert.throws(() => c.restore({ ...good, version: 9 }), /unsupported content/);
  assert.throws(() => c.restore({ ...good, flatline: { ...(good['flatline'] as object), stream: 'other' } }), /belongs to stream "other"/);
  assert.throws(() => c.restore({ ...good, flatline: { ...(good['flatline'] as object), kind: 'anomaly' } }), /kind "anomaly"/);
  assert.throws(() => c.restore({ ...good, state: [{ run: 'x' }, {}] }), /bad channel history/);
  assert.deepEqual(c.active(), []);
});

test('retire() resolves firing sensor alerts with the reason; turning a check off while it fires resolves it too', () => {
  const c = sensors();
  const [fired] = feed(c, 0, 200, 150, 400);
  const [retired, ...rest] = c.retire(500_000, 'gone');
  assert.deepEqual(rest, []);
  assert.equal(retired.status, 'resolved');
  assert.equal(retired.fingerprint, fired.fingerprint);
  assert.equal(retired.endsAt, 500_000);
  assert.equal(retired.reason, 'gone');
  assert.ok(retired.sequence > fired.sequence);
  assert.deepEqual(c.active(), []);
  assert.deepEqual(c.retire(600_000, 'gone'), [], 'nothing left to resolve');

  const d = sensors();
  feed(d, 0, 200, 150, 400);
  const off = d.reconfigured({ stream: 'l1/p1', model: 'pump', channels: ['a', 'b'], labels: { line: 'l1' }, flatlineSamples: 0, spikeFactor: 8, spikeCount: 3, spikeWindowSamples: 60, nextSequence: sequence() });
  const [closed] = feed(off, 200, 201, 150, 400);
  assert.equal(closed.status, 'resolved');
  assert.match(closed.reason ?? '', /turned off/);
});

/** A stall detector of a stream that completed a window (only such a stream pages when it goes silent). */
function stall(o: Partial<StallOptions> = {}, now = 0): StallDetector {
  const d = new StallDetector({ stream: 'l1/p1', model: 'pump', labels: { line: 'l1' }, silenceMs: 60_000, nextSequence: sequence(), ...o }, now);
  d.windowCompleted();
  return d;
}

test('a firing stall alert survives a restart without a second page and resolves when samples return', () => {
  const before = stall();
  const [fired] = before.check(61_000);
  assert.equal(fired.kind, 'ingestion_stalled');

  const after = stall({}, 500_000);
  after.restore(viaJson(before.snapshot()));
  assert.deepEqual(after.active().map((n) => n.fingerprint), [fired.fingerprint]);
  assert.deepEqual(after.check(900_000), [], 'still firing: not paged again');
  const [resolved] = after.activity(901_000);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.fingerprint, fired.fingerprint);
  assert.equal(resolved.startsAt, 0);
  assert.equal(resolved.endsAt, 901_000);
  assert.deepEqual(after.active(), []);

  const idle = stall();
  idle.restore(viaJson(stall().snapshot()));
  assert.deepEqual(idle.active(), [], 'a quiet snapshot restores nothing firing');
  assert.throws(() => idle.restore({ version: 1, firing: { ...fired, kind: 'anomaly' } }), /kind "anomaly"/);
  assert.throws(() => idle.restore(null), /unsupported content/);
});

test('retire() resolves a firing stall alert with the reason, never ending before it started', () => {
  const d = stall({}, 100_000);
  const [fired] = d.check(161_000);
  assert.equal(fired.startsAt, 100_000);
  const [retired] = d.retire(200_000, 'removed');
  assert.equal(retired.status, 'resolved');
  assert.equal(retired.fingerprint, fired.fingerprint);
  assert.equal(retired.reason, 'removed');
  assert.equal(retired.endsAt, 200_000);
  assert.deepEqual(d.retire(210_000, 'removed'), []);
  assert.deepEqual(d.activity(220_000), [], 'no second resolve when samples come back');

  // A clock behind the alert's start (data-time stamps ahead of the wall clock) still gives endsAt >= startsAt.
  const e = stall({}, 100_000);
  e.check(161_000);
  const [early] = e.retire(50_000, 'removed');
  assert.equal(early.endsAt, 100_000);
});
