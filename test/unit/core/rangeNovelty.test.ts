import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RangeNovelty } from '../../../src/core/rangeNovelty';

void test('a value beyond the seen range plus the tolerance is novel once; then it is part of the range', () => {
  const r = new RangeNovelty(0.1, 1);
  assert.equal(r.observe([0, 10, 5]), false, 'the first window has nothing to compare with');
  assert.equal(r.observe([10.9, -0.9]), false, 'within 10% of the range (10) outside it; the range is now [-0.9, 10.9]');
  assert.equal(r.observe([12.5]), true);
  assert.equal(r.observe([12.5]), false, 'the new maximum is no longer news');
  assert.equal(r.observe([-3]), true, 'below the minimum counts too');
});

void test('channels are judged on their own ranges; a channel without spread yet judges nothing', () => {
  const r = new RangeNovelty(0.05, 2);
  // Channel 0 spans [0, 1], channel 1 is constant at 100.
  r.observe([0, 100, 1, 100]);
  assert.equal(r.observe([0.5, 1000]), false, 'channel 1 had no spread to measure a tolerance with');
  assert.equal(r.observe([0.5, 1000]), false);
  assert.equal(r.observe([1.2, 500]), true, 'channel 0 left [0, 1] by more than 5%');
});

void test('missing values (NaN) neither extend the range nor count as novel', () => {
  const r = new RangeNovelty(0, 1);
  r.observe([0, 1]);
  assert.equal(r.observe([NaN, 0.5]), false);
  assert.equal(r.observe([1.01, NaN]), true);
});

void test('bad options and ragged windows are rejected', () => {
  assert.throws(() => new RangeNovelty(-0.1, 1), /tolerance/);
  assert.throws(() => new RangeNovelty(Number.NaN, 1), /tolerance/);
  assert.throws(() => new RangeNovelty(0.05, 0), /channels/);
  assert.throws(() => new RangeNovelty(0.05, 2).observe([1, 2, 3]), /2-channel/);
});

void test('a known range seeds the seen range: the first windows are judged against it, not against themselves', () => {
  const r = new RangeNovelty(0.05, 2);
  r.include([0, 10], [1, 20]);
  assert.equal(r.observe([0.5, 15, 0.6, 15.5]), false, 'inside the seeded range');
  assert.equal(r.observe([1.2, 15]), true, 'channel 0 beyond the seeded [0, 1] by more than 5%');
  const other = new RangeNovelty(0.05, 1);
  other.include([Number.NaN], [Number.NaN]);
  assert.equal(other.observe([0, 1]), false, 'non-finite seeds are ignored: nothing to compare with yet');
});
