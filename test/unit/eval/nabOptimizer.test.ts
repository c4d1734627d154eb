import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optimizeNabThreshold } from '../../../src/eval/nabOptimizer';
import { NAB_PROFILES, scoreNabCorpus, type NabFileInput } from '../../../src/eval/nabScorer';

const STD = NAB_PROFILES.standard;

void test('finds the best threshold on a toy corpus and keeps the higher threshold on a tie', () => {
  // Window rows 40..49. 0.9 at row 41 (a TP), 0.85 at row 47 (a later TP: changes nothing), 0.8 on ten
  // rows 60..69 (FPs), 0.2 elsewhere.
  const scores = Float64Array.from({ length: 100 }, (_, i) => (i === 41 ? 0.9 : i === 47 ? 0.85 : i >= 60 && i < 70 ? 0.8 : 0.2));
  const files: NabFileInput[] = [{ name: 'a', scores, windows: [{ start: 40, end: 49 }] }];
  const opt = optimizeNabThreshold(files, STD);
  assert.equal(opt.threshold, 0.9);
  assert.equal(opt.score.detected, 1);
  assert.equal(opt.score.falsePositiveRows, 0);
  assert.ok(opt.score.normalised > scoreNabCorpus(files, 0.8, STD).normalised);
  assert.ok(opt.score.normalised > scoreNabCorpus(files, 0.95, STD).normalised);
});

void test('no detection at all wins when every detection costs: threshold 1.1 and a score of 0', () => {
  const scores = Float64Array.from({ length: 100 }, (_, i) => (i === 90 ? 0.7 : 0.1));
  const files: NabFileInput[] = [{ name: 'a', scores, windows: [{ start: 40, end: 49 }] }];
  const opt = optimizeNabThreshold(files, STD);
  assert.equal(opt.threshold, 1.1);
  assert.equal(opt.score.normalised, 0);
});

void test('matches a brute-force search over every distinct score on a random corpus', () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const files: NabFileInput[] = [0, 1, 2].map((k) => ({
    name: `f${k}`,
    // Two decimals make many ties between rows.
    scores: Float64Array.from({ length: 400 }, (_, i) => Math.round((rand() * 0.6 + (i % 97 < 12 ? 0.4 : 0)) * 100) / 100),
    windows: [
      { start: 100 + k * 10, end: 130 + k * 10 },
      { start: 250, end: 290 },
    ],
  }));
  for (const [name, cost] of Object.entries(NAB_PROFILES)) {
    const opt = optimizeNabThreshold(files, cost);
    const candidates = [1.1, ...new Set(files.flatMap((f) => [...(f.scores as Float64Array)]))];
    let best = -Infinity;
    for (const t of candidates) best = Math.max(best, scoreNabCorpus(files, t, cost).normalised);
    assert.ok(Math.abs(opt.score.normalised - best) < 1e-9, `${name}: optimiser ${opt.score.normalised}, brute force ${best}`);
    assert.ok(Math.abs(scoreNabCorpus(files, opt.threshold, cost).normalised - best) < 1e-9);
  }
});
