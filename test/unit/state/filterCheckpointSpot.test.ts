// SPOT filters (calibration.method spot) in the score filters' checkpoint log: their whole-state records sit
// beside the likelihood's bases and deltas, read back bit for bit through the log's own code, and a restored
// filter continues with the same thresholds; a record restored into a filter of the other kind is refused with
// a warning, and the stream starts afresh.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FilterStateCapture, readFilterStates, SavedFilterStates } from '../../../src/state/filterCheckpoint';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import { calibrate } from '../../../src/core/calibration';
import { createRng } from '../../../src/core/random';
import type { ScoreObservation, StreamScoreFilter } from '../../../src/core/scoreFilter';
import { SpotFilter } from '../../../src/core/spotFilter';
import { testContext } from '../../helpers/context';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'anomalyd-spotlog-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const SEED = 5150;
const rng = createRng(SEED);
const exp = (scale: number): number => -scale * Math.log(1 - rng());
const CAL = calibrate(Array.from({ length: 5000 }, () => exp(1)), { kind: 'spot', q: 1e-3, initialQuantile: 0.98, depth: 0, maxExcesses: 50 });
const spot = (depth: number): SpotFilter => new SpotFilter({ q: 1e-3, depth, maxExcesses: 50, calibrationOf: () => CAL });
const obs = (score: number): ScoreObservation => ({ time: 0, score, threshold: CAL.threshold, pValue: 1, anomalous: false, window: { values: [score], channels: 1 } });
const LIKELIHOOD = { averageWindows: 2, historyWindows: 20, learningWindows: 4, threshold: 0.5, suppressWindows: 0 };

test('SPOT records beside likelihood deltas read back as each filter\'s snapshot; restored filters go on with the same thresholds', async () => {
  const dir = await mkdtemp(path.join(root, 'd-'));
  const filters = new Map<string, StreamScoreFilter>([['spot0', spot(0)], ['dspot', spot(4)], ['idle', spot(0)], ['lh', new AnomalyLikelihood(LIKELIHOOD)]]);
  const capture = new FilterStateCapture(dir, (visit) => filters.forEach((f, s) => visit(s, f)), 3);
  let generation = 0;
  for (let round = 0; round < 8; round++) {
    // 'idle' never scores a window: no calibration lookup yet, no state, no record.
    for (const [s, f] of filters) if (s !== 'idle') for (let i = 0; i < 60; i++) f.filter(obs(round === 4 && i < 5 ? 40 : exp(1.4)));
    const w = capture.capture(++generation);
    await w.write();
    w.named();
    await w.removeStale();
  }
  const read = await readFilterStates(dir, generation);
  assert.ok(read);
  assert.equal(read.damaged, 0);
  assert.deepEqual([...read.states.keys()].sort(), ['dspot', 'lh', 'spot0']);
  for (const s of ['spot0', 'dspot', 'lh']) assert.deepEqual(read.states.get(s), filters.get(s)?.snapshot?.(), s);
  const spotState = read.states.get('dspot')?.spot;
  assert.ok(spotState && spotState.dspot.window.length === 4 && spotState.dspot.spot.censoredLevels.length > 0, 'the fault left censored excesses, the window its depth');

  const { ctx, logs } = testContext('state');
  const saved = new SavedFilterStates(read.states, ctx.log);
  const restored = new Map<string, StreamScoreFilter>([['spot0', spot(0)], ['dspot', spot(4)]]);
  for (const [s, f] of restored) saved.restore(s, f);
  for (let i = 0; i < 500; i++) {
    const x = exp(1.4);
    for (const [s, f] of restored) assert.deepEqual(f.filter(obs(x)), filters.get(s)?.filter(obs(x)), `${s} window ${i} (seed ${SEED})`);
  }
  assert.deepEqual(logs.filter((l) => l.level === 'warn'), []);
});

test('a saved state of the other filter kind is refused with a warning naming the stream', () => {
  const { ctx, logs } = testContext('state');
  const s = spot(0);
  for (let i = 0; i < 30; i++) s.filter(obs(exp(1)));
  const lh = new AnomalyLikelihood(LIKELIHOOD);
  for (let i = 0; i < 30; i++) lh.filter(obs(exp(1)));
  const saved = new SavedFilterStates(new Map([['a', s.snapshot()!], ['b', lh.snapshot()]]), ctx.log);
  const intoLikelihood = new AnomalyLikelihood(LIKELIHOOD);
  saved.restore('a', intoLikelihood);
  const intoSpot = spot(0);
  saved.restore('b', intoSpot);
  assert.equal(intoSpot.snapshot(), undefined, 'the SPOT filter starts from the calibration');
  assert.deepEqual(intoLikelihood.snapshot().scales, []);
  const warned = logs.filter((l) => l.level === 'warn').map((l) => `${String(l.fields?.['stream'])}: ${String(l.fields?.['error'])}`);
  assert.deepEqual(warned, [
    "a: the saved state is a SPOT filter's, this stream's filter is the anomaly likelihood",
    "b: the saved state is the anomaly likelihood's, this stream's filter is SPOT",
  ]);
});
