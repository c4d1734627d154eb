// The rhythm tracker survives a restart with its stream's window: the checkpoint encodes the window buffer's view
// (rings and running values of the tracker after the window's own fields), a restarted daemon decodes it and
// restores the buffer, and every later window carries exactly the prematurity it would have without the restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowBuffer, type WindowOptions } from '../../../src/core/window';
import type { Window } from '../../../src/core/types';
import { decodeStreams, encodeStreams } from '../../../src/state/sampleCodec';

const PERIOD_MS = 1000 / 360;
const SPEC = { id: 'ecg', channels: ['MLII', 'V1'] };
const OPTIONS: WindowOptions = {
  size: 360,
  hop: 36,
  maxGapMs: 1000,
  minCompleteness: 0.9,
  rhythm: { channel: 0, slopeSteps: 4, smoothingSteps: 36, thresholdFraction: 0.2, peakHalfLifeMs: 1500, refractoryMs: 300, historyEvents: 8 },
};

/** Beats every 800 ms with every seventh 250 ms early; a fixed-seed noise floor. */
function lead(samples: number): Float32Array {
  const beats: number[] = [];
  for (let k = 0, t = 1000; t < (samples + 360) * PERIOD_MS; k++, t += 800) beats.push(k % 7 === 6 ? t - 250 : t);
  const out = new Float32Array(samples);
  let s = 3;
  for (let i = 0; i < samples; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    let v = 0.01 * (s / 2147483648 - 0.5);
    for (const b of beats) {
      const t = i * PERIOD_MS - b;
      if (Math.abs(t) < 60) v += Math.exp(-0.5 * (t / 8) ** 2);
    }
    out[i] = v;
  }
  return out;
}

function feed(buffer: WindowBuffer, x: Float32Array, from: number, to: number): Window[] {
  const out: Window[] = [];
  for (let i = from; i < to; i++) for (const e of buffer.push({ ts: i * PERIOD_MS, values: [x[i], -x[i]] })) if (e.kind === 'window') out.push(e.window);
  return out;
}

test('a stream restored from its checkpoint carries on the rhythm exactly as one that never stopped', () => {
  const x = lead(360 * 30);
  const whole = feed(new WindowBuffer(SPEC, OPTIONS), x, 0, x.length).map((w) => w.prematurity);
  assert.ok(whole.some((p) => p !== undefined && p < 0.75), 'the early beats show');

  const before = new WindowBuffer(SPEC, OPTIONS);
  const cut = 360 * 17 + 5;
  const first = feed(before, x, 0, cut).map((w) => w.prematurity);
  const frames = decodeStreams(encodeStreams(new Map([['ecg', { window: before.view(), held: [] }]])));
  assert.equal(frames.damaged, 0);
  const [id, snapshot] = frames.items[0];
  assert.equal(id, 'ecg');
  assert.ok(snapshot.window.rhythm, 'the checkpoint carries the tracker');
  const after = new WindowBuffer(SPEC, OPTIONS);
  after.restore(snapshot.window);
  const rest = feed(after, x, cut, x.length).map((w) => w.prematurity);
  assert.deepEqual([...first, ...rest], whole);

  // Without the tracker's state (a checkpoint from before it existed) the stream starts its rhythm afresh.
  const fresh = new WindowBuffer(SPEC, OPTIONS);
  fresh.restore({ ...snapshot.window, rhythm: undefined });
  assert.equal(feed(fresh, x, cut, cut + 36)[0]?.prematurity, 1);
});

test('a stream without a tracker checkpoints and restores as before (no rhythm in the frame)', () => {
  const plain: WindowOptions = { size: OPTIONS.size, hop: OPTIONS.hop, maxGapMs: OPTIONS.maxGapMs, minCompleteness: OPTIONS.minCompleteness };
  const buffer = new WindowBuffer(SPEC, plain);
  feed(buffer, lead(720), 0, 720);
  const [[, snapshot]] = decodeStreams(encodeStreams(new Map([['ecg', { window: buffer.view(), held: [] }]]))).items;
  assert.equal(snapshot.window.rhythm, undefined);
  assert.equal(feed(buffer, lead(800), 720, 756)[0]?.prematurity, undefined);
});
