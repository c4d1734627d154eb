import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, confusion, rocAuc, rocCurve } from '../../../src/eval/metrics';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

void test('rocAuc: perfect separation is 1, reversed is 0', () => {
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true]), 0);
});

void test('rocAuc: all scores tied is 0.5', () => {
  assert.equal(rocAuc([3, 3, 3, 3, 3], [true, false, false, true, false]), 0.5);
});

void test('rocAuc: each positive tied with one negative is 0.5', () => {
  assert.equal(rocAuc([1, 1, 2, 2], [true, false, true, false]), 0.5);
});

void test('rocAuc: hand-computed value with a partial tie', () => {
  // pos = {0.4, 0.6}, neg = {0.2, 0.4, 0.8}. Pairs (pos > neg): 0.4>0.2 (1), 0.4=0.4 (0.5), 0.4<0.8 (0),
  // 0.6>0.2 (1), 0.6>0.4 (1), 0.6<0.8 (0) -> 3.5 / 6.
  close(rocAuc([0.2, 0.4, 0.4, 0.6, 0.8], [false, true, false, true, false]), 3.5 / 6);
});

void test('rocAuc: accepts typed arrays and infinite scores', () => {
  close(rocAuc(new Float32Array([Infinity, 1, -Infinity, 2]), [true, false, false, true]), 1);
  assert.equal(rocAuc([Infinity, Infinity], [true, false]), 0.5);
});

void test('rocAuc is NaN when a class is empty', () => {
  assert.ok(Number.isNaN(rocAuc([1, 2, 3], [true, true, true])));
  assert.ok(Number.isNaN(rocAuc([1, 2, 3], [false, false, false])));
  assert.ok(Number.isNaN(rocAuc([], [])));
});

void test('rocAuc rejects NaN scores and length mismatches', () => {
  assert.throws(() => rocAuc([1, NaN], [true, false]), RangeError);
  assert.throws(() => rocAuc([1, 2], [true]), RangeError);
});

void test('rocCurve: points from (0,0) to (1,1) and trapezoidal area equals rocAuc', () => {
  const scores = [0.2, 0.4, 0.4, 0.6, 0.8];
  const pos = [false, true, false, true, false];
  const pts = rocCurve(scores, pos);
  assert.deepEqual(pts, [
    { threshold: Infinity, fpr: 0, tpr: 0 },
    { threshold: 0.8, fpr: 1 / 3, tpr: 0 },
    { threshold: 0.6, fpr: 1 / 3, tpr: 0.5 },
    { threshold: 0.4, fpr: 2 / 3, tpr: 1 },
    { threshold: 0.2, fpr: 1, tpr: 1 },
  ]);
  let area = 0;
  for (let i = 1; i < pts.length; i++) area += ((pts[i].fpr - pts[i - 1].fpr) * (pts[i].tpr + pts[i - 1].tpr)) / 2;
  close(area, rocAuc(scores, pos));
});

void test('rocCurve is empty when a class is empty', () => {
  assert.deepEqual(rocCurve([1, 2], [true, true]), []);
});

void test('confusion counts each cell', () => {
  const pred = [true, true, false, false, true, false];
  const actual = [true, false, false, true, true, false];
  assert.deepEqual(confusion(pred, actual), { tp: 2, fp: 1, tn: 2, fn: 1 });
  assert.throws(() => confusion([true], []), RangeError);
});

void test('classificationMetrics: hand-computed values', () => {
  const m = classificationMetrics({ tp: 6, fp: 2, tn: 10, fn: 4 });
  close(m.accuracy, 16 / 22);
  close(m.precision, 6 / 8);
  close(m.recall, 6 / 10);
  close(m.f1, (2 * 0.75 * 0.6) / (0.75 + 0.6));
  close(m.specificity, 10 / 12);
  close(m.far, 2 / 12);
  close(m.mar, 4 / 10);
});

void test('classificationMetrics: zero denominators give 0, not NaN', () => {
  assert.deepEqual(classificationMetrics({ tp: 0, fp: 0, tn: 5, fn: 0 }), {
    accuracy: 1,
    precision: 0,
    recall: 0,
    f1: 0,
    specificity: 1,
    far: 0,
    mar: 0,
  });
  assert.deepEqual(classificationMetrics({ tp: 0, fp: 0, tn: 0, fn: 0 }), {
    accuracy: 0,
    precision: 0,
    recall: 0,
    f1: 0,
    specificity: 0,
    far: 0,
    mar: 0,
  });
});
