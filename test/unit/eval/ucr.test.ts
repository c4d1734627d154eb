import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseUcr, readUcr } from '../../../src/eval/ucr';
import { InputError } from '../../../src/core/errors';

const fixtures = path.resolve(__dirname, '../../../../test/fixtures');
const sharedData = path.resolve(__dirname, '../../../../../shared/data');
const f32 = (xs: number[]): number[] => xs.map((x) => Math.fround(x));

void test('reads a whitespace-separated UCR file: labels, rows and length', async () => {
  const ds = await readUcr(path.join(fixtures, 'ucr_small.txt'));
  assert.equal(ds.file, path.join(fixtures, 'ucr_small.txt'));
  assert.deepEqual(ds.labels, [1, -1, 1]);
  assert.equal(ds.length, 3);
  assert.equal(ds.rows.length, 3);
  assert.ok(ds.rows[0] instanceof Float32Array);
  assert.deepEqual([...ds.rows[0]], f32([0.15, -2, 3.25]));
  assert.deepEqual([...ds.rows[1]], f32([-0.4, 0.5, 1]));
  assert.deepEqual([...ds.rows[2]], f32([0, 0.25, -0.75]));
});

void test('reads a comma-separated UCR file with CRLF line ends', async () => {
  const ds = await readUcr(path.join(fixtures, 'ucr_small_comma.csv'));
  assert.deepEqual(ds.labels, [1, 2]);
  assert.equal(ds.length, 3);
  assert.deepEqual([...ds.rows[1]], f32([-0.4, 0.5, 1]));
});

void test('reads the last line when the file has no trailing newline (ECG200 style)', async () => {
  const ds = await readUcr(path.join(fixtures, 'ucr_no_trailing_newline.txt'));
  assert.deepEqual(ds.labels, [1, -1]);
  assert.deepEqual([...ds.rows[1]], [3, 4]);
});

void test('skips blank lines but keeps physical line numbers in errors', () => {
  assert.throws(() => parseUcr('1 2 3\n\n\n1 2\n', 'x.txt'), {
    name: 'InputError',
    message: 'x.txt:4: expected 3 fields, got 2',
  });
});

void test('wrong field count names file:line and both counts', () => {
  const row = (n: number): string => ['1', ...Array.from({ length: n }, () => '0.5')].join('  ');
  const text = `${row(140)}\n${row(140)}\n${row(139)}\n`;
  assert.throws(
    () => parseUcr(text, 'ECG5000_TRAIN.txt'),
    (err: unknown) =>
      err instanceof InputError && err.message === 'ECG5000_TRAIN.txt:3: expected 141 fields, got 140',
  );
});

void test('a non-numeric cell is quoted with its column', () => {
  assert.throws(() => parseUcr('1 0.5 0.25\n1 0.5 abc\n', 'f.txt'), {
    message: 'f.txt:2: column 3: "abc" is not a number',
  });
  assert.throws(() => parseUcr('x 0.5 0.25\n', 'f.txt'), { message: 'f.txt:1: column 1 (label): "x" is not a number' });
  assert.throws(() => parseUcr('1,0.5,\n', 'f.csv'), { message: 'f.csv:1: column 3: an empty field is not a number' });
});

void test('NaN and Infinity cells are rejected', () => {
  assert.throws(() => parseUcr('1 NaN 0.25\n', 'f.txt'), { message: 'f.txt:1: column 2: "NaN" is not a finite number' });
  assert.throws(() => parseUcr('1 0.5 -Infinity\n', 'f.txt'), {
    message: 'f.txt:1: column 3: "-Infinity" is not a finite number',
  });
  assert.throws(() => parseUcr('1 0.5 inf\n', 'f.txt'), { message: 'f.txt:1: column 3: "inf" is not a finite number' });
});

void test('an empty or blank file is an error', () => {
  assert.throws(() => parseUcr('', 'e.txt'), { name: 'InputError', message: 'e.txt: empty file (no data rows)' });
  assert.throws(() => parseUcr('\n  \n', 'e.txt'), { message: 'e.txt: empty file (no data rows)' });
});

void test('a line with a label and no values is an error', () => {
  assert.throws(() => parseUcr('1\n', 'l.txt'), { message: 'l.txt:1: expected a label and at least one value, got 1 field' });
});

void test('a missing file is an InputError naming the path', async () => {
  await assert.rejects(readUcr(path.join(fixtures, 'nope.txt')), (err: unknown) => {
    return err instanceof InputError && err.message.startsWith(`${path.join(fixtures, 'nope.txt')}: cannot read file`);
  });
});

const ecg200 = path.join(sharedData, 'ecg200/ECG200_TRAIN.txt');
void test('reads the real ECG200 training split (no trailing newline)', { skip: !existsSync(ecg200) && 'data not present' }, async () => {
  const ds = await readUcr(ecg200);
  assert.equal(ds.rows.length, 100);
  assert.equal(ds.length, 96);
  assert.equal(ds.labels.filter((l) => l === 1).length, 69);
  assert.equal(ds.labels.filter((l) => l === -1).length, 31);
});

const ecg5000 = path.join(sharedData, 'ecg5000/ECG5000_dev_train.txt');
void test('reads the ECG5000 development split', { skip: !existsSync(ecg5000) && 'data not present' }, async () => {
  const ds = await readUcr(ecg5000);
  assert.equal(ds.rows.length, 250);
  assert.equal(ds.length, 140);
  assert.equal(ds.labels.filter((l) => l === 1).length, 146);
  assert.equal(ds.rows[0][0], Math.fround(-0.11252183));
});
