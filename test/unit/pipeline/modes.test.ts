import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { ManualClock } from '../../../src/core/clock';
import type { EventPoint, Sink } from '../../../src/core/sink';
import { StallDetector } from '../../../src/core/stall';
import type { Sample } from '../../../src/core/types';
import type { Detector } from '../../../src/model/detector';
import { Pipeline, type AlertTracker, type ModeBinding, type StreamBinding } from '../../../src/pipeline/pipeline';
import { CaptureSink } from '../../../src/sinks/capture';
import type { StreamSamples } from '../../../src/sources/source';
import { testContext } from '../../helpers/context';
import { notice as alertNotice } from '../../helpers/notices';
import { sineWindows } from '../../helpers/synthetic';
import { trainTinyDetector } from '../../helpers/tinyDetector';

const SIZE = 16;
const HOP = 4;
let detector: Detector;

before(async () => {
  const trained = await trainTinyDetector(sineWindows(150, SIZE, 2, 1), {
    name: 'pipe',
    stream: { id: 's', channels: ['a', 'b'] },
    window: { size: SIZE, hop: HOP, maxGapMs: 5000, minCompleteness: 0.9 },
    train: { epochs: 5 },
  });
  detector = trained.detector;
});

class Tracker implements AlertTracker {
  readonly times: number[] = [];
  observe(w: { time: number }): readonly AlertNotice[] {
    this.times.push(w.time);
    return [];
  }
  observeInsufficient(): readonly AlertNotice[] {
    return [];
  }
}

/** Samples at 1 s; `a` sets the level (the mode conditions read it). */
function samples(n: number, t0: number, level: number): StreamSamples {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const t = t0 + i;
    out.push({ ts: t * 1000, values: [level + Math.sin((2 * Math.PI * t) / 16), 10 + Math.sin((2 * Math.PI * t) / 16 + 1)] });
  }
  return { stream: 'l1/p1', subscription: 0, labels: {}, samples: out };
}

function setup(modes: (stopped: (now: number) => readonly AlertNotice[]) => ModeBinding, clock = new ManualClock(0)) {
  const t = testContext('pipeline', clock);
  const sink = new CaptureSink();
  const events: EventPoint[] = [];
  const eventSink: Sink = { name: 'events', start: () => Promise.resolve(), flush: () => Promise.resolve(), stop: () => Promise.resolve(), stats: () => ({ buffered: 0, spooledBytes: 0 }), writeEvent: (p) => void events.push(p) };
  const tracker = new Tracker();
  const stopped: number[] = [];
  const stall = new StallDetector({ stream: 'l1/p1', model: 'pump', labels: {}, silenceMs: 10_000, nextSequence: () => 1 }, 0);
  const firing = alertNotice({ fingerprint: 'f', stream: 'l1/p1', severity: 'warning', startsAt: 0, score: 1, threshold: 1, pValue: 0.001, topChannels: [], sequence: 1 });
  const modeBinding = modes((now) => {
    stopped.push(now);
    return [{ ...firing, status: 'resolved', endsAt: now, reason: 'machine stopped' }];
  });
  const pipeline = new Pipeline({
    ctx: t.ctx,
    options: { queueCapacity: 1000, whenFull: 'block', maxBatch: 64, maxWaitMs: 5, maxStreams: 10 },
    bind: (batch): StreamBinding => ({
      spec: { id: batch.stream, channels: ['a', 'b'] },
      model: 'pump',
      window: { size: SIZE, hop: HOP, maxGapMs: 5000, minCompleteness: 0.9 },
      labels: {},
      alerts: tracker,
      stall,
      modes: modeBinding,
    }),
    detectorFor: (m) => (m === 'pump' || m === 'pump_high' ? detector : undefined),
    sinks: [sink, eventSink],
  });
  return { pipeline, sink, events, tracker, stopped, stall, t, clock };
}

function whenModes(classify: (v: ArrayLike<number>) => string, models: Record<string, string> = {}, hold = 3) {
  return (stopped: (now: number) => readonly AlertNotice[]): ModeBinding => ({
    source: 'when',
    holdSamples: hold,
    classify,
    modelOf: (mode) => models[mode] ?? 'pump',
    filterOf: () => undefined,
    stopped,
    filters: () => new Map(),
    initial: null,
    changed: () => undefined,
  });
}

test('modes from conditions: each mode scores with its own model and no window spans a change', async () => {
  const { pipeline, sink, events, t } = setup(whenModes((v) => ((v[0]) > 50 ? 'high' : 'normal'), { high: 'pump_high' }));
  await pipeline.deliver(samples(40, 0, 10));
  await pipeline.deliver(samples(40, 40, 100));
  await pipeline.deliver(samples(40, 80, 10));
  pipeline.drain();
  const byModel = (m: string) => sink.scores.filter((s) => s.model === m);
  assert.ok(byModel('pump_high').length > 0 && byModel('pump').length > 0);
  // With hold 3 the change applies at the third sample of the new level (t = 42 s, then 82 s).
  for (const s of byModel('pump_high')) assert.ok((s.windowStart ?? 0) >= 42_000 && s.time < 82_000, `high window ${s.windowStart}..${s.time}`);
  for (const s of byModel('pump')) assert.ok(s.time < 42_000 || (s.windowStart ?? 0) >= 82_000, `normal window ${s.windowStart}..${s.time}`);
  assert.deepEqual(
    events.map((e) => [e.kind, e.time, e.tags['stream'], e.fields['mode'], e.fields['previous']]),
    [
      ['mode', 0, 'l1/p1', 'normal', undefined],
      ['mode', 42_000, 'l1/p1', 'high', 'normal'],
      ['mode', 82_000, 'l1/p1', 'normal', 'high'],
    ],
  );
  assert.equal(t.calls('modeChanged').length, 3);
  assert.deepEqual(pipeline.streamModes(), [{ stream: 'l1/p1', mode: 'normal' }]);
  assert.equal(pipeline.streamFill()[0]?.mode, 'normal');
});

test('a value hovering at the boundary changes nothing (hysteresis)', async () => {
  let i = 0;
  const { pipeline, events } = setup(whenModes(() => (i++ % 2 === 0 ? 'normal' : 'high')));
  await pipeline.deliver(samples(60, 0, 10));
  pipeline.drain();
  assert.equal(events.length, 1, 'only the initial mode');
});

test('off: nothing is scored and the stall waits; firing alerts resolve once; back on, scoring and the stall clock resume', async () => {
  const clock = new ManualClock(0);
  const { pipeline, sink, tracker, stopped, stall } = setup(whenModes((v) => ((v[0]) < 1 ? 'off' : 'normal')), clock);
  await pipeline.deliver(samples(40, 0, 10));
  pipeline.drain();
  const before = sink.scores.length;
  assert.ok(before > 0);
  await pipeline.deliver(samples(60, 40, -100));
  pipeline.drain();
  assert.equal(sink.scores.length, before, 'nothing scored while off');
  assert.deepEqual(stopped, [42_000], 'stopped once, at the change');
  assert.equal(sink.alerts.filter((a) => a.status === 'resolved' && a.reason === 'machine stopped').length, 1);
  // Silence far past the stall time while off: no stall.
  clock.set(1_000_000);
  pipeline.checkStalls(1_000_000);
  assert.equal(stall.stalled, false);
  // Back on: the clock starts again from now, and windows are scored again after a full fresh window.
  await pipeline.deliver(samples(40, 100, 10));
  pipeline.drain();
  assert.ok(sink.scores.length > before);
  assert.ok(sink.scores.slice(before).every((s) => (s.windowStart ?? 0) >= 102_000));
  assert.ok(tracker.times.every((t, k) => k === 0 || t > (tracker.times[k - 1])), 'the tracker sees windows in time order');
  pipeline.checkStalls(1_005_000);
  assert.equal(stall.stalled, false, 'the stall clock restarted when the mode left off');
  pipeline.checkStalls(1_011_000);
  assert.equal(stall.stalled, true, 'and fires after the stall time with no samples');
});

test('mode messages: setMode before the stream binds applies at its binding; off stops scoring; unknown streams are bounded', async () => {
  const modes = (stopped: (now: number) => readonly AlertNotice[]): ModeBinding => ({
    source: 'topic',
    holdSamples: 1,
    modelOf: (mode) => (mode === 'high' ? 'pump_high' : 'pump'),
    filterOf: () => undefined,
    stopped,
    filters: () => new Map(),
    initial: null,
    changed: (mode) => void saved.push(mode),
  });
  const saved: string[] = [];
  const { pipeline, sink, events, stopped } = setup(modes);
  pipeline.setMode('l1/p1', 'high', 5);
  await pipeline.deliver(samples(40, 0, 10));
  pipeline.drain();
  assert.ok(sink.scores.length > 0 && sink.scores.every((s) => s.model === 'pump_high'));
  assert.deepEqual(events.map((e) => e.fields['mode']), ['high']);
  const n = sink.scores.length;
  pipeline.setMode('l1/p1', 'off', 50_000);
  await pipeline.deliver(samples(40, 40, 10));
  pipeline.drain();
  assert.equal(sink.scores.length, n);
  assert.deepEqual(stopped, [50_000]);
  pipeline.setMode('l1/p1', 'normal', 90_000);
  await pipeline.deliver(samples(40, 80, 10));
  pipeline.drain();
  assert.ok(sink.scores.length > n && sink.scores.slice(n).every((s) => s.model === 'pump'));
  assert.deepEqual(saved, ['high', 'off', 'normal'], 'each change is handed to the binding (the state file keeps it)');
  for (let i = 0; i < 100; i++) pipeline.setMode(`ghost${i}`, 'off', 0);
  assert.ok((pipeline as unknown as { pendingModes: Map<string, unknown> }).pendingModes.size <= 10, 'pending modes are bounded by maxStreams');
});

test('a stream that was off when the daemon stopped starts off: nothing scored, no stall, until its mode says it runs', async () => {
  const clock = new ManualClock(0);
  const modes = (stopped: (now: number) => readonly AlertNotice[]): ModeBinding => ({
    source: 'topic',
    holdSamples: 1,
    modelOf: () => 'pump',
    filterOf: () => undefined,
    stopped,
    filters: () => new Map(),
    initial: 'off',
    changed: () => undefined,
  });
  const { pipeline, sink, stall, stopped, events } = setup(modes, clock);
  await pipeline.deliver(samples(40, 0, 10));
  pipeline.drain();
  assert.equal(sink.scores.length, 0);
  pipeline.checkStalls(1_000_000);
  assert.equal(stall.stalled, false);
  assert.deepEqual(pipeline.streamModes(), [{ stream: 'l1/p1', mode: 'off' }]);
  assert.deepEqual([stopped, events], [[], []], 'restored, not changed: no resolve, no mode point');
  clock.set(1_000_000);
  pipeline.setMode('l1/p1', 'normal', 1_000_000);
  await pipeline.deliver(samples(40, 40, 10));
  pipeline.drain();
  assert.ok(sink.scores.length > 0);
});

test('a config reload gives a kept stream its new modes (conditions and models) in the mode it is in', async () => {
  const { pipeline, sink } = setup(whenModes((v) => (v[0] > 50 ? 'high' : 'normal')));
  await pipeline.deliver(samples(40, 0, 100));
  pipeline.drain();
  assert.ok(sink.scores.length > 0 && sink.scores.every((s) => s.model === 'pump'));
  const n = sink.scores.length;
  const counts = pipeline.rebind((old) => ({ ...old, modes: whenModes((v) => (v[0] > 50 ? 'high' : 'normal'), { high: 'pump_high' })(() => []) }));
  assert.deepEqual(counts, { kept: 1, restarted: 0, removed: 0 });
  assert.deepEqual(pipeline.streamModes(), [{ stream: 'l1/p1', mode: 'high' }], 'still high');
  await pipeline.deliver(samples(40, 40, 100));
  pipeline.drain();
  assert.ok(sink.scores.length > n && sink.scores.slice(n).every((s) => s.model === 'pump_high'), 'the new model of the mode scores it');
});
