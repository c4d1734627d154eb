import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { AlertStateMachine } from '../../../src/core/alerting';
import { ManualClock } from '../../../src/core/clock';
import type { Sample } from '../../../src/core/types';
import type { Detector } from '../../../src/model/detector';
import { Pipeline, type AlertTracker, type PipelineOptions, type StreamBinding } from '../../../src/pipeline/pipeline';
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
    train: { epochs: 10 },
  });
  detector = trained.detector;
});

/** Counts what the pipeline hands the alert tracker; fires a fake notice on every anomalous window. */
class CountingTracker implements AlertTracker {
  observed = 0;
  insufficient = 0;
  /** Window end times in the order the tracker saw them. */
  readonly times: number[] = [];
  constructor(private readonly stream: string) {}
  observe(w: { time: number; anomalous: boolean; score: number; threshold: number; pValue: number }): readonly AlertNotice[] {
    this.observed++;
    this.times.push(w.time);
    return w.anomalous ? [notice(this.stream, w.time, w.score, w.threshold)] : [];
  }
  observeInsufficient(w: { time: number }): readonly AlertNotice[] {
    this.insufficient++;
    this.times.push(w.time);
    return [];
  }
}

function notice(stream: string, time: number, score: number, threshold: number): AlertNotice {
  return alertNotice({ fingerprint: stream, stream, severity: 'warning', startsAt: time, score, threshold, pValue: 0.001, topChannels: [], sequence: 1 });
}

function samples(stream: string, n: number, t0 = 0, fault = 0): StreamSamples {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const t = t0 + i;
    out.push({ ts: t * 1000, values: [10 + 3 * Math.sin((2 * Math.PI * t) / 16) + fault, 10 + 3 * Math.sin((2 * Math.PI * t) / 16 + 1)] });
  }
  return { stream, subscription: 0, labels: {}, samples: out };
}

function setup(options: Partial<PipelineOptions> = {}, known = (id: string) => id.startsWith('line'), maxLatenessMs = 0) {
  const t = testContext('pipeline', new ManualClock(0));
  const sink = new CaptureSink();
  const trackers = new Map<string, CountingTracker>();
  let scoreCalls = 0;
  const counting = new Proxy(detector, {
    get(target, prop, receiver) {
      if (prop === 'score') {
        return (w: Parameters<Detector['score']>[0]) => {
          scoreCalls++;
          return target.score(w);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const pipeline = new Pipeline({
    ctx: t.ctx,
    options: { queueCapacity: 1000, whenFull: 'block', maxBatch: 64, maxWaitMs: 5, maxStreams: 100, ...options },
    bind: (batch) => {
      if (!known(batch.stream)) return { refused: `no subscription produces '${batch.stream}'` };
      const tracker = new CountingTracker(batch.stream);
      trackers.set(batch.stream, tracker);
      const binding: StreamBinding = { spec: { id: batch.stream, channels: ['a', 'b'] }, model: 'pump', window: { size: SIZE, hop: HOP, maxGapMs: 5000, minCompleteness: 0.9 }, maxLatenessMs, labels: {}, alerts: tracker };
      return binding;
    },
    detectorFor: (m) => (m === 'pump' ? counting : undefined),
    sinks: [sink],
  });
  return { pipeline, sink, trackers, t, scoreCalls: () => scoreCalls };
}

test('windows of many streams are micro-batched into few scorer calls; every window reaches the sink and the tracker', async () => {
  const { pipeline, sink, trackers, scoreCalls } = setup();
  for (let s = 0; s < 10; s++) await pipeline.deliver(samples(`line1/pump${s}`, 40));
  pipeline.drain();
  const perStream = (40 - SIZE) / HOP + 1;
  assert.equal(sink.scores.length, 10 * perStream);
  assert.ok(scoreCalls() <= Math.ceil((10 * perStream) / 64) + 1, `${scoreCalls()} scorer calls for ${10 * perStream} windows`);
  for (const tr of trackers.values()) assert.equal(tr.observed, perStream);
  const p = sink.scores[0];
  assert.deepEqual(Object.keys(p.channelShares), ['a', 'b']);
  assert.equal(p.time % 1000, 0, 'point time is the window end');
});

test('a fault produces anomalous windows and alert notices through to the sink', async () => {
  const { pipeline, sink, t } = setup();
  await pipeline.deliver(samples('line1/pump1', 40));
  await pipeline.deliver(samples('line1/pump1', 40, 40, 8));
  pipeline.drain();
  assert.ok(sink.alerts.length > 0, 'alerts emitted');
  assert.ok(sink.alerts.every((a) => a.stream === 'line1/pump1' && a.startsAt >= 40_000), 'alerts only after the fault starts');
  assert.equal(t.calls('alertNotice').length, sink.alerts.length);
  assert.ok(t.calls('windowScored').some(([, , , , anomalous]) => anomalous));
});

test('unknown streams and the stream limit are rejected and counted, not crashed on', async () => {
  const { pipeline, t } = setup({ maxStreams: 2 });
  await pipeline.deliver(samples('elsewhere/x', 5));
  await pipeline.deliver(samples('line1/a', 5));
  await pipeline.deliver(samples('line1/b', 5));
  await pipeline.deliver(samples('line1/c', 5));
  const reasons = t.calls('messageRejected').map(([reason]) => reason);
  assert.deepEqual(reasons, ['unknown_stream', 'stream_limit']);
  assert.equal(pipeline.streamCount, 2);
});

test('block policy: delivery waits while the queue is full, then completes once scoring frees space', async () => {
  const { pipeline, sink } = setup({ queueCapacity: 4, maxBatch: 2, maxWaitMs: 1000 });
  let done = false;
  const r = pipeline.deliver(samples('line1/p', SIZE + 9 * HOP));
  assert.ok(r instanceof Promise, 'a full queue makes delivery wait');
  const p = r.then(() => (done = true));
  assert.equal(done, false);
  await p;
  assert.ok(done);
  pipeline.drain();
  assert.equal(sink.scores.length, 10, 'nothing lost under backpressure');
});

test('drop policy: windows beyond the queue are dropped and counted', async () => {
  const { pipeline, sink, t } = setup({ queueCapacity: 3, whenFull: 'drop', maxBatch: 64, maxWaitMs: 10_000 });
  await pipeline.deliver(samples('line1/p', SIZE + 9 * HOP));
  pipeline.drain();
  assert.equal(sink.scores.length, 3);
  const dropped = t.calls('queueDropped').reduce((n, [, c]) => n + c, 0);
  assert.equal(dropped, 7);
  assert.deepEqual(pipeline.queueDrops(), [{ queue: 'windows:pump', dropped: 7 }]);
});

test('out-of-order samples are counted as rejected; insufficient windows go to the tracker, not the scorer', async () => {
  const { pipeline, sink, trackers, t } = setup();
  const batch = samples('line1/q', 20);
  const shuffled = { ...batch, samples: [...batch.samples.slice(0, 10), batch.samples[3], ...batch.samples.slice(10)] };
  await pipeline.deliver(shuffled);
  assert.ok(t.calls('messageRejected').some(([r]) => r === 'out_of_order'));
  const gappy = samples('line1/r', 20);
  const holes = { ...gappy, samples: gappy.samples.map((s, i) => (i % 2 ? { ts: s.ts, values: [NaN, NaN] } : s)) };
  await pipeline.deliver(holes);
  pipeline.drain();
  assert.ok((trackers.get('line1/r')?.insufficient ?? 0) > 0);
  assert.ok(sink.scores.every((p) => p.stream !== 'line1/r'));
});

test('the tracker sees the windows of a stream in time order: an insufficient window waits for the complete ones queued before it', async () => {
  // Complete windows wait in the lane for their batch (max wait 10 s) while an insufficient one is known at once.
  const { pipeline, trackers } = setup({ maxWaitMs: 10_000, maxBatch: 1000 });
  const batch = samples('line1/o', 80);
  const gap = { ...batch, samples: batch.samples.map((s, i) => (i >= 40 && i < 44 ? { ts: s.ts, values: [NaN, NaN] } : s)) };
  await pipeline.deliver(gap);
  pipeline.drain();
  const tracker = trackers.get('line1/o');
  assert.ok(tracker && tracker.insufficient > 0 && tracker.observed > 0, 'both kinds seen');
  assert.deepEqual(tracker.times, [...tracker.times].sort((a, b) => a - b), `in time order: ${tracker.times.join(' ')}`);
  assert.equal(tracker.times.length, (80 - SIZE) / HOP + 1, 'every window once');
});

test('a batch that fails to score releases the insufficient windows that waited for it', async () => {
  const t = testContext('pipeline', new ManualClock(0));
  const tracker = new CountingTracker('line1/f');
  const failing = new Proxy(detector, {
    get(target, prop, receiver) {
      if (prop === 'score') return () => { throw new Error('engine gone'); };
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const pipeline = new Pipeline({
    ctx: t.ctx,
    options: { queueCapacity: 1000, whenFull: 'block', maxBatch: 1000, maxWaitMs: 10_000, maxStreams: 10 },
    bind: (b) => ({ spec: { id: b.stream, channels: ['a', 'b'] }, model: 'pump', window: { size: SIZE, hop: HOP, maxGapMs: 5000, minCompleteness: 0.9 }, labels: {}, alerts: tracker }),
    detectorFor: () => failing,
    sinks: [],
  });
  const batch = samples('line1/f', 40);
  await pipeline.deliver({ ...batch, samples: batch.samples.map((s, i) => (i >= 24 && i < 28 ? { ts: s.ts, values: [NaN, NaN] } : s)) });
  assert.equal(tracker.insufficient, 0, 'held while the windows before it are queued');
  pipeline.drain();
  assert.ok(tracker.insufficient > 0, 'released when their batch failed');
  assert.equal(tracker.observed, 0);
  assert.ok(t.calls('scoringFailed').length > 0);
});

test('within the configured lateness, shuffled and duplicated samples give the same scores as ordered ones', async () => {
  const ordered = setup();
  await ordered.pipeline.deliver(samples('line1/o', 60));
  ordered.pipeline.drain();
  const late = setup({}, undefined, 3000);
  const all = samples('line1/o', 60);
  const shuffled = [...all.samples];
  for (let i = 0; i + 2 < shuffled.length; i += 3) [shuffled[i], shuffled[i + 2]] = [shuffled[i + 2], shuffled[i]];
  await late.pipeline.deliver({ ...all, samples: [...shuffled, all.samples[58], all.samples[59]] });
  late.pipeline.drain();
  assert.deepEqual(late.sink.scores.map((p) => [p.time, p.score]), ordered.sink.scores.map((p) => [p.time, p.score]));
  assert.equal(late.t.calls('messageRejected').filter(([r]) => r === 'duplicate').length, 2);
});

test('streamFill: a stream is there from its first sample, with its fill, steps to go and observed sample period', async () => {
  const { pipeline } = setup();
  assert.deepEqual(pipeline.streamFill(), []);
  await pipeline.deliver({ ...samples('line1/pump1', 5, 100), receivedAt: 42 });
  await pipeline.deliver(samples('other', 1)); // refused by bind: never on the list
  const [f, ...rest] = pipeline.streamFill();
  assert.equal(rest.length, 0);
  assert.deepEqual(f, { stream: 'line1/pump1', model: 'pump', lastSampleAt: 42, buffered: 5, size: SIZE, stepsUntilWindow: SIZE - 5, samplePeriodMs: 1000, modelReady: true });
  await pipeline.deliver(samples('line1/pump1', SIZE, 105));
  pipeline.drain();
  const full = pipeline.streamFill()[0];
  assert.equal(full.buffered, SIZE);
  assert.ok(full.stepsUntilWindow >= 1 && full.stepsUntilWindow <= HOP);
});

test('alert notices carry each top channel\'s reading; the model looks at a window twice only when it makes a notice', async () => {
  const t = testContext('pipeline', new ManualClock(0));
  const sink = new CaptureSink();
  let secondLooks = 0;
  const counting = new Proxy(detector, {
    get(target, prop, receiver) {
      if (prop === 'reconstructionOf') {
        return (w: Parameters<Detector['reconstructionOf']>[0]) => {
          secondLooks++;
          return target.reconstructionOf(w);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  let sequence = 0;
  const machine = new AlertStateMachine({
    stream: 'line1/pump1', model: 'pump', k: 2, n: 3, resetWindows: 2, resetRatio: 0.8, keepFiringForMs: 0, severityCriticalPValue: 1e-6,
    insufficientWindows: 3, flapMaxStarts: 0, flapPeriodMs: 1, flapQuietMs: 1, topChannels: 2, nextSequence: () => ++sequence,
  });
  const pipeline = new Pipeline({
    ctx: t.ctx,
    options: { queueCapacity: 1000, whenFull: 'block', maxBatch: 64, maxWaitMs: 5, maxStreams: 100 },
    bind: (batch) => ({ spec: { id: batch.stream, channels: ['a', 'b'] }, model: 'pump', window: { size: SIZE, hop: HOP, maxGapMs: 5000, minCompleteness: 0.9 }, labels: {}, alerts: machine }),
    detectorFor: () => counting,
    sinks: [sink],
  });
  const calm = samples('line1/pump1', 40);
  await pipeline.deliver(calm);
  pipeline.drain();
  assert.equal(sink.alerts.length, 0);
  assert.equal(secondLooks, 0, 'calm windows cost no second look');
  // Channel a steps up by 8 (its training data span about 7 to 13), then the stream calms down again.
  const faulty = samples('line1/pump1', 40, 40, 8);
  await pipeline.deliver(faulty);
  await pipeline.deliver(samples('line1/pump1', 40, 80));
  pipeline.drain();
  const firing = sink.alerts.find((a) => a.status === 'firing');
  assert.ok(firing, 'the fault fires');
  assert.equal(secondLooks, sink.alerts.length, 'one second look per notice, for all its top channels');
  const [top] = firing.topChannels;
  assert.equal(top?.channel, 'a');
  const reading = top?.reading;
  assert.ok(reading, 'the top channel has a reading');
  const summary = detector.manifest.training.channelSummary[0];
  assert.equal(reading.trainingMin, Number(summary.min.toPrecision(6)));
  assert.equal(reading.trainingMax, Number(summary.max.toPrecision(6)));
  const delivered = faulty.samples.map((s) => Number(Math.fround(s.values[0]).toPrecision(6)));
  assert.ok(delivered.includes(reading.observed), `observed ${reading.observed} is a sample the stream sent during the fault`);
  assert.ok(reading.observed > reading.trainingMax, `observed ${reading.observed} is above the training range (to ${reading.trainingMax})`);
  assert.ok(reading.expected >= reading.trainingMin - 1 && reading.expected <= reading.trainingMax + 1, `expected ${reading.expected} is a normal value`);
  assert.ok(firing.topChannels.every((c) => c.reading !== undefined));
  const resolved = sink.alerts.find((a) => a.status === 'resolved');
  assert.ok(resolved?.topChannels[0]?.reading, 'the resolve carries readings of the calm window');
});
