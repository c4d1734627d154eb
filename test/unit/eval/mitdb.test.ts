import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError } from '../../../src/core/errors';
import { beatMetrics, beatWindows, coveredBeats, leaveOneRecordOut, listMitdbRecords, parseMitdbBeats, readMitdbBeats, readMitdbRecord } from '../../../src/eval/mitdb';

const repoRoot = path.resolve(__dirname, '../../../..');
const mitdb = path.resolve(repoRoot, '..', 'shared', 'data', 'mitdb');

/** A 12-sample record (the last frame an artefact, as in the real files) and 3 beats, in a temporary folder. */
function tinyRecordDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mitdb-'));
  const rows = ['sample,time_s,MLII,V1'];
  for (let i = 0; i < 12; i++) rows.push(`${i},${(i / 360).toFixed(4)},${i === 11 ? '0.000' : (-0.145 + i * 0.01).toFixed(3)},${(i % 3) * -0.5}`);
  writeFileSync(path.join(dir, '900.csv.gz'), gzipSync(rows.join('\n') + '\n'));
  writeFileSync(path.join(dir, '900_beats.csv'), 'sample,time_s,symbol,abnormal\n2,0.0056,N,0\n6,0.0167,V,1\n9,0.0250,L,0\n');
  writeFileSync(path.join(dir, '901.csv.gz'), gzipSync('sample,time_s,MLII,V1\n'));
  return dir;
}

void test('reads a gzipped record and its beats; drops the artefact last frame; lists complete records only', async () => {
  const dir = tinyRecordDir();
  try {
    assert.deepEqual(
      (await listMitdbRecords(dir)).map((r) => r.record),
      ['900'],
    );
    const rec = await readMitdbRecord(path.join(dir, '900.csv.gz'));
    assert.equal(rec.record, '900');
    assert.deepEqual(rec.leads, ['MLII', 'V1']);
    assert.equal(rec.samples, 11);
    assert.equal(rec.lead1.length, 11);
    assert.equal(rec.lead1[0], Math.fround(-0.145));
    assert.equal(rec.lead1[10], Math.fround(-0.045));
    assert.deepEqual([...rec.lead2.slice(0, 4)], [0, -0.5, -1, 0]);
    assert.equal((await readMitdbRecord(path.join(dir, '900.csv.gz'), { dropLastFrame: false })).samples, 12);
    const beats = await readMitdbBeats(path.join(dir, '900_beats.csv'));
    assert.deepEqual([...beats.sample], [2, 6, 9]);
    assert.deepEqual(beats.symbol, ['N', 'V', 'L']);
    assert.deepEqual([...beats.abnormal], [0, 1, 0]);
    await assert.rejects(readMitdbRecord(path.join(dir, 'missing.csv.gz')), InputError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('without an abnormal column the symbol decides: N L R e j are normal', () => {
  const b = parseMitdbBeats('sample,symbol\n1,N\n2,A\n3,e\n4,/\n5,Q\n', 'b.csv');
  assert.deepEqual([...b.abnormal], [0, 1, 0, 1, 1]);
});

void test('beat mapping: the earliest window holding the beat (and lag samples after it); -1 when none does', () => {
  // Windows of 10 samples every 5: [0..9], [5..14], [10..19], [15..24], [20..29].
  const ends = [9, 14, 19, 24, 29];
  const beats = [3, 9, 12, 27, 35];
  assert.deepEqual([...beatWindows(beats, ends, 10)], [0, 0, 1, 4, -1]);
  assert.deepEqual([...beatWindows(beats, ends, 10, 4)], [0, 1, 2, -1, -1]);
  // A gap between windows [0..9] and [31..40]: beat 20 lies in neither.
  assert.deepEqual([...beatWindows([20, 33], [9, 40], 10)], [-1, 1]);
  assert.throws(() => beatWindows(beats, ends, 10, 10), RangeError);
  const covered = coveredBeats(beatWindows(beats, ends, 10), [0.1, 0.2, 0.3, 0.4, 0.5], [0, 1, 0, 1, 1]);
  assert.deepEqual([...covered.scores], [0.1, 0.1, 0.2, 0.5]);
  assert.deepEqual(covered.abnormal, [false, true, false, true]);
});

void test('beat metrics: ROC AUC, and sensitivity/specificity with flagged = score above the threshold', () => {
  const perfect = beatMetrics([0.1, 0.9, 0.5, 0.7], [false, true, false, true], 0.5);
  assert.deepEqual(perfect, { beats: 4, abnormalBeats: 2, rocAuc: 1, sensitivity: 1, specificity: 1 });
  const m = beatMetrics([0.1, 0.9, 0.65, 0.5], [false, true, false, true], 0.6);
  assert.equal(m.rocAuc, 0.75);
  assert.equal(m.sensitivity, 0.5);
  assert.equal(m.specificity, 0.5);
});

void test('leave one record out: the pooled AUC of the other records, NaN when what is left has one class', () => {
  // a and b rank perfectly on their own; c puts its abnormal beat below its normal ones and on b's scale.
  const a = { record: 'a', scores: [1, 2, 9], abnormal: [false, false, true] };
  const b = { record: 'b', scores: [3, 4, 8], abnormal: [false, false, true] };
  const c = { record: 'c', scores: [5, 6, 0.5], abnormal: [false, false, true] };
  const loo = leaveOneRecordOut([a, b, c]);
  assert.deepEqual(loo.map((r) => r.record), ['a', 'b', 'c']);
  assert.equal(loo[2].rocAuc, 1, 'without c: a and b pooled rank perfectly');
  // without a: 4 normals (3 4 5 6), abnormals 8 (above all) and 0.5 (below all): AUC (4 + 0) / 8
  assert.equal(loo[0].rocAuc, 0.5);
  assert.equal(loo[1].rocAuc, 0.5);
  const normalOnly = leaveOneRecordOut([a, { record: 'n', scores: [1, 2], abnormal: [false, false] }]);
  assert.ok(Number.isNaN(normalOnly[0].rocAuc), 'only normal beats left');
  assert.equal(normalOnly[1].rocAuc, 1);
});

void test('record 100 of ../shared/data: 649,999 samples after the artefact frame, 2273 beats of which 34 abnormal', { skip: existsSync(mitdb) ? false : '../shared/data not present' }, async () => {
  const rec = await readMitdbRecord(path.join(mitdb, '100.csv.gz'));
  assert.equal(rec.samples, 649999);
  assert.deepEqual(rec.leads, ['MLII', 'V5']);
  assert.equal(rec.lead1[0], Math.fround(-0.145));
  assert.equal(rec.lead2[0], Math.fround(-0.065));
  const beats = await readMitdbBeats(path.join(mitdb, '100_beats.csv'));
  assert.equal(beats.sample.length, 2273);
  assert.equal(beats.abnormal.reduce((a, b) => a + b, 0), 34);
  assert.equal(beats.sample[0], 77);
});
