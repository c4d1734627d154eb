// The pipeline's expected values: a stream with `expected` gets, on every score point, what the model expected of
// each channel at the window's last sample (the detector's own reconstruction, un-scaled), that sample's reading
// and the tolerance; with `denoised`, every sample's expected value exactly once. A stream without gets none, and
// its scores are the same either way.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import type { ScorePoint } from '../../../src/core/sink';
import type { Sample, Window } from '../../../src/core/types';
import type { Detector } from '../../../src/model/detector';
import type { ExpectedOutput } from '../../../src/pipeline/expectedValues';
import { Pipeline, type StreamBinding } from '../../../src/pipeline/pipeline';
import { CaptureSink } from '../../../src/sinks/capture';
import { testContext } from '../../helpers/context';
import { sineWindows } from '../../helpers/synthetic';
import { trainTinyDetector } from '../../helpers/tinyDetector';

const SIZE = 16;
const HOP = 4;
const WINDOW = { size: SIZE, hop: HOP, maxGapMs: 5000, minCompleteness: 0.9 };
let detector: Detector;

before(async () => {
  detector = (await trainTinyDetector(sineWindows(150, SIZE, 2, 1), { name: 'pipe', stream: { id: 's', channels: ['a', 'b'] }, window: WINDOW, train: { epochs: 10 } })).detector;
});

function rows(n: number, t0 = 0): Sample[] {
  return Array.from({ length: n }, (_, i) => {
    const t = t0 + i;
    return { ts: t * 1000, values: [10 + 3 * Math.sin((2 * Math.PI * t) / 16), 10 + 3 * Math.sin((2 * Math.PI * t) / 16 + 1)] };
  });
}

function run(outputs: Readonly<Record<string, ExpectedOutput | undefined>>, samples: Sample[]): ScorePoint[] {
  const sink = new CaptureSink();
  const pipeline = new Pipeline({
    ctx: testContext('pipeline', new ManualClock(0)).ctx,
    options: { queueCapacity: 1000, whenFull: 'block', maxBatch: 64, maxWaitMs: 5, maxStreams: 10 },
    bind: (batch) => {
      const expected = outputs[batch.stream];
      const binding: StreamBinding = {
        spec: { id: batch.stream, channels: ['a', 'b'] },
        model: 'pump',
        window: WINDOW,
        labels: {},
        alerts: { observe: () => [], observeInsufficient: () => [] },
        ...(expected ? { expected } : {}),
      };
      return binding;
    },
    detectorFor: () => detector,
    sinks: [sink],
  });
  for (const stream of Object.keys(outputs)) void pipeline.deliver({ stream, subscription: 0, labels: {}, samples });
  pipeline.drain();
  return sink.scores;
}

/** The window a score point stands for, rebuilt from the samples (the window's last SIZE samples up to its end). */
function windowOf(samples: Sample[], end: number): Window {
  const last = samples.findIndex((s) => s.ts === end);
  const values = Float32Array.from(samples.slice(last - SIZE + 1, last + 1).flatMap((s) => Array.from(s.values)));
  return { stream: 'x', start: samples[last - SIZE + 1].ts, end, size: SIZE, channels: 2, values, completeness: 1 };
}

test("each score point carries the model's expectation at the window's last sample, the reading there and the tolerance", () => {
  const samples = rows(40);
  const points = run({ with: { values: true, denoised: false }, without: undefined }, samples);
  const withPoints = points.filter((p) => p.stream === 'with');
  const withoutPoints = points.filter((p) => p.stream === 'without');
  assert.equal(withPoints.length, (40 - SIZE) / HOP + 1);
  assert.equal(withoutPoints.length, withPoints.length);
  for (const [i, p] of withPoints.entries()) {
    const w = windowOf(samples, p.time);
    // The detector's own reconstruction, un-scaled (no transform here): its last step is the expected value.
    const r = detector.reconstructionOf(w);
    assert.ok(p.expected && p.observed && p.tolerance, 'expected, observed and tolerance present');
    assert.deepEqual(Object.keys(p.expected), ['a', 'b']);
    assert.ok(Math.abs(p.expected.a - r[(SIZE - 1) * 2]) < 1e-4 && Math.abs(p.expected.b - r[(SIZE - 1) * 2 + 1]) < 1e-4, JSON.stringify(p.expected));
    assert.deepEqual(p.observed, { a: w.values[(SIZE - 1) * 2], b: w.values[(SIZE - 1) * 2 + 1] });
    assert.ok(p.tolerance.a > 0 && p.tolerance.b > 0);
    assert.equal(p.denoised, undefined, 'no denoised signal unless asked');
    // The same window of a stream that writes no expectation scores the same.
    assert.equal(withoutPoints[i].score, p.score);
    assert.equal(withoutPoints[i].expected, undefined);
    assert.equal(withoutPoints[i].observed, undefined);
  }
});

test('the denoised signal: every windowed sample once, in time order, from the first window covering it', () => {
  const samples = rows(42);
  const points = run({ s: { values: false, denoised: true } }, samples);
  assert.ok(points.every((p) => p.expected === undefined), 'values off: no expected values');
  const denoised = points.flatMap((p) => p.denoised ?? []);
  const times = denoised.map((d) => d.time);
  // Windows end at samples 15, 19, ..., 39: samples 0 to 39 are windowed, 40 and 41 wait for the next window.
  assert.deepEqual(times, samples.slice(0, 40).map((s) => s.ts));
  assert.deepEqual(points[0].denoised?.length, SIZE, 'the first window publishes all its samples');
  assert.ok(points.slice(1).every((p) => p.denoised?.length === HOP), 'later windows their hop newest');
  // The sample at a window's end is its expected value: the two outputs agree.
  const both = run({ s: { values: true, denoised: true } }, samples);
  for (const p of both) {
    const atEnd = p.denoised?.[p.denoised.length - 1];
    assert.equal(atEnd?.time, p.time);
    assert.deepEqual(atEnd.values, p.expected);
  }
});
