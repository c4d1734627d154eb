import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../../src/core/errors';
import { parseSkab, readSkab, readSkabDir, skabMetrics, skabSplit } from '../../../src/eval/skab';

const repoRoot = path.resolve(__dirname, '../../../..');
const fixtures = path.join(repoRoot, 'test/fixtures/skab');
const valve1 = path.resolve(repoRoot, '..', 'shared', 'data', 'skab', 'valve1');

void test('reads a SKAB file: 8 channels row-major, datetime as UTC ms, anomaly and changepoint labels', async () => {
  const f = await readSkab(path.join(fixtures, 'valve/1.csv'));
  assert.equal(f.rows, 6);
  assert.deepEqual(f.channels, ['Accelerometer1RMS', 'Accelerometer2RMS', 'Current', 'Pressure', 'Temperature', 'Thermocouple', 'Voltage', 'Volume Flow RateRMS']);
  assert.equal(f.timestamps[0], Date.UTC(2020, 2, 9, 10, 14, 30));
  assert.equal(f.timestamps[1] - f.timestamps[0], 1000);
  // Row 1: Accelerometer1RMS 0.021, Pressure 0.05, Voltage 234.
  assert.equal(f.values[8 + 0], 0.021);
  assert.equal(f.values[8 + 3], 0.05);
  assert.equal(f.values[8 + 6], 234);
  assert.deepEqual([...(f.anomaly ?? [])], [0, 0, 0, 1, 1, 0]);
  assert.deepEqual([...(f.changepoint ?? [])], [0, 0, 0, 1, 0, 1]);
});

void test('a folder: labelled files in natural order; anomaly-free.csv only on request', async () => {
  const labelled = await readSkabDir(fixtures);
  assert.deepEqual(
    labelled.map((f) => path.relative(fixtures, f.file)),
    ['valve/1.csv', 'valve/2.csv', 'valve/10.csv'],
  );
  const all = await readSkabDir(fixtures, { labelledOnly: false });
  assert.equal(all.length, 4);
  const free = all.find((f) => f.file.endsWith('anomaly-free.csv'));
  assert.equal(free?.anomaly, undefined);
  assert.equal(free?.channels.length, 8);
});

void test('the protocol split: the first rows train, the rest are tested, without shuffling', async () => {
  const f = await readSkab(path.join(fixtures, 'valve/1.csv'));
  const { train, test: tested } = skabSplit(f, 3);
  assert.equal(train.rows, 3);
  assert.equal(tested.rows, 3);
  assert.deepEqual([...(tested.anomaly ?? [])], [1, 1, 0]);
  assert.equal(tested.values.length, 3 * 8);
  assert.equal(tested.values[0], f.values[3 * 8]);
  assert.equal(tested.timestamps[0], f.timestamps[3]);
  assert.throws(() => skabSplit(f), (e: Error) => e instanceof InputError && /first 400 are for training/.test(e.message));
});

void test('metrics pooled over files: F1 = TP / (TP + (FN + FP) / 2), FAR and MAR in percent', () => {
  const m = skabMetrics([
    // tp 2, fp 1, fn 1, tn 2
    { predicted: [false, true, true, false, true, false], actual: [0, 0, 1, 1, 1, 0] },
    // tp 2, fp 2, fn 0, tn 0
    { predicted: [1, 1, 1, 1], actual: [1, 1, 0, 0] },
  ]);
  assert.deepEqual([m.tp, m.fp, m.fn, m.tn], [4, 3, 1, 2]);
  assert.equal(m.f1, 4 / 6);
  assert.equal(m.far, 60);
  assert.equal(m.mar, 20);
  // Nothing flagged: F1 0, FAR 0, MAR 100.
  const none = skabMetrics([{ predicted: [0, 0, 0], actual: [0, 1, 1] }]);
  assert.deepEqual([none.f1, none.far, none.mar], [0, 0, 100]);
  assert.throws(() => skabMetrics([{ predicted: [0], actual: [0, 1] }]), RangeError);
});

void test('malformed rows are input errors with file and line', () => {
  const header = 'datetime;a;b;anomaly;changepoint';
  assert.throws(() => parseSkab(`${header}\n2020-01-01 00:00:00;1;x;0;0\n`, 'f.csv'), /f\.csv:2: b: 'x' is not a finite number/);
  assert.throws(() => parseSkab(`${header}\n2020-01-01 00:00:00;1;2;0.5;0\n`, 'f.csv'), /f\.csv:2: anomaly: expected 0 or 1/);
  assert.throws(() => parseSkab(`${header}\n2020-01-01 00:00:00;1;2;0\n`, 'f.csv'), /f\.csv:2: expected 5 fields, got 4/);
  assert.throws(() => parseSkab('time;a\n', 'f.csv'), /f\.csv:1: expected a header starting with 'datetime;'/);
});

void test('valve1 of ../shared/data: 16 files, 18,160 rows, 6,309 anomalous, all after row 400', { skip: existsSync(valve1) ? false : '../shared/data not present' }, async () => {
  const files = await readSkabDir(valve1);
  assert.equal(files.length, 16);
  let rows = 0;
  let anomalous = 0;
  let inTrain = 0;
  for (const f of files) {
    rows += f.rows;
    const { train, test: tested } = skabSplit(f);
    anomalous += sum(tested.anomaly);
    inTrain += sum(train.anomaly);
  }
  assert.equal(rows, 18160);
  assert.equal(anomalous, 6309);
  assert.equal(inTrain, 0);
});

function sum(xs: Uint8Array | undefined): number {
  return (xs ?? new Uint8Array(0)).reduce((a, b) => a + b, 0);
}
