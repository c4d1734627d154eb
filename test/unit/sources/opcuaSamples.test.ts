import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasOverflow, numericValue, qualityOf, SampleAssembler, snapToGrid } from '../../../src/sources/opcuaSamples';

const at = (subscription: number, channel: number) => ({ subscription, channel });
const plain = (samples: { subscription: number; ts: number; values: Float64Array }[]) => samples.map((s) => ({ k: s.subscription, ts: s.ts, values: [...s.values] }));

describe('OPC UA samples', () => {
  it('makes one sample per stream and time, keeping the last value of channels that did not change', () => {
    const a = new SampleAssembler([3, 1]);
    const first = a.take([
      { target: at(0, 0), ts: 1000, value: 1 },
      { target: at(1, 0), ts: 1000, value: 9 },
      { target: at(0, 1), ts: 1000, value: 2 },
      { target: at(0, 2), ts: 1000, value: 3 },
      { target: at(0, 1), ts: 2000, value: 5 },
    ]);
    assert.deepEqual(plain(first), [
      { k: 0, ts: 1000, values: [1, 2, 3] },
      { k: 0, ts: 2000, values: [1, 5, 3] },
      { k: 1, ts: 1000, values: [9] },
    ]);
    // The next message: only channel 2 changed.
    assert.deepEqual(plain(a.take([{ target: at(0, 2), ts: 3000, value: 7 }])), [{ k: 0, ts: 3000, values: [1, 5, 7] }]);
  });

  it('leaves a channel unknown (NaN) from a Bad value until a good one comes', () => {
    const a = new SampleAssembler([2]);
    a.take([{ target: at(0, 0), ts: 1, value: 1 }, { target: at(0, 1), ts: 1, value: 2 }]);
    const bad = plain(a.take([{ target: at(0, 1), ts: 2, value: Number.NaN }]));
    assert.equal(bad[0]?.values[0], 1);
    assert.ok(Number.isNaN(bad[0]?.values[1]));
    const still = plain(a.take([{ target: at(0, 0), ts: 3, value: 4 }]));
    assert.equal(still[0]?.values[0], 4);
    assert.ok(Number.isNaN(still[0]?.values[1]), 'no value is made up for the Bad channel');
    assert.deepEqual(plain(a.take([{ target: at(0, 1), ts: 4, value: 6 }]))[0]?.values, [4, 6]);
  });

  it('starts every channel unknown', () => {
    const s = new SampleAssembler([2]).take([{ target: at(0, 1), ts: 1, value: 3 }])[0];
    assert.ok(Number.isNaN(s?.values[0]));
    assert.equal(s?.values[1], 3);
  });

  it('makes no second sample for a time already handed on: its late changes are carried by the next sample', () => {
    // Items sampled on their own timers (or made again after a server restart) can report one time in two
    // notification messages: the second part must not become a duplicate sample.
    const a = new SampleAssembler([3, 1]);
    assert.deepEqual(plain(a.take([{ target: at(0, 0), ts: 1000, value: 1 }, { target: at(0, 1), ts: 1000, value: 2 }])), [{ k: 0, ts: 1000, values: [1, 2, NaN] }]);
    const late = a.take([
      { target: at(0, 2), ts: 1000, value: 3 },
      { target: at(1, 0), ts: 1000, value: 9 },
    ]);
    assert.deepEqual(plain(late), [{ k: 1, ts: 1000, values: [9] }], 'stream 0 took time 1000 already; stream 1 had not');
    assert.deepEqual(plain(a.take([{ target: at(0, 0), ts: 2000, value: 4 }])), [{ k: 0, ts: 2000, values: [4, 2, 3] }]);
    // Both parts of a later time in one message still make one sample.
    assert.deepEqual(plain(a.take([{ target: at(0, 1), ts: 3000, value: 5 }, { target: at(0, 2), ts: 3000, value: 6 }])), [{ k: 0, ts: 3000, values: [4, 5, 6] }]);
  });

  it('reads status code severity and the overflow bit', () => {
    assert.equal(qualityOf(0), 'good');
    assert.equal(qualityOf(0x0000_0480), 'good', 'Good with the overflow bit is still Good');
    assert.equal(qualityOf(0x4000_0000), 'uncertain');
    assert.equal(qualityOf(0x808c_0000), 'bad');
    assert.equal(hasOverflow(0x0000_0480), true);
    assert.equal(hasOverflow(0x0000_0400), false);
    assert.equal(hasOverflow(0x808c_0000), false);
  });

  it('takes finite numbers, booleans and safe 64-bit integers, and names what it refuses', () => {
    assert.deepEqual(numericValue(2.5), { ok: true, value: 2.5 });
    assert.deepEqual(numericValue(true), { ok: true, value: 1 });
    assert.deepEqual(numericValue(12n), { ok: true, value: 12 });
    assert.equal(numericValue(2n ** 60n).ok, false);
    assert.deepEqual(numericValue('3'), { ok: false, why: 'not a number (string)' });
    assert.deepEqual(numericValue([1, 2]), { ok: false, why: 'not a number (an array)' });
    assert.deepEqual(numericValue(Number.NaN), { ok: false, why: 'not a finite number (NaN)' });
    assert.deepEqual(numericValue(null), { ok: false, why: 'no value' });
  });

  it('snaps server timestamps to the sampling grid', () => {
    assert.equal(snapToGrid(10_004, 1000), 10_000);
    assert.equal(snapToGrid(10_497, 1000), 10_000);
    assert.equal(snapToGrid(10_503, 1000), 11_000);
    assert.equal(snapToGrid(10_503, 0), 10_503);
  });
});
