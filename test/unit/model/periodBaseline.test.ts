// The period baseline (model/periodBaseline.ts): each scale's score handed on as its rise over the score one
// period earlier, raw until that score exists, and the lag a period calls for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScoreObservation, StreamScoreFilter } from '../../../src/core/scoreFilter';
import { PeriodBaselineFilter, periodLag } from '../../../src/model/periodBaseline';

class Recorder implements StreamScoreFilter {
  readonly seen: ScoreObservation[] = [];
  filter(o: ScoreObservation): ScoreObservation {
    this.seen.push(o);
    return o;
  }
}

const obs = (score: number, otherScales?: number[]): ScoreObservation => ({ time: 0, score, threshold: 1, pValue: 1, anomalous: false, ...(otherScales ? { otherScales } : {}) });

void test('scores pass raw for the first period, then as their rise over the score a period earlier (never below 0)', () => {
  const inner = new Recorder();
  const f = new PeriodBaselineFilter(inner, () => 3);
  for (const s of [1, 2, 3, 1.5, 1, 5]) f.filter(obs(s));
  assert.deepEqual(
    inner.seen.map((o) => o.score),
    [1, 2, 3, 0.5, 0, 2],
  );
});

void test('each scale keeps its own past; a scale not heard a period ago passes raw', () => {
  const inner = new Recorder();
  const f = new PeriodBaselineFilter(inner, () => 2);
  f.filter(obs(1, [Number.NaN]));
  f.filter(obs(1, [4]));
  f.filter(obs(2, [6]));
  f.filter(obs(2, [7]));
  assert.deepEqual(
    inner.seen.map((o) => o.otherScales?.[0]),
    [Number.NaN, 4, 6, 3],
  );
  assert.deepEqual(
    inner.seen.map((o) => o.score),
    [1, 1, 1, 1],
  );
});

void test('without a lag the filter passes scores as they are; a new lag starts the past afresh', () => {
  const inner = new Recorder();
  let lag: number | undefined;
  const f = new PeriodBaselineFilter(inner, () => lag);
  f.filter(obs(5));
  lag = 1;
  f.filter(obs(5));
  f.filter(obs(6));
  lag = 2;
  f.filter(obs(7));
  assert.deepEqual(
    inner.seen.map((o) => o.score),
    [5, 5, 1, 7],
  );
});

void test('the lag: a period longer than the window, in hops', () => {
  assert.equal(periodLag(288, 32, 1), 288);
  assert.equal(periodLag(288, 64, 16), 18);
  assert.equal(periodLag(24, 32, 1), undefined);
  assert.equal(periodLag(undefined, 32, 1), undefined);
});
