import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_GAP_STEPS, WindowBuffer, windowOptionProblems, windowsFromSeries } from '../../../src/core/window';
import type { WindowOptions } from '../../../src/core/window';
import type { StreamSpec, Window, WindowEvent } from '../../../src/core/types';

const one: StreamSpec = { id: 'pump1', channels: ['a'] };
const two: StreamSpec = { id: 'pump2', channels: ['a', 'b'] };
const N = Number.NaN;

function opts(o: Partial<WindowOptions>): WindowOptions {
  return { size: 4, hop: 1, maxGapMs: 10_000, minCompleteness: 0, ...o };
}

/** Pushes rows [ts, ...values] and collects every event. */
function run(buf: WindowBuffer, rows: number[][]): WindowEvent[] {
  const out: WindowEvent[] = [];
  for (const [ts, ...values] of rows) out.push(...buf.push({ ts, values }));
  return out;
}

function windows(events: WindowEvent[]): Window[] {
  return events.map((e) => {
    assert.equal(e.kind, 'window', `expected a scorable window, got ${JSON.stringify(e)}`);
    return (e as { kind: 'window'; window: Window }).window;
  });
}

/** Single-channel rows with value = step index and ts = 100 * step. */
function steps(n: number): number[][] {
  return Array.from({ length: n }, (_, t) => [t * 100, t]);
}

test('hop < size: overlapping windows every hop steps, oldest first', () => {
  const ws = windows(run(new WindowBuffer(one, opts({ size: 4, hop: 2 })), steps(10)));
  assert.deepEqual(
    ws.map((w) => Array.from(w.values)),
    [
      [0, 1, 2, 3],
      [2, 3, 4, 5],
      [4, 5, 6, 7],
      [6, 7, 8, 9],
    ],
  );
  assert.deepEqual(
    ws.map((w) => [w.start, w.end]),
    [
      [0, 300],
      [200, 500],
      [400, 700],
      [600, 900],
    ],
  );
  for (const w of ws) {
    assert.equal(w.stream, 'pump1');
    assert.equal(w.size, 4);
    assert.equal(w.channels, 1);
    assert.equal(w.completeness, 1);
  }
});

test('hop = size: back-to-back windows', () => {
  const ws = windows(run(new WindowBuffer(one, opts({ size: 3, hop: 3 })), steps(9)));
  assert.deepEqual(
    ws.map((w) => Array.from(w.values)),
    [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ],
  );
});

test('hop > size: the steps between windows are skipped', () => {
  const ws = windows(run(new WindowBuffer(one, opts({ size: 2, hop: 5 })), steps(12)));
  assert.deepEqual(
    ws.map((w) => Array.from(w.values)),
    [
      [0, 1],
      [5, 6],
      [10, 11],
    ],
  );
  assert.deepEqual(
    ws.map((w) => w.end),
    [100, 600, 1100],
  );
});

test('multichannel values are time-major interleaved (index t * channels + c)', () => {
  const three: StreamSpec = { id: 's', channels: ['x', 'y', 'z'] };
  const rows = [0, 1, 2, 3].map((t) => [t * 100, t, 10 + t, 20 + t]);
  const ws = windows(run(new WindowBuffer(three, opts({ size: 2, hop: 2 })), rows));
  assert.deepEqual(Array.from(ws[0].values), [0, 10, 20, 1, 11, 21]);
  assert.deepEqual(Array.from(ws[1].values), [2, 12, 22, 3, 13, 23]);
  assert.equal(ws[0].channels, 3);
});

test('a gap longer than maxGapMs restarts the window', () => {
  const buf = new WindowBuffer(one, opts({ size: 3, hop: 1, maxGapMs: 250 }));
  const rows = [
    [0, 0],
    [100, 1],
    [200, 2],
    [1000, 3],
    [1100, 4],
    [1200, 5],
  ];
  const ws = windows(run(buf, rows));
  assert.deepEqual(
    ws.map((w) => Array.from(w.values)),
    [
      [0, 1, 2],
      [3, 4, 5],
    ],
  );
  assert.deepEqual([ws[1].start, ws[1].end], [1000, 1200]);
  assert.equal(buf.stats.gapRestarts, 1);
  assert.equal(buf.stats.samples, 6);
});

test('a gap within maxGapMs without samplePeriodMs just continues', () => {
  const buf = new WindowBuffer(one, opts({ size: 3, hop: 1, maxGapMs: 1000 }));
  const ws = windows(run(buf, [[0, 0], [100, 1], [900, 2]]));
  assert.deepEqual(Array.from(ws[0].values), [0, 1, 2]);
  assert.deepEqual([ws[0].start, ws[0].end], [0, 900]);
  assert.equal(buf.stats.filledSteps, 0);
  assert.equal(buf.stats.gapRestarts, 0);
});

test('with samplePeriodMs a gap is filled with missing steps so the window spans real time', () => {
  const buf = new WindowBuffer(one, opts({ size: 4, hop: 1, maxGapMs: 1000, samplePeriodMs: 100 }));
  const ws = windows(run(buf, [[0, 10], [100, 11], [400, 12]]));
  // Steps: 10 @0, 11 @100, missing @200, missing @300, 12 @400.
  assert.equal(ws.length, 2);
  assert.deepEqual(Array.from(ws[0].values), [10, 11, 11, 11]);
  assert.deepEqual([ws[0].start, ws[0].end, ws[0].completeness], [0, 300, 0.5]);
  assert.deepEqual(Array.from(ws[1].values), [11, 11, 11, 12]);
  assert.deepEqual([ws[1].start, ws[1].end, ws[1].completeness], [100, 400, 0.5]);
  assert.equal(buf.stats.filledSteps, 2);
});

test('gap filling tolerates jitter: up to 1.5 periods is no gap, rounding decides the step count', () => {
  const buf = new WindowBuffer(one, opts({ size: 3, hop: 1, samplePeriodMs: 100 }));
  run(buf, [[0, 0], [140, 1]]);
  assert.equal(buf.stats.filledSteps, 0);
  run(buf, [[300, 2]]);
  assert.equal(buf.stats.filledSteps, 1);
  run(buf, [[640, 3]]);
  assert.equal(buf.stats.filledSteps, 3, 'gap 340 = 3.4 periods -> 2 missing steps');
});

test('a gap beyond maxGapMs restarts even with samplePeriodMs', () => {
  const buf = new WindowBuffer(one, opts({ size: 2, hop: 1, maxGapMs: 500, samplePeriodMs: 100 }));
  const ws = windows(run(buf, [[0, 0], [100, 1], [700, 2], [800, 3]]));
  assert.deepEqual(
    ws.map((w) => Array.from(w.values)),
    [
      [0, 1],
      [2, 3],
    ],
  );
  assert.equal(buf.stats.filledSteps, 0);
  assert.equal(buf.stats.gapRestarts, 1);
});

test('windows below minCompleteness are reported as insufficient, not scored', () => {
  const buf = new WindowBuffer(one, opts({ size: 4, hop: 4, minCompleteness: 0.75 }));
  const events = run(buf, [[0, 1], [100, N], [200, N], [300, 4], [400, 5], [500, N], [600, 7], [700, 8]]);
  assert.equal(events.length, 2);
  assert.deepEqual(events[0], {
    kind: 'insufficient',
    window: { stream: 'pump1', start: 0, end: 300, completeness: 0.5, reason: 'low_completeness' },
  });
  assert.equal(events[1].kind, 'window');
  assert.equal(events[1].window.completeness, 0.75);
  assert.deepEqual(Array.from(windows([events[1]])[0].values), [5, 5, 7, 8]);
  assert.deepEqual(buf.stats.windows, 1);
  assert.deepEqual(buf.stats.insufficient, 1);
});

test('fill rules: forward, backward for a leading gap, from before the window, 0 if never observed', () => {
  const three: StreamSpec = { id: 's', channels: ['a', 'b', 'never'] };
  const buf = new WindowBuffer(three, opts({ size: 3, hop: 3 }));
  const ws = windows(
    run(buf, [
      [0, N, 5, N],
      [100, 1, N, N],
      [200, N, N, N],
      [300, N, N, N],
      [400, 2, N, N],
      [500, N, N, N],
    ]),
  );
  // Window 1: a has a leading gap (backward fill from 1), b carries 5 forward, 'never' is 0.
  assert.deepEqual(Array.from(ws[0].values), [1, 5, 0, 1, 5, 0, 1, 5, 0]);
  assert.equal(ws[0].completeness, 2 / 9);
  // Window 2: a starts with its last value from before the window (1), not the backward fill (2).
  assert.deepEqual(Array.from(ws[1].values), [1, 5, 0, 2, 5, 0, 2, 5, 0]);
  assert.equal(ws[1].completeness, 1 / 9);
  for (const w of ws) assert.ok(w.values.every((v) => Number.isFinite(v)), 'no NaN in a scorable window');
});

test('a gap restart forgets carried values', () => {
  const buf = new WindowBuffer(two, opts({ size: 2, hop: 2, maxGapMs: 500 }));
  const ws = windows(run(buf, [[0, 1, 9], [100, 2, 9], [1000, 3, N], [1100, 4, N]]));
  assert.deepEqual(Array.from(ws[1].values), [3, 0, 4, 0]);
});

test('out-of-order and duplicate timestamps are dropped and counted, never thrown', () => {
  const buf = new WindowBuffer(one, opts({ size: 3, hop: 1 }));
  const ws = windows(run(buf, [[0, 0], [100, 1], [100, 99], [50, 98], [200, 2]]));
  assert.deepEqual(Array.from(ws[0].values), [0, 1, 2]);
  assert.equal(buf.stats.outOfOrder, 2);
  assert.equal(buf.stats.samples, 3);
});

test('malformed samples (wrong value count, non-finite ts) are dropped and counted', () => {
  const buf = new WindowBuffer(two, opts({ size: 1, hop: 1 }));
  assert.deepEqual(buf.push({ ts: 0, values: [1] }), []);
  assert.deepEqual(buf.push({ ts: Number.NaN, values: [1, 2] }), []);
  assert.equal(buf.stats.malformed, 2);
  const ws = windows(buf.push({ ts: 1, values: [1, Number.POSITIVE_INFINITY] }));
  assert.deepEqual(Array.from(ws[0].values), [1, 0], 'infinite values count as missing');
  assert.equal(ws[0].completeness, 0.5);
});

test('the empty result cannot be mutated by a caller', () => {
  const buf = new WindowBuffer(one, opts({ size: 3 }));
  const events = buf.push({ ts: 0, values: [1] });
  const extra: WindowEvent = {
    kind: 'insufficient',
    window: { stream: '', start: 0, end: 0, completeness: 0, reason: 'low_completeness' },
  };
  assert.throws(() => events.push(extra));
});

test('reset forgets data and the last timestamp but keeps counters', () => {
  const buf = new WindowBuffer(one, opts({ size: 2, hop: 1 }));
  run(buf, [[1000, 1], [1100, 2]]);
  buf.reset();
  assert.equal(buf.buffered, 0);
  const ws = windows(run(buf, [[0, 5], [100, 6]]));
  assert.deepEqual(Array.from(ws[0].values), [5, 6]);
  assert.equal(buf.stats.samples, 4);
  assert.equal(buf.stats.windows, 2);
});

test('invalid options throw a RangeError naming the stream and field', () => {
  assert.throws(() => new WindowBuffer(one, opts({ size: 0 })), /pump1.*size/);
  assert.throws(() => new WindowBuffer(one, opts({ hop: 1.5 })), /hop/);
  assert.throws(() => new WindowBuffer(one, opts({ minCompleteness: 2 })), /minCompleteness/);
  assert.throws(() => new WindowBuffer(one, opts({ samplePeriodMs: -1 })), RangeError);
  assert.throws(() => new WindowBuffer({ id: 'x', channels: [] }, opts({})), /channel/);
});

test('windowsFromSeries gives exactly what pushing the samples one by one gives', () => {
  const rows = 50;
  const ts = new Float64Array(rows);
  const values = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    ts[r] = r * 100 + (r > 30 ? 2000 : 0) + (r === 10 ? -150 : 0);
    values[r * 2] = r % 7 === 0 ? N : r;
    values[r * 2 + 1] = -r;
  }
  const o = opts({ size: 8, hop: 3, maxGapMs: 1000, minCompleteness: 0.9, samplePeriodMs: 100 });
  const offline = windowsFromSeries(two, ts, values, o);
  const buf = new WindowBuffer(two, o);
  const online: WindowEvent[] = [];
  for (let r = 0; r < rows; r++) online.push(...buf.push({ ts: ts[r], values: [values[r * 2], values[r * 2 + 1]] }));
  assert.ok(offline.length > 5);
  assert.ok(offline.some((e) => e.kind === 'insufficient'));
  assert.deepEqual(offline, online);
  assert.throws(() => windowsFromSeries(two, ts, values.subarray(1), o), RangeError);
});

test('long filled gaps emit every window they cross', () => {
  const o = opts({ size: 2, hop: 2, maxGapMs: 10_000, samplePeriodMs: 100, minCompleteness: 0.5 });
  const buf = new WindowBuffer(one, o);
  const events = run(buf, [[0, 1], [100, 2], [1000, 3]]);
  // Steps 0..10: windows end at steps 1, 3, 5, 7, 9; only the first has data.
  assert.deepEqual(
    events.map((e) => [e.kind, e.window.end]),
    [
      ['window', 100],
      ['insufficient', 300],
      ['insufficient', 500],
      ['insufficient', 700],
      ['insufficient', 900],
    ],
  );
});

test('snapshot/restore: a restored buffer emits exactly what the original would, at every cut point', () => {
  const o = opts({ size: 5, hop: 3, samplePeriodMs: 1000, minCompleteness: 0.5 });
  // Regular samples, a filled gap, a missing value and a gap restart, so the cut lands in every state.
  const rows: number[][] = [];
  for (let i = 0; i < 40; i++) {
    if (i === 12 || i === 13) continue;
    const ts = i < 25 ? i * 1000 : 60_000 + i * 1000;
    rows.push([ts, i, i === 17 ? N : -i]);
  }
  const whole = run(new WindowBuffer(two, o), rows);
  for (let cut = 0; cut <= rows.length; cut++) {
    const a = new WindowBuffer(two, o);
    const before = run(a, rows.slice(0, cut));
    const b = new WindowBuffer(two, o);
    b.restore(a.snapshot());
    const after = run(b, rows.slice(cut));
    assert.deepEqual([...before, ...after], whole, `cut after ${cut} rows`);
  }
});

test('restore refuses a snapshot of another geometry and leaves the buffer unchanged', () => {
  const a = new WindowBuffer(two, opts({ size: 4, hop: 2 }));
  run(a, [[0, 1, 2], [1000, 3, 4]]);
  const b = new WindowBuffer(two, opts({ size: 5, hop: 2 }));
  assert.throws(() => b.restore(a.snapshot()), /does not match its geometry/);
  assert.equal(b.buffered, 0);
});

test('rings carved from shared slabs stay independent: many interleaved buffers each see only their own samples', () => {
  // Enough buffers of two geometries to span several slabs, fed interleaved so an overlapping slot would mix them.
  const bufs = Array.from({ length: 3000 }, (_, i) => new WindowBuffer(i % 2 ? two : one, opts({ size: 25, hop: 25 })));
  const got: Window[][] = bufs.map(() => []);
  for (let t = 1; t <= 25; t++) {
    bufs.forEach((b, i) => {
      const v = i * 1000 + t;
      got[i].push(...windows(b.push({ ts: t * 1000, values: i % 2 ? [v, -v] : [v] })));
    });
  }
  bufs.forEach((_, i) => {
    assert.equal(got[i].length, 1, `buffer ${i}`);
    const expect = Array.from({ length: 25 }, (_, k) => (i % 2 ? [i * 1000 + k + 1, -(i * 1000 + k + 1)] : [i * 1000 + k + 1])).flat();
    assert.deepEqual(Array.from(got[i][0].values), expect, `buffer ${i}`);
  });
});

test('view(): the same steps as snapshot(), without a copy, at every cut point (wrapped ring included)', () => {
  const o = opts({ size: 5, hop: 3, samplePeriodMs: 1000, minCompleteness: 0.5 });
  const concat = <T extends Float32Array | Float64Array>(blocks: readonly T[]): number[] => blocks.flatMap((b) => [...b]);
  const buf = new WindowBuffer(two, o);
  let wrapped = false;
  for (let i = 0; i < 23; i++) {
    run(buf, [[i * 1000, i, i === 7 ? N : -i]]);
    const snap = buf.snapshot();
    const view = buf.view();
    if (view.ts.length === 2) wrapped = true;
    assert.deepEqual(concat(view.ts), [...snap.ts], `ts after ${i + 1} samples`);
    assert.deepEqual(concat(view.values), [...snap.values], `values after ${i + 1} samples`);
    assert.deepEqual([view.size, view.hop, view.channels, view.untilEmit, view.lastTs], [snap.size, snap.hop, snap.channels, snap.untilEmit, snap.lastTs]);
    assert.deepEqual([...view.beforeWindow], [...snap.beforeWindow]);
  }
  assert.ok(wrapped, 'the ring wrapped at least once');
  // Shared, not copied: the next sample changes what the view shows, and not the snapshot.
  const snap = buf.snapshot();
  const view = buf.view();
  run(buf, [[23_000, 99, 99]]);
  assert.ok(concat(view.ts).includes(23_000), 'the view shows the ring as it is now');
  assert.ok(![...snap.ts].includes(23_000), 'the snapshot is a copy');
});

test('windows match a plain model of the rules, complete or not, across ring wraps, filled gaps and restarts', async () => {
  const fc = (await import('fast-check')).default;
  const o = opts({ size: 5, hop: 2, samplePeriodMs: 1000, maxGapMs: 4500, minCompleteness: 0 });
  const value = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: -50, max: 50 }) }, { weight: 1, arbitrary: fc.constant(N) });
  const row = fc.tuple(fc.constantFrom(1000, 1000, 1000, 2000, 3000, 6000), value, value);
  fc.assert(
    fc.property(fc.array(row, { maxLength: 60 }), (rows) => {
      let ts = 0;
      const input = rows.map(([dt, a, b]) => [(ts += dt), a, b]);
      const got = run(new WindowBuffer(two, o), input).map((e) => (e.kind === 'window' ? [e.window.end, e.window.completeness, ...e.window.values] : [e.window.end, e.window.completeness]));
      assert.deepEqual(got, model(input));
    }),
    { seed: 20261127, numRuns: 500 },
  );

  /** The same rules as plainly as they can be written: every step kept, each window filled from scratch. */
  function model(input: number[][]): number[][] {
    const out: number[][] = [];
    let steps: { ts: number; v: number[] }[] = [];
    let untilEmit = o.size;
    const add = (t: number, v: number[]): void => {
      steps.push({ ts: t, v: v.map((x) => (Number.isFinite(x) ? Math.fround(x) : N)) });
      if (--untilEmit > 0) return;
      untilEmit = o.hop;
      const win = steps.slice(-o.size);
      const before = steps.slice(0, -o.size);
      const flat = win.flatMap((s) => s.v);
      const completeness = flat.filter((x) => !Number.isNaN(x)).length / flat.length;
      const values: number[] = [];
      for (let c = 0; c < 2; c++) {
        const seen = [...before].reverse().find((s) => !Number.isNaN(s.v[c]));
        let carry = seen ? seen.v[c] : N;
        const first = win.find((s) => !Number.isNaN(s.v[c]));
        const col = win.map((s) => (Number.isNaN(s.v[c]) ? carry : (carry = s.v[c])));
        const back = first ? first.v[c] : 0;
        values.push(...col.map((x) => (Number.isNaN(x) ? back : x)));
      }
      // Time-major, as a window is laid out.
      const tm: number[] = [];
      for (let t = 0; t < o.size; t++) tm.push(values[t], values[o.size + t]);
      out.push([win[o.size - 1].ts, completeness, ...tm]);
    };
    let last = -Infinity;
    for (const [t, a, b] of input) {
      if (last !== -Infinity) {
        const gap = t - last;
        if (gap > o.maxGapMs) {
          steps = [];
          untilEmit = o.size;
        } else if (gap > 1.5 * 1000) {
          for (let k = 1; k <= Math.round(gap / 1000) - 1; k++) add(last + k * 1000, [N, N]);
        }
      }
      add(t, [a, b]);
      last = t;
    }
    return out;
  }
});

test('fill state: steps until the next window and the time the buffered steps span, for the status page', () => {
  const buf = new WindowBuffer(one, opts({ size: 4, hop: 2 }));
  assert.deepEqual([buf.buffered, buf.stepsUntilWindow, buf.bufferedSpanMs], [0, 4, 0]);
  run(buf, [[1000, 1]]);
  assert.deepEqual([buf.buffered, buf.stepsUntilWindow, buf.bufferedSpanMs], [1, 3, 0]);
  run(buf, [[1100, 1], [1250, 1]]);
  assert.deepEqual([buf.buffered, buf.stepsUntilWindow, buf.bufferedSpanMs], [3, 1, 250]);
  run(buf, [[1300, 1]]); // the first window
  assert.deepEqual([buf.buffered, buf.stepsUntilWindow, buf.bufferedSpanMs], [4, 2, 300]);
  run(buf, [[1400, 1], [1500, 1]]); // the ring wrapped: span from the oldest step kept
  assert.deepEqual([buf.buffered, buf.stepsUntilWindow, buf.bufferedSpanMs], [4, 2, 250]);
  run(buf, [[99_000, 1]]); // a gap beyond maxGapMs: the first window of a new run
  assert.deepEqual([buf.buffered, buf.stepsUntilWindow, buf.bufferedSpanMs], [1, 3, 0]);
});

test('a gap needing more than maxGapSteps filled steps restarts the window instead', () => {
  const o = opts({ size: 2, hop: 2, maxGapMs: 10_000, samplePeriodMs: 100, minCompleteness: 0.5, maxGapSteps: 8 });
  // 8 missing steps (gap 900 ms): filled, as without the bound.
  const filled = new WindowBuffer(one, o);
  assert.equal(run(filled, [[0, 1], [100, 2], [1000, 3]]).length, 5);
  assert.deepEqual([filled.stats.filledSteps, filled.stats.gapRestarts], [8, 0]);
  // 9 missing steps (gap 1000 ms, within maxGapMs): a restart, nothing filled, no window from the gap.
  const restarted = new WindowBuffer(one, o);
  assert.deepEqual(
    run(restarted, [[0, 1], [100, 2], [1100, 3], [1200, 4]]).map((e) => [e.kind, e.window.start, e.window.end]),
    [
      ['window', 0, 100],
      ['window', 1100, 1200],
    ],
  );
  assert.deepEqual([restarted.stats.filledSteps, restarted.stats.gapRestarts], [0, 1]);
});

test('gap filling stays bounded by default however short the period (issue: 80 samples made 15.6 M windows)', () => {
  const o = opts({ size: 64, hop: 1, maxGapMs: 1000, samplePeriodMs: 0.001, minCompleteness: 0.9 });
  const buf = new WindowBuffer(one, o);
  let events = 0;
  for (let i = 0; i < 80; i++) events += buf.push({ ts: i * 12.5, values: [i] }).length;
  assert.equal(buf.stats.filledSteps, 0, 'each 12.5 ms pause needs 12,499 steps, more than the default 10,000');
  assert.equal(buf.stats.gapRestarts, 79);
  assert.equal(events, 0);
  // Pauses within the default bound are still filled.
  const near = new WindowBuffer(one, o);
  near.push({ ts: 0, values: [1] });
  near.push({ ts: (DEFAULT_MAX_GAP_STEPS + 1) * 0.001, values: [2] });
  assert.deepEqual([near.stats.filledSteps, near.stats.gapRestarts], [DEFAULT_MAX_GAP_STEPS, 0]);
});

test('window options: the constructor and windowOptionProblems refuse the same values', () => {
  const bad: Partial<WindowOptions>[] = [{ maxGapMs: 0 }, { size: 0 }, { hop: 1.5 }, { minCompleteness: -0.1 }, { samplePeriodMs: Number.NaN }, { maxGapSteps: 0 }];
  for (const b of bad) {
    const o = opts(b);
    assert.equal(windowOptionProblems(o).length, 1, JSON.stringify(b));
    assert.throws(() => new WindowBuffer(one, o), RangeError);
  }
  assert.deepEqual(windowOptionProblems(opts({ samplePeriodMs: 0.001, maxGapMs: 1_000_000 })), [], 'any ratio: the fill is bounded by steps');
});
