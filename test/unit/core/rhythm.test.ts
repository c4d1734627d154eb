import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_HISTORY, RhythmTracker, rhythmFactor, rhythmOptionProblems, rhythmSettingsProblems, sameRhythmOptions, type RhythmOptions } from '../../../src/core/rhythm';
import { WindowBuffer } from '../../../src/core/window';
import type { Window } from '../../../src/core/types';

const RATE_HZ = 360;
const PERIOD_MS = 1000 / RATE_HZ;

function options(o: Partial<RhythmOptions> = {}): RhythmOptions {
  return { channel: 0, slopeSteps: 4, smoothingSteps: 36, thresholdFraction: 0.2, peakHalfLifeMs: 1500, refractoryMs: 300, historyEvents: 8, ...o };
}

/**
 * A synthetic ECG-like lead at 360 Hz: a narrow spike (a QRS, 20 ms) at each beat time (ms), a slow bump after it
 * (a T wave, 200 ms later), small noise from a fixed seed.
 */
function signal(beatsMs: readonly number[], durationMs: number, seed = 7): Float64Array {
  const n = Math.round((durationMs / 1000) * RATE_HZ);
  const out = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = 0.01 * (s / 2147483648 - 0.5);
  }
  for (const b of beatsMs) {
    for (let i = 0; i < n; i++) {
      const t = i * PERIOD_MS - b;
      out[i] += Math.exp(-0.5 * (t / 8) ** 2) + 0.25 * Math.exp(-0.5 * ((t - 200) / 40) ** 2);
    }
  }
  return out;
}

/**
 * Feeds the signal; returns the times of the events and the tracker. Events in the first 300 ms are left out: the
 * running peak starts at 0, so the noise before the first beat makes one, and the first beat, rising before the
 * envelope has fallen below the threshold once, is missed (warm-up: its interval is never part of the history).
 */
function track(x: Float64Array, o: RhythmOptions = options()): { events: number[]; tracker: RhythmTracker } {
  const tracker = new RhythmTracker(o);
  const events: number[] = [];
  for (let i = 0; i < x.length; i++) if (tracker.push(i * PERIOD_MS, [x[i]]) && i * PERIOD_MS > 300) events.push(i * PERIOD_MS);
  return { events, tracker };
}

const regular = (n: number, rrMs: number, from = 1000): number[] => Array.from({ length: n }, (_, k) => from + k * rrMs);

test('finds one event per beat of a regular rhythm after the first, each within 30 ms before its peak (T waves are not events)', () => {
  const all = regular(20, 800);
  const { events, tracker } = track(signal(all, 17_000));
  const beats = all.slice(1);
  assert.equal(events.length, beats.length);
  events.forEach((e, k) => assert.ok(beats[k] - e >= 0 && beats[k] - e <= 30, `event ${k} at ${e} ms, beat at ${beats[k]} ms`));
  assert.ok(Math.abs(tracker.prematurity() - 1) < 0.01, `regular rhythm: prematurity ${tracker.prematurity()}`);
});

test('a premature beat reads below 1, the beat after its compensatory pause above 1', () => {
  // 800 ms rhythm; beat 12 comes 300 ms early, beat 13 on the usual grid (a compensatory pause).
  const beats = regular(16, 800);
  beats[12] -= 300;
  const x = signal(beats, 14_000);
  const tracker = new RhythmTracker(options());
  const readings: number[] = [];
  for (let i = 0; i < x.length; i++) if (tracker.push(i * PERIOD_MS, [x[i]])) readings.push(tracker.prematurity());
  assert.ok(Math.abs(readings[12] - 500 / 800) < 0.02, `premature: ${readings[12]}`);
  assert.ok(Math.abs(readings[13] - 1100 / 800) < 0.02, `after the pause: ${readings[13]}`);
  assert.ok(Math.abs(readings[14] - 1) < 0.02, `back on the rhythm: ${readings[14]}`);
});

test('refractory: a second spike within refractory_ms of an event is not an event', () => {
  // Each beat followed by an equally tall spike 150 ms later (a double-counting hazard).
  const beats = regular(10, 800);
  const doubled = beats.flatMap((b) => [b, b + 150]);
  // The first beat is the warm-up (see track); its double stands in for it.
  const kept = track(signal(doubled, 9_000), options({ refractoryMs: 300 })).events;
  assert.equal(kept.length, beats.length);
  kept.slice(1).forEach((e, k) => assert.ok(Math.abs(e - beats[k + 1]) <= 30, `event at ${e} ms is beat ${k + 1}, not its double`));
  assert.equal(track(signal(doubled, 9_000), options({ refractoryMs: 100 })).events.length, doubled.length - 1);
});

test('the running peak decays: beats a quarter as tall as an earlier one are found again within seconds', () => {
  const beats = regular(12, 800);
  const x = signal(beats, 10_500);
  // The first beat four times as tall as the rest (its envelope 16 times).
  const first = Math.round((beats[0] / 1000) * RATE_HZ);
  for (let i = first - 20; i < first + 20; i++) x[i] *= 4;
  const found = (events: number[]): number => beats.slice(6).filter((b) => events.some((e) => Math.abs(e - b) <= 30)).length;
  assert.equal(found(track(x).events), 6);
  // Without decay (a half-life far beyond the record) the small beats stay below 0.2 x the tall one's peak.
  assert.equal(found(track(x, options({ peakHalfLifeMs: 1e12 })).events), 0);
});

test('prematurity is 1 until MIN_HISTORY intervals are known; NaN values and repeated times are skipped', () => {
  const beats = regular(MIN_HISTORY + 2, 800);
  beats[beats.length - 1] -= 300;
  const x = signal(beats, beats[beats.length - 1] + 300);
  const tracker = new RhythmTracker(options());
  const readings: number[] = [];
  for (let i = 0; i < x.length; i++) {
    assert.equal(tracker.push(i * PERIOD_MS - 0.5, [Number.NaN]), false);
    if (tracker.push(i * PERIOD_MS, [x[i]])) readings.push(tracker.prematurity());
    assert.equal(tracker.push(i * PERIOD_MS, [x[i]]), false, 'a repeated time is no sample');
  }
  // The first beat is the warm-up (see track), the first event the noise before it.
  assert.equal(readings.length, beats.length);
  // After the k-th event (1-based) k - 2 intervals precede the latest one.
  readings.slice(0, -1).forEach((p, k) => assert.equal(p, 1, `event ${k + 1}`));
  assert.ok(Math.abs(readings[readings.length - 1] - 500 / 800) < 0.02);
});

test('restore: a tracker restarted from a snapshot continues exactly as one that never stopped', () => {
  const beats = regular(30, 750);
  beats[20] -= 250;
  const x = signal(beats, 24_000);
  const whole = new RhythmTracker(options());
  const first = new RhythmTracker(options());
  const cut = Math.round(x.length * 0.6) + 7;
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < x.length; i++) {
    whole.push(i * PERIOD_MS, [x[i]]);
    a.push(whole.prematurity());
  }
  for (let i = 0; i < cut; i++) {
    first.push(i * PERIOD_MS, [x[i]]);
    b.push(first.prematurity());
  }
  const second = new RhythmTracker(options());
  assert.equal(second.restore(first.snapshot()), true);
  for (let i = cut; i < x.length; i++) {
    second.push(i * PERIOD_MS, [x[i]]);
    b.push(second.prematurity());
  }
  assert.deepEqual(b, a);
  // Other ring sizes cannot take it: refused, the tracker unchanged (afresh).
  const other = new RhythmTracker(options({ historyEvents: 16 }));
  assert.equal(other.restore(first.snapshot()), false);
  assert.equal(other.prematurity(), 1);
});

test('a gap forgets the last event: the interval across it is no rhythm', () => {
  const x = signal(regular(10, 800), 8_500);
  const tracker = new RhythmTracker(options());
  for (let i = 0; i < x.length; i++) tracker.push(i * PERIOD_MS, [x[i]]);
  const before = tracker.prematurity();
  tracker.gap();
  // The same beats again, 60 s later: the first event after the gap makes no interval.
  const later = 60_000;
  let events = 0;
  for (let i = 0; i < x.length; i++) if (tracker.push(later + i * PERIOD_MS, [x[i]])) events++;
  assert.equal(events, 10, 'every beat after the gap (the gap re-arms the detector)');
  assert.ok(Math.abs(tracker.prematurity() - 1) < 0.01 && Math.abs(before - 1) < 0.01);
});

test('rhythmFactor: prematurity^-exponent; late events lowered or ignored', () => {
  assert.equal(rhythmFactor(0.5, { exponent: 2, late: 'lower' }), 4);
  assert.equal(rhythmFactor(2, { exponent: 2, late: 'lower' }), 0.25);
  assert.equal(rhythmFactor(2, { exponent: 2, late: 'ignore' }), 1);
  assert.equal(rhythmFactor(0.5, { exponent: 0, late: 'lower' }), 1);
  assert.equal(rhythmFactor(Number.NaN, { exponent: 3, late: 'lower' }), 1);
});

test('option checks: each bad setting named', () => {
  assert.deepEqual(rhythmOptionProblems(options(), 2), []);
  const bad = rhythmOptionProblems(options({ channel: 2, slopeSteps: 0, thresholdFraction: 1, peakHalfLifeMs: 0, refractoryMs: -1, historyEvents: 2 }), 2);
  assert.deepEqual(bad.map((p) => p.option).sort(), ['channel', 'historyEvents', 'peakHalfLifeMs', 'refractoryMs', 'slopeSteps', 'thresholdFraction']);
  const settings = { ...options(), channel: 'MLII', exponent: -1, late: 'early' as 'lower' };
  assert.deepEqual(rhythmSettingsProblems(settings, ['V1']).length, 3);
  assert.throws(() => new WindowBuffer({ id: 's', channels: ['a'] }, { size: 4, hop: 1, maxGapMs: 1000, minCompleteness: 0, rhythm: options({ channel: 1 }) }), /rhythm\.channel/);
});

test('WindowBuffer: each window carries the prematurity at its end; its snapshot carries the tracker', () => {
  const beats = regular(12, 800);
  beats[9] -= 300;
  const x = signal(beats, 10_000);
  const spec = { id: 'ecg', channels: ['lead', 'other'] };
  const opts = { size: 360, hop: 36, maxGapMs: 1000, minCompleteness: 0.9, rhythm: options() };
  const buffer = new WindowBuffer(spec, opts);
  const tracker = new RhythmTracker(options());
  const windows: Window[] = [];
  const expected: number[] = [];
  for (let i = 0; i < x.length; i++) {
    tracker.push(i * PERIOD_MS, [x[i], 0]);
    for (const e of buffer.push({ ts: i * PERIOD_MS, values: [x[i], 0] })) {
      if (e.kind !== 'window') continue;
      windows.push(e.window);
      expected.push(tracker.prematurity());
    }
  }
  assert.deepEqual(windows.map((w) => w.prematurity), expected);
  assert.ok(Math.min(...expected) < 0.7, 'the premature beat shows in some window');
  const restored = new WindowBuffer(spec, opts);
  restored.restore(buffer.snapshot());
  assert.deepEqual(restored.snapshot().rhythm, buffer.snapshot().rhythm);
  assert.equal(new WindowBuffer(spec, { size: 360, hop: 36, maxGapMs: 1000, minCompleteness: 0.9 }).snapshot().rhythm, undefined);
});

test('restore: a state of a tracker with other options is refused even with the same ring sizes; one that records none is taken', () => {
  const x = signal(regular(12, 800), 10_000);
  const first = new RhythmTracker(options());
  for (let i = 0; i < x.length; i++) first.push(i * PERIOD_MS, [x[i]]);
  const state = first.snapshot();
  assert.equal(new RhythmTracker(options({ thresholdFraction: 0.3 })).restore(state), false, 'other events: not its history');
  assert.equal(new RhythmTracker(options({ channel: 1 })).restore(state), false);
  assert.equal(new RhythmTracker(options()).restore(state), true);
  // A state saved before the options were recorded (its running values only): judged by its ring sizes, as then.
  const old = { ...state, scalars: state.scalars.slice(0, 11) };
  const taken = new RhythmTracker(options());
  assert.equal(taken.restore(old), true);
  assert.equal(taken.prematurity(), first.prematurity());
});

test('sameRhythmOptions: every option counts; none equals none only', () => {
  assert.equal(sameRhythmOptions(options(), options()), true);
  assert.equal(sameRhythmOptions(options(), options({ refractoryMs: 301 })), false);
  assert.equal(sameRhythmOptions(undefined, undefined), true);
  assert.equal(sameRhythmOptions(options(), undefined), false);
});

test('WindowBuffer.setRhythm: the samples stay and the next window is due as before; another tracker starts afresh, the same one goes on', () => {
  const beats = regular(40, 800);
  beats[30] -= 300;
  const x = signal(beats, 33_000);
  const spec = { id: 'ecg', channels: ['lead', 'other'] };
  const opts = { size: 360, hop: 36, maxGapMs: 1000, minCompleteness: 0.9, rhythm: options() };
  const buffer = new WindowBuffer(spec, opts);
  const push = (from: number, to: number): Window[] => {
    const out: Window[] = [];
    for (let i = from; i < to; i++) for (const e of buffer.push({ ts: i * PERIOD_MS, values: [x[i], 0] })) if (e.kind === 'window') out.push(e.window);
    return out;
  };
  // Windows end at samples 359 + 36k; stop one sample short of the one ending at 3959.
  push(0, 3959);
  assert.equal(buffer.setRhythm(options()), false, 'the same options: kept');
  const other = options({ historyEvents: 12 });
  assert.throws(() => buffer.setRhythm(options({ channel: 2 })), /rhythm options for stream 'ecg': channel/);
  assert.deepEqual(buffer.rhythmOptions, options(), 'a refused change leaves the tracker');
  assert.equal(buffer.setRhythm(other), true);
  const next = push(3959, 3960);
  assert.equal(next.length, 1, 'the window is complete at once');
  assert.equal(next[0].prematurity, 1, 'the new tracker has no history yet');
  const fresh = new RhythmTracker(other);
  const expected: number[] = [];
  const later: Window[] = [];
  fresh.push(3959 * PERIOD_MS, [x[3959], 0]);
  for (let i = 3960; i < x.length; i++) {
    fresh.push(i * PERIOD_MS, [x[i], 0]);
    for (const w of push(i, i + 1)) {
      later.push(w);
      expected.push(fresh.prematurity());
    }
  }
  assert.deepEqual(later.map((w) => w.prematurity), expected);
  assert.ok(Math.min(...expected) < 0.75, 'the new tracker finds the premature beat');
  assert.equal(buffer.setRhythm(undefined), true);
  assert.equal(buffer.snapshot().rhythm, undefined);
});
