import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Window } from '../../../src/core/types';
import { parseRecord, recordBytes, recordFileName, spacing, thinEvenly, WindowRecorder } from '../../../src/state/windowRecorder';
import { testContext } from '../../helpers/context';

const CH = ['a', 'b'];
const SIZE = 3;

function win(stream: string, end: number, v = end): Window {
  return { stream, start: end - 2000, end, size: SIZE, channels: CH.length, values: Float32Array.from({ length: SIZE * CH.length }, (_, i) => v + i), completeness: 1 };
}

async function recorder(): Promise<{ rec: WindowRecorder; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'anomalyd-recorder-'));
  return { rec: new WindowRecorder(dir, testContext('recorder').ctx.log), dir };
}

/** Feeds windows one a second from t0 (the first one only opens the file); waits for the writes. */
async function feed(rec: WindowRecorder, stream: string, t0: number, n: number, policy = { lookbackMs: 100_000, cap: 100 }): Promise<void> {
  rec.record(win(stream, t0), CH, policy);
  await rec.flush();
  for (let i = 1; i <= n; i++) rec.record(win(stream, t0 + i * 1000), CH, policy);
  await rec.flush();
}

test('windows are framed, read back bit for bit, and survive a new recorder (a restart)', async () => {
  const { rec, dir } = await recorder();
  await feed(rec, 'l1/p1', 0, 5);
  const record = await rec.read('l1/p1');
  assert.ok(record);
  assert.deepEqual(record.channels, CH);
  assert.equal(record.size, SIZE);
  assert.deepEqual(record.windows.map((w) => w.end), [1000, 2000, 3000, 4000, 5000], 'the first window opens the file and is not taken');
  assert.deepEqual([...record.windows[2].values], [3000, 3001, 3002, 3003, 3004, 3005]);
  assert.equal(record.damaged, 0);
  const again = new WindowRecorder(dir, testContext('recorder').ctx.log);
  // A window older than what is on disk (a journal replay) is not taken twice.
  await feed(again, 'l1/p1', 4000, 3);
  assert.deepEqual((await again.read('l1/p1'))?.windows.map((w) => w.end), [1000, 2000, 3000, 4000, 5000, 6000, 7000]);
  assert.equal(await rec.read('other'), null);
});

test('a torn tail (a kill mid-write) is dropped when the file is opened, not fatal; later windows follow the last good frame', async () => {
  const { rec, dir } = await recorder();
  await feed(rec, 's', 0, 4);
  const file = path.join(dir, 'retrain', 'windows', recordFileName('s'));
  const whole = await readFile(file);
  await writeFile(file, whole.subarray(0, whole.length - 7));
  const torn = parseRecord(await readFile(file), file);
  assert.equal(torn.windows.length, 3);
  assert.equal(torn.damaged, 1);
  await appendFile(file, Buffer.from('garbage'));
  const again = new WindowRecorder(dir, testContext('recorder').ctx.log);
  await feed(again, 's', 10_000, 2);
  const record = await again.read('s');
  assert.deepEqual(record?.windows.map((w) => w.end), [1000, 2000, 3000, 11_000, 12_000]);
  assert.equal(record?.damaged, 0, 'the damaged tail was cut off before appending');
});

test('a flipped bit fails the frame CRC: that frame and what follows are left out', () => {
  const bytes = recordBytes({ stream: 's', channels: CH, size: SIZE, windows: [1, 2, 3].map((i) => ({ start: i, end: i, values: new Float32Array(6).fill(i) })) });
  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 30] ^= 0xff;
  const r = parseRecord(damaged, 'test');
  assert.equal(r.windows.length, 2);
  assert.equal(r.damaged, 1);
  assert.throws(() => parseRecord(Buffer.from('not a record'), 'x'), /not a window record/);
});

test('thinning: windows are taken at least lookback / cap apart, and compaction keeps at most cap over the lookback', async () => {
  const { rec } = await recorder();
  const policy = { lookbackMs: 20_000, cap: 10 };
  assert.equal(spacing(policy), 2000);
  await feed(rec, 's', 0, 100, policy);
  const record = await rec.read('s');
  assert.ok(record);
  const ends = record.windows.map((w) => w.end);
  for (let i = 1; i < ends.length; i++) assert.ok(ends[i] - ends[i - 1] >= 2000, `spaced: ${ends.join(',')}`);
  assert.ok(ends.length <= policy.cap * 1.5, `compacted: ${ends.length} windows`);
  // Windows past the lookback go at the next compaction (a job leaves them out anyway).
  assert.ok(ends[0] >= 100_000 - 1.5 * 20_000, `about the lookback is kept (oldest ${ends[0]})`);
  assert.equal(ends.at(-1), 99_000, 'the newest window taken is kept (1 s, 3 s, ... 99 s were taken)');
  const bytes = (await stat(path.join(rec.dir, recordFileName('s')))).size;
  assert.equal(rec.stats().bytes, bytes, 'the byte count follows the file');
});

test('a changed geometry (the model\'s channels) starts the record afresh', async () => {
  const { rec } = await recorder();
  await feed(rec, 's', 0, 3);
  rec.record({ ...win('s', 10_000), values: new Float32Array(SIZE * 3), channels: 3 }, ['a', 'b', 'c'], { lookbackMs: 100_000, cap: 100 });
  await rec.flush();
  rec.record({ ...win('s', 11_000), values: new Float32Array(SIZE * 3).fill(7), channels: 3 }, ['a', 'b', 'c'], { lookbackMs: 100_000, cap: 100 });
  await rec.flush();
  const record = await rec.read('s');
  assert.deepEqual(record?.channels, ['a', 'b', 'c']);
  assert.deepEqual(record?.windows.map((w) => w.end), [11_000]);
});

test('thinEvenly keeps the first and last and spreads the rest; file names tell ids apart', () => {
  assert.deepEqual(thinEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [1, 5, 9]);
  assert.deepEqual(thinEvenly([1, 2], 5), [1, 2]);
  assert.deepEqual(thinEvenly([1, 2, 3], 1), [3]);
  assert.notEqual(recordFileName('l1/p0'), recordFileName('l1 /p0'));
  assert.match(recordFileName('line1/pump1'), /^line1_pump1-[0-9a-f]{12}\.rec$/);
});

test("a window's prematurity (the stream's rhythm) is recorded after its values and read back; frames without one read as before", () => {
  const plain = { start: 0, end: 1000, values: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  const early = { start: 1000, end: 2000, values: Float32Array.from([6, 5, 4, 3, 2, 1]), prematurity: 0.625 };
  const record = parseRecord(recordBytes({ stream: 's', channels: CH, size: SIZE, windows: [plain, early] }), 's.rec');
  assert.equal(record.damaged, 0);
  assert.deepEqual(record.windows, [plain, early]);
});
