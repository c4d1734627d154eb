// The pipeline's side of stream admission: which refusal a new stream's message gets, the one summarising alert,
// idle eviction, and which streams a checkpoint keeps. No model is needed: windows of a stream without one go to
// the (absent) learner, and window events are what these rules look at.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import type { EvictReason } from '../../../src/core/context';
import { RefusalAlert } from '../../../src/core/refusalAlert';
import { StallDetector } from '../../../src/core/stall';
import { admit, StreamAllowList, StreamRateBucket } from '../../../src/core/streamAdmission';
import type { Sample } from '../../../src/core/types';
import { Pipeline, type PipelineOptions } from '../../../src/pipeline/pipeline';
import { CaptureSink } from '../../../src/sinks/capture';
import type { StreamSamples } from '../../../src/sources/source';
import { testContext } from '../../helpers/context';

const SIZE = 8;

function batch(stream: string, n: number, t0: number): StreamSamples {
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) samples.push({ ts: t0 + i * 1000, values: [i, -i] });
  return { stream, subscription: 0, labels: {}, samples, receivedAt: t0 + n * 1000 };
}

function setup(options: Partial<PipelineOptions> = {}, keep: (stream: string) => boolean = () => true, perMinute = 2) {
  const clock = new ManualClock(0);
  const t = testContext('pipeline', clock);
  const sink = new CaptureSink();
  const allow = new StreamAllowList(['line1/*']);
  const bucket = new StreamRateBucket(perMinute);
  const evicted: [string, EvictReason][] = [];
  const stalls = new Map<string, StallDetector>();
  const pipeline = new Pipeline({
    ctx: t.ctx,
    options: { queueCapacity: 100, whenFull: 'block', maxBatch: 8, maxWaitMs: 5, maxStreams: 3, idleEvictMs: 60_000, newIdleEvictMs: 10_000, ...options },
    bind: (b) => {
      const stall = new StallDetector({ stream: b.stream, model: 'm', labels: {}, silenceMs: 5000, nextSequence: () => 1 }, clock.now());
      stalls.set(b.stream, stall);
      return { spec: { id: b.stream, channels: ['a', 'b'] }, model: 'm', window: { size: SIZE, hop: SIZE, maxGapMs: 5000, minCompleteness: 0.9 }, labels: {}, stall, alerts: { observe: () => [], observeInsufficient: () => [] } };
    },
    detectorFor: () => undefined,
    sinks: [sink],
    admission: { allowed: (b) => admit({ allow }, b.stream, 0), rate: (b, now) => admit({ bucket }, b.stream, now) },
    refusals: new RefusalAlert({ fireAfter: 3, quietMs: 30_000, nextSequence: () => 7 }),
    evict: (stream, reason) => {
      if (!keep(stream)) return false;
      evicted.push([stream, reason]);
      return true;
    },
  });
  return { pipeline, t, sink, clock, evicted, stalls };
}

test('a stream outside allow_streams is refused as stream_not_allowed even at the limit; the rate is asked only under it', async () => {
  const { pipeline, t, sink } = setup();
  await pipeline.deliver(batch('fake/1', 1, 0));
  await pipeline.deliver(batch('line1/a', 1, 0));
  await pipeline.deliver(batch('line1/b', 1, 0));
  await pipeline.deliver(batch('line1/c', 1, 0)); // the bucket of 2 is used up
  await pipeline.deliver(batch('fake/2', 1, 0));
  assert.deepEqual(t.calls('messageRejected').map(([r, s]) => `${r}:${s}`), ['stream_not_allowed:fake/1', 'stream_rate:line1/c', 'stream_not_allowed:fake/2']);
  assert.equal(pipeline.streamCount, 2);
  assert.equal(sink.alerts.length, 1, 'the third refusal fires the one summarising alert');
  assert.equal(sink.alerts[0]?.kind, 'streams_refused');
  for (let i = 0; i < 50; i++) await pipeline.deliver(batch(`fake/x${i}`, 1, 0));
  assert.equal(sink.alerts.length, 1, 'not one page each');
  pipeline.stop();
  assert.deepEqual(sink.alerts.map((a) => a.status), ['firing', 'resolved'], 'resolved when the daemon stops (it is not saved)');
});

test('idle eviction: a stream that never completed a window goes after newIdleEvictMs, one that did after idleEvictMs; a kept one stays', async () => {
  const { pipeline, t, evicted, stalls } = setup({ maxStreams: 10 }, (s) => s !== 'line1/firing', 100);
  await pipeline.deliver(batch('line1/fake', 2, 0)); // 2 samples: no window
  await pipeline.deliver(batch('line1/real', SIZE, 0)); // one window
  await pipeline.deliver(batch('line1/firing', 1, 0));
  assert.equal(stalls.get('line1/real')?.healthy, true, 'its first window made it healthy');
  assert.equal(stalls.get('line1/fake')?.healthy, false);
  assert.equal(pipeline.evictIdle(12_000), 0, 'not yet: 10 s since the fake stream\'s last sample at 2 s');
  assert.equal(pipeline.evictIdle(12_001), 1);
  assert.deepEqual(evicted, [['line1/fake', 'never_windowed']]);
  assert.deepEqual(t.calls('streamEvicted')[0]?.slice(0, 2), ['line1/fake', 'never_windowed']);
  assert.equal(pipeline.evictIdle(60_000 + SIZE * 1000), 0, 'the real stream is idle 60 s only from its window');
  assert.equal(pipeline.evictIdle(60_001 + SIZE * 1000), 1);
  assert.deepEqual(evicted.at(-1), ['line1/real', 'idle']);
  assert.equal(pipeline.streamCount, 1, 'the stream the hook keeps (an alert firing) stays');
  // An evicted stream that sends again is a new stream (admitted again by allow list and rate).
  await pipeline.deliver(batch('line1/real', 1, 100_000));
  assert.equal(pipeline.streamCount, 2);
});

test('a checkpoint keeps only streams that completed a window', async () => {
  const { pipeline } = setup({ maxStreams: 10 }, () => true, 100);
  await pipeline.deliver(batch('line1/fake', 3, 0));
  await pipeline.deliver(batch('line1/real', SIZE + 2, 0));
  const saved: string[] = [];
  pipeline.checkpoint((stream) => saved.push(stream));
  assert.deepEqual(saved, ['line1/real']);
});

test('0 turns eviction off', async () => {
  const { pipeline } = setup({ maxStreams: 10, idleEvictMs: 0, newIdleEvictMs: 0 }, () => true, 100);
  await pipeline.deliver(batch('line1/fake', 1, 0));
  await pipeline.deliver(batch('line1/real', SIZE, 0));
  assert.equal(pipeline.evictIdle(1e13), 0);
  assert.equal(pipeline.streamCount, 2);
});
