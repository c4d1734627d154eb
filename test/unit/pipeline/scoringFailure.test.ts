// A scoring failure of a loaded model says what failed: the windows' shape, non-finite values, or the engine;
// it is counted per reason and logged at ERROR once per interval, never as "Cannot load model".
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock';
import type { ScoringFailure } from '../../../src/core/context';
import type { Window } from '../../../src/core/types';
import { Detector } from '../../../src/model/detector';
import { ModelLane } from '../../../src/pipeline/modelLane';
import { createEvents } from '../../../src/telemetry/events';
import { createMetrics } from '../../../src/telemetry/metrics';
import { testContext } from '../../helpers/context';
import { parseExposition, sampleValue } from '../telemetry/expo';

const PUMP = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'pump');

function win(stream: string, size: number, channels: number, fill = 1): Window {
  return { stream, start: 0, end: 1000, size, channels, values: new Float32Array(size * channels).fill(fill), completeness: 1 };
}

/** Pushes `windows` through a lane on `detector` and drains it; returns what was scored and what failed. */
function through(detector: Detector, windows: Window[]): { scored: string[]; failed: { kind: ScoringFailure; detail: string; windows: number }[] } {
  const scored: string[] = [];
  const failed: { kind: ScoringFailure; detail: string; windows: number }[] = [];
  const lane = new ModelLane(
    'pump',
    detector,
    { capacity: 100, whenFull: 'block', maxBatch: 64, maxWaitMs: 10_000 },
    (_m, ws) => void scored.push(...ws.map((w) => w.stream)),
    (_m, ws, kind, detail) => void failed.push({ kind, detail, windows: ws.length }),
  );
  for (const w of windows) void lane.push(w);
  lane.drain();
  lane.stop();
  return { scored, failed };
}

test('a window of another size than the model takes is a shape failure naming the stream, both sizes and the manifest', async () => {
  const detector = await Detector.load(PUMP);
  const { scored, failed } = through(detector, [win('line1/pump1', 60, 8)]);
  assert.deepEqual(scored, []);
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.kind, 'shape');
  assert.match(failed[0]?.detail ?? '', /stream 'line1\/pump1' has 480 values, the model takes 240 \(window\.size 30 x 8 channels, .*manifest\.json\)/);
  detector.dispose();
});

test('a window whose score comes out NaN is a nan failure; the good windows of the batch are still scored', async () => {
  const real = await Detector.load(PUMP);
  // The engine returning NaN for one window (a missing step in a window is NaN too, and scores normally).
  const nanForB = Object.assign(Object.create(real) as Detector, {
    score: (ws: readonly Window[]) => real.score(ws).map((s) => (s.stream === 'b' ? { ...s, score: Number.NaN } : s)),
  });
  const gap = win('a', 30, 8, 5);
  gap.values[8] = Number.NaN;
  const { scored, failed } = through(nanForB, [gap, win('b', 30, 8, 5), win('c', 30, 8, 5)]);
  assert.deepEqual(scored, ['a', 'c']);
  assert.deepEqual(failed.map((f) => [f.kind, f.windows]), [['nan', 1]]);
  assert.match(failed[0]?.detail ?? '', /stream\(s\) 'b' scored NaN or Infinity \(their input is finite or missing steps, so the engine produced them\)/);
  real.dispose();
});

test('an inference call that throws on windows of the right shape is an engine failure', async () => {
  const real = await Detector.load(PUMP);
  const broken = Object.assign(Object.create(real) as Detector, {
    score: (): never => {
      throw new Error('out of memory');
    },
  });
  const { failed } = through(broken, [win('a', 30, 8)]);
  assert.deepEqual(failed.map((f) => f.kind), ['engine']);
  assert.match(failed[0]?.detail ?? '', /inference engine failed: out of memory/);
  real.dispose();
});

test('scoringFailed counts the windows per reason and logs ERROR once per interval, not "Cannot load model"', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const metrics = createMetrics({ maxStreamLabels: 10, defaultMetrics: false });
  const tc = testContext('telemetry', clock);
  const events = createEvents(tc.ctx.log, metrics, { clock });
  events.modelLoaded('pump', '1', 'wasm', 'models/pump');
  events.scoringFailed('pump', 3, 'shape', 'the window has 480 values, the model takes 240');
  events.scoringFailed('pump', 2, 'shape', 'the window has 480 values, the model takes 240');
  const f = parseExposition(await metrics.text());
  assert.equal(sampleValue(f, 'anomalyd_scoring_failures_total', { model: 'pump', reason: 'shape' }), 5);
  assert.throws(() => sampleValue(f, 'anomalyd_model_load_failures_total', { model: 'pump' }), /No sample/, 'a scoring failure is not a load failure');
  const errors = tc.logs.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1, 'the second failure within the interval is not another ERROR line');
  assert.equal(errors[0]?.msg, 'Windows could not be scored and were dropped.');
  assert.equal(errors[0]?.fields?.['failure'], 'shape');
  assert.ok(!tc.logs.some((l) => /Cannot load model/.test(l.msg)));
  const view = events.status.modelViews().find((m) => m.model === 'pump');
  assert.equal(view?.state, 'loaded', 'the model stays loaded');
  assert.match(view?.detail ?? '', /^scoring failed: shape: /);
});
