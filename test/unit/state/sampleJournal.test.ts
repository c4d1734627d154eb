// The sample journal and the stream checkpoint codec: what a kill -9 leaves behind is read back exactly, a torn
// tail is skipped and counted, generations covered by a checkpoint are not replayed.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { decodeStreams, encodeBatch, encodeStreams, JOURNAL_MAGIC } from '../../../src/state/sampleCodec';
import { SampleJournal } from '../../../src/state/sampleJournal';
import { WindowBuffer } from '../../../src/core/window';
import type { StreamSamples } from '../../../src/sources/source';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-journal-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const batch = (i: number): StreamSamples => ({
  stream: `line1/pump${i % 3}`,
  subscription: 0,
  labels: { line: 'line1', asset: `pump${i % 3}` },
  samples: [
    { ts: 1_700_000_000_000 + i * 1000, values: Float32Array.from([i, i + 0.5, Number.NaN]) },
    { ts: 1_700_000_000_500 + i * 1000, values: Float32Array.from([-i, 0, 1e30]) },
  ],
});

test('appended batches come back in order after the process is gone; rotate() starts a generation', async () => {
  const jdir = path.join(dir, 'a');
  const j = new SampleJournal(jdir);
  const first = await j.open(0);
  assert.equal(first.batches.length, 0);
  for (let i = 0; i < 5; i++) j.append(batch(i));
  const gen = j.rotate();
  for (let i = 5; i < 8; i++) j.append(batch(i));
  j.commit();
  j.close(); // as after kill -9: nothing flushed beyond write(2)

  const all = await new SampleJournal(jdir).open(0);
  assert.equal(all.batches.length, 8);
  assert.equal(all.damaged, 0);
  assert.deepEqual(all.batches[6].labels, batch(6).labels);
  assert.equal(all.batches[6].samples[0].ts, batch(6).samples[0].ts);
  assert.deepEqual(Array.from(all.batches[6].samples[1].values), Array.from(batch(6).samples[1].values));
  assert.ok(Number.isNaN(all.batches[6].samples[0].values[2]));

  const since = await new SampleJournal(jdir).open(gen);
  assert.equal(since.batches.length, 3, 'a checkpoint of generation gen covers the earlier files');
});

test('a torn tail is skipped and counted; later generations are still read', async () => {
  const jdir = path.join(dir, 'b');
  const j = new SampleJournal(jdir);
  await j.open(0);
  j.append(batch(1));
  j.commit();
  j.append(batch(2));
  j.commit();
  j.close();
  const [file] = (await readdir(jdir)).sort();
  await appendFile(path.join(jdir, file), Buffer.from([40, 0, 0, 0, 1, 2, 3])); // a frame cut short
  const again = new SampleJournal(jdir);
  const r = await again.open(0);
  assert.equal(r.batches.length, 2);
  assert.equal(r.damaged, 1);
  again.append(batch(3)); // goes to a new generation, after the torn one
  again.close();
  const r2 = await new SampleJournal(jdir).open(0);
  assert.equal(r2.batches.length, 3);
  assert.equal(r2.damaged, 1);
});

test('removeBefore() deletes only the generations a checkpoint covers', async () => {
  const jdir = path.join(dir, 'c');
  const j = new SampleJournal(jdir);
  await j.open(0);
  j.append(batch(1));
  const g = j.rotate();
  j.append(batch(2));
  await j.removeBefore(g);
  j.close();
  const r = await new SampleJournal(jdir).open(0);
  assert.deepEqual(r.batches.map((b) => b.samples[0].ts), [batch(2).samples[0].ts]);
});

test('stream snapshots round-trip through the checkpoint codec; damage is detected', () => {
  const window = {
    size: 4,
    hop: 2,
    channels: 2,
    untilEmit: 1,
    lastTs: 3000,
    ts: Float64Array.from([1000, 2000, 3000]),
    values: Float32Array.from([1, 2, Number.NaN, 4, 5, 6]),
    beforeWindow: Float32Array.from([Number.NaN, 0.5]),
  };
  const held = [{ ts: 3500, values: Float32Array.from([7, 8]) }];
  const buf = encodeStreams(new Map([['s1', { window, held }]]));
  const back = decodeStreams(buf);
  assert.equal(back.damaged, 0);
  const [[id, snap]] = back.items;
  assert.equal(id, 's1');
  assert.deepEqual([...snap.window.ts], [...window.ts]);
  assert.deepEqual([...snap.window.values].map(String), [...window.values].map(String));
  assert.equal(snap.window.untilEmit, 1);
  assert.equal(snap.held[0].ts, 3500);
  buf[buf.length - 3] ^= 0xff;
  assert.equal(decodeStreams(buf).damaged, 1);
});

test('group commit: appends are written only by commit(), one frame per group; a torn group loses only itself', async () => {
  const jdir = path.join(dir, 'd');
  const j = new SampleJournal(jdir);
  await j.open(0);
  for (let i = 0; i < 4; i++) j.append(batch(i));
  assert.equal(j.uncommitted, 4);
  // A kill now (before the turn's commit, so before its acks) leaves nothing of these behind.
  assert.equal((await new SampleJournal(path.join(dir, 'd')).open(0)).batches.length, 0);
  j.commit();
  const [file] = (await readdir(jdir)).sort();
  const afterFirst = (await readFile(path.join(jdir, file))).length;
  assert.deepEqual((await readFile(path.join(jdir, file))).subarray(0, JOURNAL_MAGIC.length), JOURNAL_MAGIC, 'format 2 starts with its magic');
  for (let i = 4; i < 7; i++) j.append(batch(i));
  j.commit();
  j.close();
  const whole = await new SampleJournal(jdir).open(0);
  assert.deepEqual(whole.batches.map((b) => b.samples[0].ts), [0, 1, 2, 3, 4, 5, 6].map((i) => batch(i).samples[0].ts));
  assert.equal(whole.damaged, 0);
  // The second group's write cut short by the kill: the first group is intact, the torn one counted once.
  const full = (await readFile(path.join(jdir, file))).length;
  await truncate(path.join(jdir, file), full - 5);
  const torn = await new SampleJournal(jdir).open(0);
  assert.equal(torn.batches.length, 4);
  assert.equal(torn.damaged, 1);
  assert.ok(afterFirst < full);
});

test('journal files of format 1 (one frame per batch, no magic) are still replayed', async () => {
  const jdir = path.join(dir, 'e');
  await new SampleJournal(jdir).open(0).then((r) => assert.equal(r.batches.length, 0));
  await writeFile(path.join(jdir, '000000000001.journal'), Buffer.concat([encodeBatch(batch(1)), encodeBatch(batch(2))]));
  const r = await new SampleJournal(jdir).open(0);
  assert.deepEqual(r.batches.map((b) => b.stream), [batch(1).stream, batch(2).stream]);
  assert.equal(r.damaged, 0);
});

test('a journal of a newer format is refused with a clear message', async () => {
  const jdir = path.join(dir, 'f');
  await new SampleJournal(jdir).open(0);
  await writeFile(path.join(jdir, '000000000001.journal'), Buffer.from([0x41, 0x44, 0x4a, 0x09, 0, 0, 0, 0]));
  await assert.rejects(new SampleJournal(jdir).open(0), /journal format 9 is newer/);
});

test('encodeStreams into a reused buffer: a smaller checkpoint reads back as itself, a larger one grows into a new buffer', () => {
  const snap = (id: number, steps: number) => {
    const ts = Float64Array.from({ length: steps }, (_, i) => 1000 * (i + 1));
    const values = Float32Array.from({ length: steps * 2 }, (_, i) => id * 100 + i);
    return { window: { size: 8, hop: 2, channels: 2, untilEmit: 1, lastTs: 1000 * steps, ts, values, beforeWindow: Float32Array.from([id, -id]) }, held: [] };
  };
  const big = encodeStreams(new Map([1, 2, 3].map((i) => [`s${i}`, snap(i, 8)])));
  assert.equal(big.byteOffset, 0);
  assert.ok(big.buffer.byteLength > 4096 || big.length < 4096, 'not a slice of the shared pool');
  // Exactly the size of the first checkpoint: the larger one below cannot fit.
  const reuse = Buffer.allocUnsafeSlow(big.length);
  const small = encodeStreams(new Map([['s9', snap(9, 3)]]), reuse);
  assert.equal(small.buffer, reuse.buffer, 'written into the buffer it was given');
  const back = decodeStreams(small);
  assert.equal(back.damaged, 0);
  assert.deepEqual(back.items.map(([id]) => id), ['s9'], 'nothing of the earlier, larger checkpoint');
  assert.deepEqual([...back.items[0][1].window.values], [...snap(9, 3).window.values]);

  const larger = encodeStreams(new Map([1, 2, 3, 4, 5, 6].map((i) => [`s${i}`, snap(i, 8)])), reuse);
  assert.notEqual(larger.buffer, reuse.buffer, 'too small: a new buffer');
  assert.equal(larger.byteOffset, 0, 'a buffer of its own, never a slice of the shared pool');
  assert.deepEqual(decodeStreams(larger).items.map(([id]) => id), ['s1', 's2', 's3', 's4', 's5', 's6']);
});

test('a checkpoint encoded from window views decodes to the same snapshot as one encoded from copies', () => {
  const spec = { id: 'pump', channels: ['a', 'b'] };
  const buf = new WindowBuffer(spec, { size: 4, hop: 2, samplePeriodMs: 100, maxGapMs: 1_000, minCompleteness: 0.5 });
  for (let i = 0; i < 11; i++) buf.push({ ts: i * 100, values: [i, -i] });
  const held = [{ ts: 1_150, values: [1, 2] }];
  assert.equal(buf.view().ts.length, 2, 'the ring wraps here');
  const fromView = encodeStreams(new Map([['pump', { window: buf.view(), held }]]));
  const fromCopy = encodeStreams(new Map([['pump', { window: buf.snapshot(), held }]]));
  assert.deepEqual(fromView, fromCopy);
  const back = decodeStreams(fromView);
  assert.equal(back.damaged, 0);
  assert.deepEqual([...back.items[0][1].window.ts], [...buf.snapshot().ts]);
});
