// The journal's encoding of message batches, byte for byte against a reference written with Buffer's own
// writers (the encoder's fast paths must not change format 2): sample times, value counts and float32 values of
// every kind (typed arrays, plain arrays, more values than the scratch holds, NaN, infinities, -0, values beyond
// float32), and headers cached per frozen labels object but never for labels that can change. Fixed seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeJournal, encodeBatch, JOURNAL_MAGIC, JournalGroup } from '../../../src/state/sampleCodec';
import type { Sample } from '../../../src/core/types';
import type { StreamSamples } from '../../../src/sources/source';

const SEED = 20261127;

/** A batch as format 2 lays it out: header (u32 length + JSON), u32 count, per sample f64 time, u16 n, n x f32. */
function reference(batch: StreamSamples): Buffer {
  const json = Buffer.from(JSON.stringify([batch.stream, batch.subscription, batch.labels]), 'utf8');
  const parts: Buffer[] = [Buffer.alloc(4), json, Buffer.alloc(4)];
  parts[0].writeUInt32LE(json.length, 0);
  parts[2].writeUInt32LE(batch.samples.length, 0);
  for (const s of batch.samples) {
    const b = Buffer.alloc(10 + s.values.length * 4);
    b.writeDoubleLE(s.ts, 0);
    b.writeUInt16LE(s.values.length, 8);
    for (let i = 0; i < s.values.length; i++) b.writeFloatLE(s.values[i], 10 + i * 4);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

const value = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e39, -1e39, 3.4028235677973366e38, 1e-46));
const values = fc.oneof(
  fc.array(value, { maxLength: 70 }),
  fc.array(value, { maxLength: 70 }).map((a) => Float64Array.from(a)),
  fc.array(value, { maxLength: 70 }).map((a) => Float32Array.from(a)),
);
const sample: fc.Arbitrary<Sample> = fc.record({ ts: fc.oneof(fc.double(), fc.integer({ min: 0, max: 4e12 })), values });
const batch: fc.Arbitrary<StreamSamples> = fc.record({
  stream: fc.string({ maxLength: 12 }),
  subscription: fc.nat({ max: 5 }),
  labels: fc.dictionary(fc.constantFrom('line', 'asset', 'x'), fc.string({ maxLength: 6 })).map((l) => Object.freeze(l)),
  samples: fc.array(sample, { maxLength: 4 }),
});

void test('a group holds each batch exactly as Buffer writers would write it, and reads back', () => {
  const group = new JournalGroup();
  fc.assert(
    fc.property(fc.array(batch, { minLength: 1, maxLength: 5 }), (batches) => {
      group.clear();
      for (const b of batches) group.add(b);
      const frame = group.group();
      assert.deepEqual(frame.subarray(8), Buffer.concat(batches.map(reference)));
      const back = decodeJournal(Buffer.concat([JOURNAL_MAGIC, frame]));
      assert.equal(back.damaged, 0);
      assert.equal(back.items.length, batches.length);
      back.items.forEach((b, i) => {
        assert.equal(b.stream, batches[i].stream);
        assert.equal(b.samples.length, batches[i].samples.length);
        b.samples.forEach((s, j) => {
          const sent = batches[i].samples[j];
          assert.ok(Object.is(s.ts, sent.ts), `time ${sent.ts}`);
          assert.deepEqual(Array.from(s.values), Array.from(sent.values, (v) => Math.fround(v)));
        });
      });
      // Format 1 (one frame per batch) has the same batch layout after its frame header.
      assert.deepEqual(encodeBatch(batches[0]).subarray(8), reference(batches[0]));
    }),
    { seed: SEED, numRuns: 1_000 },
  );
});

void test('headers are cached for frozen labels only: labels that change are encoded as they are now', () => {
  const group = new JournalGroup();
  const frozen = Object.freeze({ line: 'l1' });
  const open: Record<string, string> = { line: 'l1' };
  const s: Sample = { ts: 1, values: [1] };
  for (const labels of [frozen, frozen, open]) group.add({ stream: 'l1/p1', subscription: 0, labels, samples: [s] });
  open.line = 'changed';
  group.add({ stream: 'l1/p1', subscription: 0, labels: open, samples: [s] });
  // Same labels object under another stream or subscription: not the cached header.
  group.add({ stream: 'l1/p2', subscription: 0, labels: frozen, samples: [s] });
  group.add({ stream: 'l1/p2', subscription: 1, labels: frozen, samples: [s] });
  const back = decodeJournal(Buffer.concat([JOURNAL_MAGIC, group.group()])).items;
  assert.deepEqual(back.map((b) => [b.stream, b.subscription, b.labels.line]), [
    ['l1/p1', 0, 'l1'], ['l1/p1', 0, 'l1'], ['l1/p1', 0, 'l1'], ['l1/p1', 0, 'changed'], ['l1/p2', 0, 'l1'], ['l1/p2', 1, 'l1'],
  ]);
});
