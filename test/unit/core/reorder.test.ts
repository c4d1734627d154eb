import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ReorderBuffer } from '../../../src/core/reorder';
import type { Sample, WindowEvent } from '../../../src/core/types';
import { WindowBuffer } from '../../../src/core/window';

const STREAM = { id: 's', channels: ['a', 'b'] };
const WINDOW = { size: 8, hop: 3, maxGapMs: 10_000, minCompleteness: 0.5, samplePeriodMs: 100 };

function windowsOf(samples: readonly Sample[], latenessMs: number): WindowEvent[] {
  const reorder = new ReorderBuffer(latenessMs);
  const buffer = new WindowBuffer(STREAM, WINDOW);
  const out: WindowEvent[] = [];
  const feed = (ready: readonly Sample[]): void => {
    for (const s of ready) out.push(...buffer.push(s));
  };
  for (const s of samples) feed(reorder.push(s).ready);
  feed(reorder.flush());
  return out;
}

const series: Sample[] = Array.from({ length: 80 }, (_, i) => ({ ts: 1000 + i * 100, values: [Math.sin(i / 3), i % 7] }));

test('property: any arrival order whose delays stay within the lateness, with duplicates, gives identical windows', () => {
  const reference = windowsOf(series, 0);
  assert.ok(reference.length > 20);
  fc.assert(
    fc.property(
      // Each sample's delay (ms) within the 1 s lateness, and which samples arrive twice.
      fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: series.length, maxLength: series.length }),
      fc.array(fc.boolean(), { minLength: series.length, maxLength: series.length }),
      (delays, dup) => {
        const arrivals = series.flatMap((s, i) => {
          const first = { at: s.ts + delays[i], s };
          return dup[i] ? [first, { at: s.ts + Math.min(1000, delays[i] + 37), s }] : [first];
        });
        arrivals.sort((x, y) => x.at - y.at);
        assert.deepEqual(windowsOf(arrivals.map((a) => a.s), 1000), reference);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

test('duplicates and samples later than the lateness are dropped and counted', () => {
  const r = new ReorderBuffer(500);
  const at = (ts: number): Sample => ({ ts, values: [ts] });
  assert.deepEqual(r.push(at(1000)).ready, []);
  assert.equal(r.push(at(1000)).dropped, 'duplicate');
  assert.deepEqual(r.push(at(1200)).ready, []);
  assert.deepEqual(r.push(at(1100)).ready, []);
  assert.deepEqual(r.push(at(1700)).ready.map((s) => s.ts), [1000, 1100, 1200]);
  assert.equal(r.push(at(1150)).dropped, 'late');
  assert.equal(r.push(at(1200)).dropped, 'duplicate');
  assert.deepEqual(r.flush().map((s) => s.ts), [1700]);
  assert.deepEqual(r.stats, { duplicates: 2, late: 1, held: 0 });
});

test('lateness 0 passes samples straight through and drops anything not newer', () => {
  const r = new ReorderBuffer(0);
  assert.deepEqual(r.push({ ts: 5, values: [1] }).ready.length, 1);
  assert.equal(r.push({ ts: 4, values: [1] }).dropped, 'late');
  assert.equal(r.push({ ts: 5, values: [1] }).dropped, 'duplicate');
});
