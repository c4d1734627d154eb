// The reading of one channel of a window: observed and expected at the step where they differ most, with the
// transform undone, numbers rounded to what float32 data can say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelReading } from '../../../src/core/channelReading';

const RANGE = { min: 55, max: 70 };

describe('channelReading', () => {
  it('reports the step of largest disagreement of the asked channel, not of the window', () => {
    // Two channels, four steps, time-major. Channel 0 departs most at step 2; channel 1 at step 0.
    const observed = [60, 1, 61, 2, 92.1, 2, 62, 2];
    const reconstruction = [60.5, 5, 61, 2, 61.4, 2, 61, 2];
    assert.deepEqual(channelReading('none', observed, reconstruction, 2, 0, RANGE), { observed: 92.1, expected: 61.4, trainingMin: 55, trainingMax: 70 });
    assert.deepEqual(channelReading('none', observed, reconstruction, 2, 1, { min: 0, max: 3 }), { observed: 1, expected: 5, trainingMin: 0, trainingMax: 3 });
  });

  it('between equal differences the later (newer) sample is reported', () => {
    const r = channelReading('none', [10, 20, 30], [11, 21, 31], 1, 0, RANGE);
    assert.equal(r.observed, 30);
    assert.equal(r.expected, 31);
  });

  it('rounds float32 noise to six significant digits and leaves unknown bounds unknown', () => {
    const observed = Float32Array.from([61.4]);
    const r = channelReading('none', observed, Float32Array.from([1500.123456789]), 1, 0, { min: NaN, max: NaN });
    assert.equal(observed[0] === 61.4, false, 'float32 cannot hold 61.4');
    assert.equal(r.observed, 61.4);
    assert.equal(r.expected, 1500.12);
    assert.ok(Number.isNaN(r.trainingMin) && Number.isNaN(r.trainingMax));
  });

  it('a demeaned channel is expected at its window mean plus the reconstructed shape', () => {
    // Mean of [10, 10, 10, 14] is 11; the model reconstructs a flat shape (deviation 0) where the step was.
    const r = channelReading('demean', [10, 10, 10, 14], [-1, -1, -1, 0], 1, 0, RANGE);
    assert.deepEqual(r, { observed: 14, expected: 11, trainingMin: 55, trainingMax: 70 });
  });

  it('a demeaned channel with level bounds is expected at its mean held within them', () => {
    // Mean 11 held at the bound 5: the model reconstructed the flat shape around 5, so it expected 5 at the step.
    const r = channelReading('demean', [10, 10, 10, 14], [0, 0, 0, 0], 1, 0, RANGE, [[0, 5]]);
    assert.deepEqual(r, { observed: 14, expected: 5, trainingMin: 55, trainingMax: 70 });
  });

  it('a differenced channel is expected one step ahead of its observed previous sample; the first step expects what it read', () => {
    // Reconstructed steps of +1; the jump from 12 to 20 at step 3 is where it departs (expected 13).
    const r = channelReading('diff', [10, 11, 12, 20], [1, 1, 1, 1], 1, 0, RANGE);
    assert.deepEqual(r, { observed: 20, expected: 13, trainingMin: 55, trainingMax: 70 });
    const first = channelReading('diff', [5], [3], 1, 0, RANGE);
    assert.equal(first.expected, 5);
  });

  it('refuses data that do not hold the channel', () => {
    assert.throws(() => channelReading('none', [1, 2, 3], [1, 2, 3], 2, 0, RANGE), RangeError);
    assert.throws(() => channelReading('none', [1, 2], [1], 1, 0, RANGE), RangeError);
    assert.throws(() => channelReading('none', [1, 2], [1, 2], 2, 2, RANGE), RangeError);
  });
});
