// The disk spool without InfluxDB: framing, order, persistence across reopen, size cap with exact drop counts,
// damaged files (torn tail, flipped bits, zeroed spans, lost cursor) and a full disk (/dev/full).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { encodeFrame, FRAME_HEADER_BYTES, parseSegment, Spool, type SpoolBatch } from '../../../src/sinks/spool';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-spool-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Payloads "p0".."p<n-1>" padded to a fixed size, so byte figures are predictable. */
function payloads(from: number, n: number, size = 80): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`p${from + i}`.padEnd(size, '.')));
}

function names(batch: SpoolBatch): string[] {
  return batch.payloads.map((p) => p.toString().replace(/\.+$/, ''));
}

/** Reads and commits everything; returns the payload names in delivery order. */
async function drain(spool: Spool, max = 7): Promise<{ got: string[]; corrupt: number }> {
  const got: string[] = [];
  let corrupt = 0;
  for (let b = await spool.read(max); b; b = await spool.read(max)) {
    got.push(...names(b));
    corrupt += b.corrupt;
    await spool.commit(b);
  }
  return { got, corrupt };
}

async function segments(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

const expected = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `p${from + i}`);

test('frames round-trip; a flipped byte anywhere in a frame makes it invalid', () => {
  const payload = Buffer.from('{"m":"anomaly_score"}');
  const frame = encodeFrame(2 ** 40 + 7, payload);
  assert.equal(frame.length, FRAME_HEADER_BYTES + payload.length);
  const parsed = parseSegment(Buffer.concat([frame, encodeFrame(2 ** 40 + 8, payload)]));
  assert.deepEqual(
    parsed.records.map((r) => [r.seq, r.payload.toString()]),
    [
      [2 ** 40 + 7, payload.toString()],
      [2 ** 40 + 8, payload.toString()],
    ],
  );
  assert.equal(parsed.tailBytes, 0);
  for (let i = 0; i < frame.length; i++) {
    const bad = Buffer.from(frame);
    bad[i] ^= 0x10;
    assert.equal(parseSegment(bad).records.length, 0, `flip at byte ${i} went unnoticed`);
  }
});

test('records come back in order across segments, and delivered segments are deleted', async () => {
  const spool = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1000 });
  await spool.open();
  for (let i = 0; i < 10; i++) assert.deepEqual((await spool.append(payloads(i * 10, 10))).error, null);
  assert.equal(spool.pending, 100);
  assert.equal(spool.bytes, 100 * (FRAME_HEADER_BYTES + 80));
  assert.ok((await segments()).length >= 10, 'segments roll at segmentBytes');
  const { got, corrupt } = await drain(spool);
  assert.deepEqual(got, expected(0, 100));
  assert.equal(corrupt, 0);
  assert.equal(spool.bytes, 0);
  assert.deepEqual(await segments(), []);
  await spool.close();
});

test('what was appended survives a reopen; delivered records are not replayed (cursor)', async () => {
  const a = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 2000 });
  await a.open();
  await a.append(payloads(0, 50));
  const first = await a.read(20);
  assert.ok(first);
  await a.commit(first);
  await a.close();

  const b = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 2000 });
  const report = await b.open();
  assert.deepEqual(report, { records: 30, bytes: report.bytes, corrupt: 0, dropped: 0 });
  await b.append(payloads(50, 5));
  assert.deepEqual((await drain(b)).got, expected(20, 35));
  await b.close();
});

test('a released batch is handed out again', async () => {
  const spool = new Spool({ dir, maxBytes: 1 << 20 });
  await spool.open();
  await spool.append(payloads(0, 5));
  const batch = await spool.read(3);
  assert.ok(batch);
  assert.equal(await spool.release(batch), true);
  assert.deepEqual((await drain(spool)).got, expected(0, 5));
});

test('size cap: the oldest segments go, and exactly the undelivered records in them are counted', async () => {
  const frame = FRAME_HEADER_BYTES + 80; // 100 bytes
  const spool = new Spool({ dir, maxBytes: 20 * frame, segmentBytes: 5 * frame });
  await spool.open();
  let dropped = 0;
  for (let i = 0; i < 12; i++) dropped += (await spool.append(payloads(i * 5, 5))).dropped;
  assert.ok(spool.bytes <= 20 * frame, `spool holds ${spool.bytes} bytes`);
  const { got } = await drain(spool);
  assert.equal(dropped + got.length, 60, `dropped ${dropped}, kept ${got.length}`);
  assert.deepEqual(got, expected(60 - got.length, got.length), 'the newest records are kept, in order');
  assert.equal(dropped, 40);
});

test('size cap: a single append larger than the cap keeps its newest records', async () => {
  const spool = new Spool({ dir, maxBytes: 10 * 100, segmentBytes: 300 });
  await spool.open();
  await spool.append(payloads(0, 3));
  const res = await spool.append(payloads(3, 25));
  assert.equal(res.consumed, 25);
  assert.equal(res.dropped, 3 + 15);
  assert.deepEqual((await drain(spool)).got, expected(18, 10));
});

test('size cap: a segment with records in flight keeps those with the reader, the rest are counted', async () => {
  const spool = new Spool({ dir, maxBytes: 1000, segmentBytes: 500 });
  await spool.open();
  await spool.append(payloads(0, 5));
  await spool.append(payloads(5, 5));
  const inFlight = await spool.read(2);
  assert.ok(inFlight);
  const res = await spool.append(payloads(10, 5));
  assert.equal(res.dropped, 3, 'p2..p4 dropped; p0, p1 are with the reader');
  assert.equal(await spool.release(inFlight), false, 'their segment is gone: the caller still owns them');
  assert.deepEqual((await drain(spool)).got, expected(5, 10));
});

test('size cap against a failed write given back: either order counts every record once, delivered or dropped', async () => {
  // The InfluxDB sink's protocol: a batch whose write failed is released; if its segment went meanwhile
  // (release() false), the sink spools its records again. Both calls queue under the spool's lock in the
  // order they are made, so both orders are run here.
  for (const releaseFirst of [true, false]) {
    await rm(dir, { recursive: true, force: true });
    const spool = new Spool({ dir, maxBytes: 1000, segmentBytes: 500 });
    await spool.open();
    await spool.append(payloads(0, 5));
    await spool.append(payloads(5, 5));
    const failed = await spool.read(2);
    assert.ok(failed);
    const capHit = (): Promise<number> => spool.append(payloads(10, 5)).then((r) => r.dropped);
    const [onDisk, dropped] = releaseFirst ? await Promise.all([spool.release(failed), capHit()]) : await Promise.all([capHit(), spool.release(failed)]).then(([d, r]) => [r, d] as const);
    const again = onDisk ? 0 : (await spool.append(failed.payloads)).dropped;
    const { got } = await drain(spool);
    const what = releaseFirst ? 'released, then the cap' : 'the cap, then released';
    assert.equal(new Set(got).size, got.length, `${what}: nothing delivered twice`);
    assert.equal(dropped + again + got.length, 15, `${what}: delivered ${got.length}, counted ${dropped + again}`);
    assert.ok(expected(10, 5).every((n) => got.includes(n)), `${what}: the newest kept`);
    await spool.close();
  }
});

test('torn tail (crash mid-write): intact records replay, the torn one is counted', async () => {
  const a = new Spool({ dir, maxBytes: 1 << 20 });
  await a.open();
  await a.append(payloads(0, 10));
  await a.close();
  const [seg] = await segments();
  await truncate(path.join(dir, seg), (await stat(path.join(dir, seg))).size - 30);

  const b = new Spool({ dir, maxBytes: 1 << 20 });
  const report = await b.open();
  assert.equal(report.corrupt, 1);
  assert.equal(report.records, 9);
  await b.append(payloads(10, 2));
  await b.close();
  // Restarted again before the replay: the torn record is not reported a second time.
  const c = new Spool({ dir, maxBytes: 1 << 20 });
  assert.deepEqual(await c.open(), { records: 11, bytes: (await stat(path.join(dir, seg))).size + 200, corrupt: 0, dropped: 0 });
  const { got, corrupt } = await drain(c);
  assert.deepEqual(got, [...expected(0, 9), 'p10', 'p11']);
  assert.equal(corrupt, 0, 'counted once, at the first open');
  assert.deepEqual(await readdir(dir), ['cursor'], 'segments and their .lost notes are gone once delivered');
});

test('flipped bits and zeroed spans: every damaged record is counted exactly, the rest replay', async () => {
  const a = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1000 });
  await a.open();
  await a.append(payloads(0, 30)); // segments of 10 records (100 bytes each)
  await a.close();
  const segs = await segments();
  assert.equal(segs.length, 3);
  const s0 = path.join(dir, segs[0]);
  const buf0 = await readFile(s0);
  buf0[3 * 100 + 50] ^= 0xff; // payload of p3
  buf0[5 * 100 + 4] ^= 0x01; // length field of p5: forces a resync
  await writeFile(s0, buf0);
  const s1 = path.join(dir, segs[1]);
  const buf1 = await readFile(s1);
  buf1.fill(0, 2 * 100 + 10, 6 * 100 + 10); // p12..p16 destroyed (five frames, headers included)
  await writeFile(s1, buf1);
  const s2 = path.join(dir, segs[2]);
  const buf2 = await readFile(s2);
  buf2.fill(0x41, 0, 150); // p20 and p21: the first record of the newest segment
  await writeFile(s2, buf2);

  const b = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1000 });
  const report = await b.open();
  assert.equal(report.corrupt, 2 + 5 + 2);
  assert.equal(report.records, 30 - 9);
  const lost = new Set(['p3', 'p5', 'p12', 'p13', 'p14', 'p15', 'p16', 'p20', 'p21']);
  assert.deepEqual((await drain(b)).got, expected(0, 30).filter((n) => !lost.has(n)));
});

test('garbage files and a lost cursor do not stop open()', async () => {
  const a = new Spool({ dir, maxBytes: 1 << 20 });
  await a.open();
  await a.append(payloads(0, 4));
  const first = await a.read(2);
  assert.ok(first);
  await a.commit(first);
  await a.close();
  await writeFile(path.join(dir, 'cursor'), 'not a number');
  await writeFile(path.join(dir, '9999999999999999.seg'), Buffer.alloc(0));
  await writeFile(path.join(dir, 'notes.txt'), 'ignored');
  const b = new Spool({ dir, maxBytes: 1 << 20 });
  const report = await b.open();
  assert.equal(report.records, 4, 'without the cursor, delivered records replay again (rewrites are idempotent)');
  assert.deepEqual((await drain(b)).got, expected(0, 4));
});

test('disk full: append reports ENOSPC, keeps nothing half-written, and works once space is back', async () => {
  const spool = new Spool({ dir, maxBytes: 1 << 20 });
  await spool.open();
  // The first segment's name points at /dev/full, whose writes fail with ENOSPC.
  const seg = path.join(dir, '0000000000000000.seg');
  await symlink('/dev/full', seg);
  const res = await spool.append(payloads(0, 3));
  assert.equal(res.error?.code, 'ENOSPC');
  assert.equal(res.consumed, 0);
  assert.equal(spool.pending, 0);
  assert.equal(spool.bytes, 0);
  await rm(seg);
  const again = await spool.append(payloads(0, 3));
  assert.equal(again.error, null);
  assert.deepEqual((await drain(spool)).got, expected(0, 3));
});
