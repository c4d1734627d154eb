// A stream's window buffer tracks the rhythm of the model in charge of its windows: a mode's own model with other
// rhythm settings (or none) gets windows carrying its own tracker's prematurity, never the stream's other model's;
// a reload or a new model version that changes only the rhythm keeps the window's samples and starts only the
// tracker afresh, so the next sample still completes a window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { ManualClock } from '../../../src/core/clock';
import { RhythmTracker, rhythmTrackerOptions, type RhythmSettings } from '../../../src/core/rhythm';
import type { ScoringModel } from '../../../src/core/scoringModel';
import type { EventPoint, Sink } from '../../../src/core/sink';
import type { Sample, Window } from '../../../src/core/types';
import type { WindowOptions } from '../../../src/core/window';
import { Pipeline, type AlertTracker, type ModeBinding, type StreamBinding, type WindowLearner } from '../../../src/pipeline/pipeline';
import type { StreamSamples } from '../../../src/sources/source';
import { testContext } from '../../helpers/context';

const CHANNELS = ['a', 'b'];
const PERIOD_MS = 100;
const WINDOW: WindowOptions = { size: 16, hop: 4, maxGapMs: 5000, minCompleteness: 0.9 };
const STREAM = 'l1/p1';

/** Two trackers that find the same spikes but judge them against histories of different lengths. */
const SHORT: RhythmSettings = { channel: 'a', slopeSteps: 1, smoothingSteps: 1, thresholdFraction: 0.5, peakHalfLifeMs: 5000, refractoryMs: 300, historyEvents: 4, exponent: 3, late: 'lower' };
const LONG: RhythmSettings = { ...SHORT, historyEvents: 9 };

/** A model that records the windows it scores (their prematurity is what this is about). */
class RecordingModel implements ScoringModel {
  readonly windows: Window[] = [];
  readonly dir: string;
  readonly manifest: ScoringModel['manifest'];

  constructor(name: string, rhythm?: RhythmSettings) {
    this.dir = `/models/${name}`;
    this.manifest = { architecture: { inputSize: WINDOW.size * 2 }, window: { size: WINDOW.size }, channels: CHANNELS, calibration: null, ...(rhythm ? { rhythm } : {}) };
  }

  score(windows: readonly Window[]) {
    this.windows.push(...windows);
    return windows.map((w) => ({ stream: w.stream, start: w.start, end: w.end, score: 0, threshold: 1, pValue: 1, anomalous: false, completeness: w.completeness, channelShares: new Float32Array(2) }));
  }

  readings() {
    return { of: () => undefined };
  }
}

const quiet: AlertTracker = { observe: (): readonly AlertNotice[] => [], observeInsufficient: (): readonly AlertNotice[] => [] };

/**
 * `n` samples from index `from`, 100 ms apart: channel a holds `level` with a one-sample spike at each beat, the
 * beats 0.8 s to 1.4 s apart, lengthening and then starting short again, so prematurity moves and the medians of
 * a short and a long history differ.
 */
function samples(from: number, n: number, level: (i: number) => number = () => 10): Sample[] {
  const beats = new Set<number>();
  for (let k = 0, t = 5; t < from + n + 20; k++) {
    beats.add(t);
    t += 8 + (k % 7);
  }
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return { ts: i * PERIOD_MS, values: [level(i) + (beats.has(i) ? 5 : 0), 1 + 0.1 * Math.sin(i)] };
  });
}

const batch = (s: Sample[]): StreamSamples => ({ stream: STREAM, subscription: 0, labels: {}, samples: s });

/** The prematurity a fresh tracker of `r` reads at each sample time, fed `s` from its first sample. */
function reference(r: RhythmSettings, s: readonly Sample[]): Map<number, number> {
  const tracker = new RhythmTracker(rhythmTrackerOptions(r, CHANNELS));
  const out = new Map<number, number>();
  for (const x of s) {
    tracker.push(x.ts, x.values);
    out.set(x.ts, tracker.prematurity());
  }
  return out;
}

function pipelineWith(binding: () => StreamBinding, models: Map<string, ScoringModel>, learner?: WindowLearner) {
  const t = testContext('pipeline', new ManualClock(0));
  const events: EventPoint[] = [];
  const eventSink: Sink = { name: 'events', start: () => Promise.resolve(), flush: () => Promise.resolve(), stop: () => Promise.resolve(), stats: () => ({ buffered: 0, spooledBytes: 0 }), writeEvent: (p) => void events.push(p) };
  const pipeline = new Pipeline({
    ctx: t.ctx,
    options: { queueCapacity: 1000, whenFull: 'block', maxBatch: 64, maxWaitMs: 5, maxStreams: 10 },
    bind: binding,
    detectorFor: (m) => models.get(m),
    ...(learner ? { learner } : {}),
    sinks: [eventSink],
  });
  return { pipeline, events };
}

/** Modes by channel a's level: above 50 `high`, scored by `pump_high`; else `normal`, by the stream's `pump`. */
function highModes(): ModeBinding {
  return {
    source: 'when',
    holdSamples: 3,
    classify: (v) => (v[0] > 50 ? 'high' : 'normal'),
    modelOf: (mode) => (mode === 'high' ? 'pump_high' : 'pump'),
    filterOf: () => undefined,
    stopped: () => [],
    filters: () => new Map(),
    initial: null,
    changed: () => undefined,
  };
}

/**
 * Normal, high, normal again; each window checked against a tracker of its own model's settings started where
 * that model took over (the mode change; the stream's first sample).
 */
async function switchDutyPoints(base: RhythmSettings | undefined, high: RhythmSettings | undefined): Promise<{ pump: RecordingModel; pumpHigh: RecordingModel; expected: (m: RecordingModel, r: RhythmSettings | undefined) => (number | undefined)[] }> {
  const pump = new RecordingModel('pump', base);
  const pumpHigh = new RecordingModel('pump_high', high);
  const models = new Map<string, ScoringModel>([['pump', pump], ['pump_high', pumpHigh]]);
  // The stream's own window tracks the stream model's rhythm, as a model-bound binding does (app/modelShape.ts).
  const window: WindowOptions = base ? { ...WINDOW, rhythm: rhythmTrackerOptions(base, CHANNELS) } : WINDOW;
  const { pipeline, events } = pipelineWith(() => ({ spec: { id: STREAM, channels: CHANNELS }, model: 'pump', window, labels: {}, alerts: quiet, modes: highModes() }), models);
  const all = samples(0, 600, (i) => (i >= 200 && i < 400 ? 100 : 10));
  for (let i = 0; i < all.length; i += 50) await pipeline.deliver(batch(all.slice(i, i + 50)));
  pipeline.drain();
  const changes = events.filter((e) => e.kind === 'mode').map((e) => e.time);
  assert.deepEqual(changes, [0, 202 * PERIOD_MS, 402 * PERIOD_MS], 'normal, then high and normal again at the third sample of each level');
  const expected = (m: RecordingModel, r: RhythmSettings | undefined): (number | undefined)[] =>
    m.windows.map((w) => {
      if (!r) return undefined;
      const since = Math.max(...changes.filter((c) => c <= w.start));
      return reference(r, all.filter((s) => s.ts >= since)).get(w.end);
    });
  return { pump, pumpHigh, expected };
}

test("modes: a mode's model with another rhythm scores windows of its own tracker, the stream's model of its own", async () => {
  const { pump, pumpHigh, expected } = await switchDutyPoints(SHORT, LONG);
  assert.ok(pump.windows.length > 40 && pumpHigh.windows.length > 40);
  assert.deepEqual(pumpHigh.windows.map((w) => w.prematurity), expected(pumpHigh, LONG));
  assert.deepEqual(pump.windows.map((w) => w.prematurity), expected(pump, SHORT));
  // The two trackers do read differently here: the stream's tracker would have given the high model other values.
  assert.notDeepEqual(expected(pumpHigh, LONG), expected(pumpHigh, SHORT));
  assert.ok(pumpHigh.windows.some((w) => (w.prematurity ?? 1) < 0.8), 'the early beats show');
});

test("modes: a mode's model with a rhythm gets it on a stream whose own model has none, and one without gets none", async () => {
  const joined = await switchDutyPoints(undefined, LONG);
  assert.deepEqual(joined.pumpHigh.windows.map((w) => w.prematurity), joined.expected(joined.pumpHigh, LONG));
  assert.ok(joined.pump.windows.every((w) => w.prematurity === undefined));
  const plain = await switchDutyPoints(SHORT, undefined);
  assert.ok(plain.pumpHigh.windows.length > 40 && plain.pumpHigh.windows.every((w) => w.prematurity === undefined));
  assert.deepEqual(plain.pump.windows.map((w) => w.prematurity), plain.expected(plain.pump, SHORT));
});

test('reload: a rhythm-only change keeps the window, the next sample completes one, and the new tracker starts afresh', async () => {
  const offered: Window[] = [];
  const learner: WindowLearner = { offer: (_b, w) => void offered.push(w) };
  let rhythm = SHORT;
  // A stream still learning its model (none loaded): its window tracks the configured rhythm.
  const binding = (): StreamBinding => ({ spec: { id: STREAM, channels: CHANNELS }, model: 'auto:l1/p1', window: { ...WINDOW, rhythm: rhythmTrackerOptions(rhythm, CHANNELS) }, labels: {}, alerts: quiet });
  const { pipeline } = pipelineWith(binding, new Map(), learner);
  // Windows end at samples 15, 19, ..., 99: one more sample completes the next.
  await pipeline.deliver(batch(samples(0, 99)));
  const before = offered.length;
  rhythm = LONG;
  assert.deepEqual(pipeline.rebind(() => binding()), { kept: 1, restarted: 0, removed: 0 });
  const after = samples(99, 200);
  await pipeline.deliver(batch(after.slice(0, 1)));
  assert.equal(offered.length, before + 1, 'the first sample after the reload completes a window');
  assert.equal(offered[before]?.end, 99 * PERIOD_MS);
  assert.equal(offered[before]?.prematurity, 1, 'the new tracker has no history yet');
  await pipeline.deliver(batch(after.slice(1)));
  const ref = reference(LONG, after);
  assert.deepEqual(offered.slice(before).map((w) => w.prematurity), offered.slice(before).map((w) => ref.get(w.end)));

  // Other window settings still start a new window.
  assert.deepEqual(pipeline.rebind((old) => ({ ...old, window: { ...old.window, hop: 8 } })), { kept: 0, restarted: 1, removed: 0 });
  const n = offered.length;
  await pipeline.deliver(batch(samples(299, 15)));
  assert.equal(offered.length, n, 'no window before a new one is full');
});

test('a new version of the model with another rhythm: the stream keeps its window, the tracker follows the model', async () => {
  const v1 = new RecordingModel('pump', SHORT);
  const models = new Map<string, ScoringModel>([['pump', v1]]);
  const { pipeline } = pipelineWith(() => ({ spec: { id: STREAM, channels: CHANNELS }, model: 'pump', window: { ...WINDOW, rhythm: rhythmTrackerOptions(SHORT, CHANNELS) }, labels: {}, alerts: quiet }), models);
  await pipeline.deliver(batch(samples(0, 99)));
  pipeline.drain();
  const v2 = new RecordingModel('pump', LONG);
  models.set('pump', v2);
  pipeline.modelReady('pump', v2);
  const after = samples(99, 200);
  await pipeline.deliver(batch(after.slice(0, 1)));
  pipeline.drain();
  assert.equal(v2.windows[0]?.end, 99 * PERIOD_MS, 'the next sample completes a window, scored by the new version');
  await pipeline.deliver(batch(after.slice(1)));
  pipeline.drain();
  const ref = reference(LONG, after);
  assert.deepEqual(v2.windows.map((w) => w.prematurity), v2.windows.map((w) => ref.get(w.end)));
  // The same settings again (a version that only recalibrated): the tracker and its history stay.
  const v3 = new RecordingModel('pump', { ...LONG, exponent: 2 });
  models.set('pump', v3);
  pipeline.modelReady('pump', v3);
  const more = samples(299, 100);
  await pipeline.deliver(batch(more));
  pipeline.drain();
  const continued = reference(LONG, [...after, ...more]);
  assert.deepEqual(v3.windows.map((w) => w.prematurity), v3.windows.map((w) => continued.get(w.end)));
});
