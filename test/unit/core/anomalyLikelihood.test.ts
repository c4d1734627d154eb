import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnomalyLikelihood, upperTail, type LikelihoodOptions } from '../../../src/core/anomalyLikelihood';
import { createRng, gaussian } from '../../../src/core/random';
import type { ScoreFilterDelta, ScoreFilterState } from '../../../src/core/scoreFilter';

const OPTIONS: LikelihoodOptions = { averageWindows: 1, historyWindows: 200, learningWindows: 50, threshold: 0.5, suppressWindows: 0 };

function feed(l: AnomalyLikelihood, scores: readonly number[]): { score: number; anomalous: boolean }[] {
  return scores.map((score, i) => l.filter({ time: i, score, threshold: 1, pValue: 0.5, anomalous: false }));
}

function noisy(n: number, seed: number, level = 1, sd = 0.1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => level + sd * gaussian(rng));
}

void test('upperTail is the standard normal upper tail', () => {
  assert.ok(Math.abs(upperTail(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(upperTail(1.959964) - 0.025) < 1e-6);
  assert.ok(Math.abs(upperTail(-1.959964) - 0.975) < 1e-6);
  assert.equal(upperTail(Number.NaN), 1);
});

void test('scores 0 while learning, then judges each score against the recent history', () => {
  const l = new AnomalyLikelihood(OPTIONS);
  const out = feed(l, noisy(300, 1));
  assert.ok(out.slice(0, 50).every((o) => o.score === 0 && !o.anomalous));
  assert.ok(out.slice(50).every((o) => o.score >= 0 && o.score <= 1));
  // Gaussian noise of its own history: nothing is at tail 1e-5 or beyond.
  assert.equal(out.filter((o) => o.anomalous).length, 0);
  const [jump] = feed(l, [3]);
  assert.ok(jump.anomalous, `score ${jump.score}`);
  assert.ok(jump.score >= 0.5);
});

void test('a sustained new level stops being surprising once the history has absorbed it', () => {
  const l = new AnomalyLikelihood(OPTIONS);
  feed(l, noisy(300, 2));
  const shifted = feed(l, noisy(400, 3, 2));
  assert.ok(shifted[0].anomalous);
  assert.ok(shifted.slice(-100).every((o) => !o.anomalous));
});

void test('suppression: the windows after a detection score 0 and are not anomalous', () => {
  const l = new AnomalyLikelihood({ ...OPTIONS, suppressWindows: 5 });
  feed(l, noisy(100, 4));
  const out = feed(l, [5, 5, 5, 5, 5, 5, 50]);
  assert.deepEqual(out.map((o) => o.anomalous), [true, false, false, false, false, false, true]);
  assert.deepEqual(out.slice(1, 6).map((o) => o.score), [0, 0, 0, 0, 0]);
});

void test('a constant stream does not turn rounding into an anomaly', () => {
  const l = new AnomalyLikelihood(OPTIONS);
  const out = feed(l, [...Array<number>(300).fill(0.25), 0.25 + 1e-12]);
  assert.ok(out.every((o) => !o.anomalous));
});

void test('options are validated', () => {
  assert.throws(() => new AnomalyLikelihood({ ...OPTIONS, averageWindows: 0 }), /averageWindows/);
  assert.throws(() => new AnomalyLikelihood({ ...OPTIONS, learningWindows: 500 }), /learningWindows/);
  assert.throws(() => new AnomalyLikelihood({ ...OPTIONS, threshold: 0 }), /threshold/);
});

void test('range tolerance: a window beyond the seen values scores 1, even while suppressed; without it nothing changes', () => {
  const options = { ...OPTIONS, suppressWindows: 5, rangeTolerance: 0.05 };
  const withRange = new AnomalyLikelihood(options);
  const without = new AnomalyLikelihood({ ...options, rangeTolerance: 0 });
  const calm = noisy(100, 5);
  const observe = (l: AnomalyLikelihood, score: number, values: number[]): { score: number; anomalous: boolean } =>
    l.filter({ time: 0, score, threshold: 1, pValue: 0.5, anomalous: false, window: { values, channels: 1 } });
  // Window values within [0, 10]; raw scores calm, so the likelihood alone says nothing.
  calm.forEach((s, i) => observe(withRange, s, [i % 11, (i + 5) % 11]));
  calm.forEach((s, i) => observe(without, s, [i % 11, (i + 5) % 11]));
  const first = observe(withRange, 1, [5, 12]);
  assert.deepEqual([first.score, first.anomalous], [1, true]);
  assert.equal(observe(without, 1, [5, 12]).anomalous, false, 'tolerance 0 leaves the likelihood alone');
  // Inside the suppression that detection started: a calm window scores 0, a further new extreme still reports.
  assert.equal(observe(withRange, 1, [5, 11]).score, 0);
  const next = observe(withRange, 1, [5, 20]);
  assert.deepEqual([next.score, next.anomalous], [1, true]);
  // Observations without window values (a caller that has none) are judged on the score alone.
  assert.equal(observe(withRange, 1, [5, 5]).anomalous, false);
  assert.throws(() => new AnomalyLikelihood({ ...OPTIONS, rangeTolerance: -1 }), /rangeTolerance/);
});

void test('another time scale is judged against its own history, and the more surprising scale counts', () => {
  const main = noisy(400, 11, 1, 0.1);
  // The coarse scale's errors live on another scale entirely (100x); its own history makes that irrelevant.
  const coarse = noisy(400, 12, 100, 10);
  const both = new AnomalyLikelihood(OPTIONS);
  const alone = new AnomalyLikelihood(OPTIONS);
  const joint = main.map((score, i) => both.filter({ time: i, score, threshold: 1, pValue: 0.5, anomalous: false, otherScales: [coarse[i]] }));
  const single = feed(alone, main);
  assert.equal(joint.filter((o) => o.anomalous).length, 0, 'neither scale is surprising');
  // The main scale is ordinary, the coarse one jumps: only the filter that sees it reports.
  const [j] = [both.filter({ time: 400, score: 1, threshold: 1, pValue: 0.5, anomalous: false, otherScales: [200] })];
  const [s] = feed(alone, [1]);
  assert.ok(j.anomalous && j.score >= 0.5, `joint ${j.score}`);
  assert.ok(!s.anomalous, `alone ${s.score}`);
  // Where the coarse scale has nothing to say (NaN), the main scale alone decides, as without scales.
  const nan = new AnomalyLikelihood(OPTIONS);
  const withNaN = main.map((score, i) => nan.filter({ time: i, score, threshold: 1, pValue: 0.5, anomalous: false, otherScales: [Number.NaN] }));
  assert.deepEqual(
    withNaN.map((o) => o.score),
    single.map((o) => o.score),
  );
});

void test('a scale that joins late learns before it judges', () => {
  const l = new AnomalyLikelihood(OPTIONS);
  feed(l, noisy(300, 13));
  // First coarse score ever, far out: the coarse scale has no history yet, so it cannot be surprising.
  const first = l.filter({ time: 300, score: 1, threshold: 1, pValue: 0.5, anomalous: false, otherScales: [1e6] });
  assert.ok(!first.anomalous, `score ${first.score}`);
});

void test('seedRange gives the range check a known range; without a tolerance it does nothing', () => {
  const w = (values: number[]): { values: number[]; channels: number } => ({ values, channels: 1 });
  const obs = (time: number, values: number[]) => ({ time, score: 0.1, threshold: 1, pValue: 1, anomalous: false, window: w(values) });
  const unseeded = new AnomalyLikelihood({ ...OPTIONS, rangeTolerance: 0.05 });
  assert.equal(unseeded.filter(obs(1, [5, 6])).score, 0, 'the first window has nothing to compare with');
  const seeded = new AnomalyLikelihood({ ...OPTIONS, rangeTolerance: 0.05 });
  seeded.seedRange([0], [1]);
  assert.equal(seeded.filter(obs(1, [0.2, 0.8])).score, 0, 'inside the seeded range');
  assert.equal(seeded.filter(obs(2, [5, 6])).score, 1, 'beyond the seeded range');
  const off = new AnomalyLikelihood({ ...OPTIONS, rangeTolerance: 0 });
  off.seedRange([0], [1]);
  assert.equal(off.filter(obs(1, [5, 6])).score, 0);
  assert.equal(off.filter(obs(2, [50])).score, 0, 'no range check at all');
});

void test('the history, grown as scores arrive, judges exactly like a Gaussian of the last historyWindows scores', () => {
  // 37: the history grows 16 -> 32 -> 37 and then wraps; every judgement is checked against a plain recomputation.
  const o: LikelihoodOptions = { averageWindows: 1, historyWindows: 37, learningWindows: 20, threshold: 1, suppressWindows: 0 };
  const l = new AnomalyLikelihood(o);
  const scores = noisy(200, 7);
  scores.forEach((x, i) => {
    const past = scores.slice(Math.max(0, i - o.historyWindows), i);
    let expected = 1;
    if (past.length >= o.learningWindows) {
      const mean = past.reduce((a, b) => a + b, 0) / past.length;
      const sd = Math.max(Math.sqrt(Math.max(0, past.reduce((a, b) => a + b * b, 0) / past.length - mean * mean)), 1e-6 * Math.abs(mean) + 1e-12);
      expected = upperTail((x - mean) / sd);
    }
    const got = l.filter({ time: i, score: x, threshold: 1, pValue: 0.5, anomalous: false }).pValue;
    assert.ok(Math.abs(got - expected) < 1e-9, `window ${i}: ${got} vs ${expected}`);
  });
});

/** Windows of one channel around `level` (the range check looks at the values). */
function rangeFeed(l: AnomalyLikelihood, from: number, levels: readonly number[]): { score: number; anomalous: boolean; pValue: number }[] {
  return levels.map((level, i) =>
    l.filter({ time: from + i, score: 1 + 0.1 * Math.sin(i), threshold: 1, pValue: 0.5, anomalous: false, window: { values: [level, level + 0.5], channels: 1 } }),
  );
}

void test('a filter restored from a snapshot decides every later window as the one that ran on (history, recent mean, suppression, range)', () => {
  const options: LikelihoodOptions = { averageWindows: 3, historyWindows: 40, learningWindows: 10, threshold: 0.5, suppressWindows: 5, rangeTolerance: 0.05 };
  const scores = [...noisy(60, 7), 4, 4.2, ...noisy(30, 8), 6, ...noisy(30, 9)];
  const levels = scores.map((s, i) => (i === 65 ? 30 : 10 + (s > 3 ? 5 : 0)));
  const run = (l: AnomalyLikelihood, from: number, to: number): string[] =>
    scores.slice(from, to).map((score, k) => {
      const i = from + k;
      const o = l.filter({ time: i, score, threshold: 1, pValue: 0.5, anomalous: false, window: { values: [levels[i], levels[i] + 1], channels: 1 } });
      return `${o.score}/${o.pValue}/${o.anomalous}`;
    });
  const through = new AnomalyLikelihood(options);
  const expected = run(through, 0, scores.length);
  assert.ok(expected.some((e) => e.endsWith('/true')), 'the stream has detections to carry');
  // Cut at a window within the suppression after a detection, and at one where the history has wrapped.
  for (const cut of [62, 64, 95]) {
    const first = new AnomalyLikelihood(options);
    const before = run(first, 0, cut);
    const restored = new AnomalyLikelihood(options);
    restored.restore(first.snapshot());
    assert.deepEqual([...before, ...run(restored, cut, scores.length)], expected, `cut at ${cut}`);
  }
});

void test('after a restart the rest of an excursion already seen is not novel again; a fresh filter seeded with the learned range paged it anew', () => {
  const options: LikelihoodOptions = { averageWindows: 1, historyWindows: 40, learningWindows: 10, threshold: 0.5, suppressWindows: 5, rangeTolerance: 0.05 };
  const learned = { lo: [9], hi: [11] };
  const l = new AnomalyLikelihood(options);
  l.seedRange(learned.lo, learned.hi);
  rangeFeed(l, 0, Array.from({ length: 30 }, () => 10));
  const excursion = rangeFeed(l, 30, [14, 14.2, 14.1]);
  assert.ok(excursion[0].anomalous, 'the excursion is reported once');
  const fresh = new AnomalyLikelihood(options);
  fresh.seedRange(learned.lo, learned.hi);
  const restored = new AnomalyLikelihood(options);
  restored.seedRange(learned.lo, learned.hi);
  restored.restore(l.snapshot());
  // The excursion goes on through the restart (its samples were queued in the broker's session).
  assert.equal(rangeFeed(fresh, 33, [14.1])[0].anomalous, true, 'without the checkpoint: a second page');
  const [again] = rangeFeed(restored, 33, [14.1]);
  assert.equal(again.anomalous, false);
  assert.equal(again.score, 0);
  // The restored filter still knows a new extreme.
  assert.equal(rangeFeed(restored, 34, [25])[0].anomalous, true);
});

void test('a snapshot restored into other settings keeps the newest scores that fit, and never narrows a seeded range', () => {
  const big = new AnomalyLikelihood({ ...OPTIONS, historyWindows: 200, averageWindows: 5, rangeTolerance: 0.05 });
  rangeFeed(big, 0, Array.from({ length: 150 }, (_, i) => 10 + (i % 3)));
  const small = new AnomalyLikelihood({ ...OPTIONS, historyWindows: 60, learningWindows: 20, averageWindows: 2, rangeTolerance: 0.05 });
  small.seedRange([0], [100]);
  small.restore(big.snapshot());
  const s = small.snapshot();
  assert.equal(s.scales[0].history.length, 60);
  assert.deepEqual([...s.scales[0].history], [...big.snapshot().scales[0].history.slice(-60)]);
  assert.equal(s.scales[0].recent.length, 2);
  assert.deepEqual([s.range?.lo[0], s.range?.hi[0]], [0, 100]);
  // Past learning at once: judged against the restored history (a sine of amplitude 0.1 around 1).
  assert.ok(rangeFeed(small, 150, [11])[0].pValue < 1);
});

void test('a filter restored from a snapshot decides windows bit for bit also across the running sums\' recomputation', () => {
  const options: LikelihoodOptions = { averageWindows: 3, historyWindows: 20, learningWindows: 5, threshold: 0.5, suppressWindows: 0 };
  const scores = noisy(400, 11);
  const run = (l: AnomalyLikelihood, from: number, to: number): string[] => scores.slice(from, to).map((score, k) => {
    const o = l.filter({ time: from + k, score, threshold: 1, pValue: 0.5, anomalous: false });
    return `${o.score}/${o.pValue}`;
  });
  const through = new AnomalyLikelihood(options);
  const expected = run(through, 0, scores.length);
  // The sums are recomputed every 80 pushes; cut where the ring's oldest score is not at its start.
  for (const cut of [33, 75, 157]) {
    const first = new AnomalyLikelihood(options);
    const before = run(first, 0, cut);
    const restored = new AnomalyLikelihood(options);
    restored.restore(first.snapshot());
    assert.deepEqual([...before, ...run(restored, cut, scores.length)], expected, `cut at ${cut}`);
  }
});

/** A delta applied to the snapshot of its mark as ScoreFilterDelta describes it. */
function applyDelta(state: ScoreFilterState, delta: ScoreFilterDelta): ScoreFilterState {
  const newest = (before: Float64Array, after: Float64Array, n: number): Float64Array => {
    assert.ok(n <= before.length + after.length, 'the delta fits its mark');
    return Float64Array.from([...before, ...after].slice(before.length + after.length - n));
  };
  const range = delta.range ?? state.range;
  return {
    sinceDetection: delta.sinceDetection,
    ...(range ? { range } : {}),
    scales: delta.scales.map((d, i) => {
      const was = state.scales[i] ?? { history: new Float64Array(0), recent: new Float64Array(0) };
      const recent = typeof d.recent === 'number' ? newest(was.recent, d.appended, d.recent) : d.recent;
      return { history: newest(was.history, d.appended, d.historyLength), recent, ...(d.sums ? { sums: d.sums } : {}) };
    }),
  };
}

void test('changesSince(mark) applied to the snapshot of the mark gives the snapshot of now; none spans a restore', () => {
  const rng = createRng(12);
  // Recent scores longer than the history too: past a full history they come whole.
  for (const options of [{ ...OPTIONS, averageWindows: 4, historyWindows: 25, learningWindows: 5, rangeTolerance: 0.05 }, { ...OPTIONS, averageWindows: 30, historyWindows: 10, learningWindows: 5 }]) {
    const l = new AnomalyLikelihood(options);
    let mark = l.mark();
    let marked = l.snapshot();
    for (const n of [0, 1, 3, 9, 24, 25, 26, 70, 1, 0, 2]) {
      for (let k = 0; k < n; k++) {
        const level = rng() * (n + 1);
        l.filter({ time: k, score: rng(), threshold: 1, pValue: 1, anomalous: false, window: { values: [level], channels: 1 }, ...(n > 20 ? { otherScales: [rng()] } : {}) });
      }
      const delta = l.changesSince(mark);
      assert.ok(delta);
      assert.equal(delta.scales[0]?.appended.length ?? 0, Math.min(n, l.snapshot().scales[0]?.history.length ?? 0));
      assert.deepEqual(applyDelta(marked, delta), l.snapshot(), `after ${n} windows`);
      mark = l.mark();
      marked = l.snapshot();
    }
    const delta = l.changesSince(mark);
    assert.equal(delta?.range, undefined, 'an unchanged range is not repeated');
    l.restore(marked);
    assert.equal(l.changesSince(mark), undefined);
  }
});

test('a window not to be learned (maintenance) is judged as any other and leaves the filter as it was', () => {
  const opts = { averageWindows: 3, historyWindows: 50, learningWindows: 10, threshold: 0.5, suppressWindows: 0, rangeTolerance: 0.05 };
  const a = new AnomalyLikelihood(opts);
  const b = new AnomalyLikelihood(opts);
  const obs = (i: number, score: number, v: number, learn?: boolean) => ({ time: i, score, threshold: 1, pValue: 1, anomalous: false, window: { values: [v], channels: 1 }, ...(learn === undefined ? {} : { learn }) });
  for (let i = 0; i < 30; i++) {
    const score = 1 + 0.1 * Math.sin(i);
    a.filter(obs(i, score, i % 7));
    b.filter(obs(i, score, i % 7));
  }
  // b sees a planned stop: scores and values far off, judged but not learned.
  const judged = b.filter(obs(30, 50, 100, false));
  assert.equal(judged.score, 1, 'still judged: far out of range and of the history');
  assert.deepEqual(b.snapshot().scales, a.snapshot().scales, 'history and recent scores unchanged');
  assert.deepEqual(b.snapshot().range, a.snapshot().range, 'seen range unchanged');
  // Both then judge the same next window alike.
  assert.deepEqual(b.filter(obs(31, 1.05, 3)), a.filter(obs(31, 1.05, 3)));
});
