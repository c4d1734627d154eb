import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { formatCsv, formatNumber, parseCsv, parseIsoTime, readCsv } from '../../../src/sources/csv';
import { InputError } from '../../../src/core/errors';

const fixtures = path.resolve(__dirname, '../../../../test/fixtures');
const sharedData = path.resolve(__dirname, '../../../../../shared/data');
const T0 = Date.UTC(2024, 0, 1);

void test('reads a CRLF file with a BOM, quoted header and cells, an empty cell and blank trailing lines', async () => {
  const s = await readCsv(path.join(fixtures, 'signals.csv'));
  assert.equal(s.file, path.join(fixtures, 'signals.csv'));
  assert.deepEqual(s.channels, ['Pump, speed', 'Pressure', 'Temperature']);
  assert.equal(s.rows, 3);
  assert.deepEqual([...s.ts], [T0, T0 + 1000, T0 + 2000]);
  assert.ok(s.values instanceof Float32Array);
  assert.equal(s.values.length, 9);
  const v = [...s.values];
  assert.deepEqual(v.slice(0, 3), [Math.fround(1.5), 2.25, 20]);
  assert.equal(v[3], Math.fround(1.6));
  assert.ok(Number.isNaN(v[4]), 'empty cell is a missing value');
  assert.deepEqual(v.slice(5), [21, Math.fround(-0.1), 2.5, 22]);
});

void test('without a time column ts is row index * samplePeriodMs (default 1000)', () => {
  const text = 'a,b\n1,2\n3,4\n5,6';
  assert.deepEqual([...parseCsv(text, 'f.csv', {}).ts], [0, 1000, 2000]);
  const s = parseCsv(text, 'f.csv', { samplePeriodMs: 4 });
  assert.deepEqual([...s.ts], [0, 4, 8]);
  assert.deepEqual(s.channels, ['a', 'b']);
  assert.deepEqual([...s.values], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => parseCsv(text, 'f.csv', { samplePeriodMs: 0 }), InputError);
});

void test('a numeric time column is epoch milliseconds; `ts` and `time` are recognised anywhere', () => {
  const s = parseCsv('x,ts,y\n1,1700000000000,2\n3,1700000000250,4\n', 'f.csv', {});
  assert.deepEqual(s.channels, ['x', 'y']);
  assert.deepEqual([...s.ts], [1700000000000, 1700000000250]);
  assert.deepEqual([...s.values], [1, 2, 3, 4]);
  const t = parseCsv('Time,v\n5,1\n6,2\n', 'f.csv', {});
  assert.deepEqual([...t.ts], [5, 6]);
  assert.deepEqual(t.channels, ['v']);
});

void test('ISO 8601 times: zone offsets, fractions, space separator (as NAB and SKAB) read as UTC', () => {
  const s = parseCsv(
    'time,v\n2024-01-01T01:00:00+01:00,1\n2024-01-01 00:00:00.5,2\n2024-01-01T00:00:01.250Z,3\n2024-01-01T00:00:02-0030,4\n',
    'f.csv',
    {},
  );
  assert.deepEqual([...s.ts], [T0, T0 + 500, T0 + 1250, T0 + 2000 + 30 * 60_000]);
  assert.equal(parseIsoTime('2024-02-30T00:00:00Z'), undefined);
  assert.equal(parseIsoTime('2024-01-01T25:00:00Z'), undefined);
  assert.equal(parseIsoTime('2024-01-02'), T0 + 86_400_000);
});

void test('SKAB style: semicolon separator and a `datetime` column', () => {
  const s = parseCsv('datetime;A;B\n2020-02-08 13:30:47;0.5;1\n2020-02-08 13:30:48;0.25;2\n', 'skab.csv', {});
  assert.deepEqual(s.channels, ['A', 'B']);
  assert.deepEqual([...s.ts], [Date.UTC(2020, 1, 8, 13, 30, 47), Date.UTC(2020, 1, 8, 13, 30, 48)]);
});

void test('`time_s` is a time column in seconds (MIT-BIH export)', () => {
  const s = parseCsv('sample,time_s,MLII\n0,0.0000,-0.145\n1,0.0028,-0.15\n', 'm.csv', { channels: ['MLII'] });
  assert.deepEqual([...s.ts], [0, 2.8]);
  assert.deepEqual([...s.values], [Math.fround(-0.145), Math.fround(-0.15)]);
});

void test('channel selection reads the named columns in the given order', () => {
  const s = parseCsv('timestamp,a,b,c\n0,1,2,3\n10,4,5,6\n', 'f.csv', { channels: ['c', 'a'] });
  assert.deepEqual(s.channels, ['c', 'a']);
  assert.deepEqual([...s.values], [3, 1, 6, 4]);
});

void test('a missing selected channel is an error naming the channels the file has', () => {
  assert.throws(() => parseCsv('timestamp,a,b\n0,1,2\n', 'f.csv', { channels: ['a', 'flow'] }), {
    name: 'InputError',
    message: 'f.csv: no column "flow"; the file has channels "a", "b"',
  });
});

void test('wrong column count names file:line (header = line 1, blank lines counted)', () => {
  const header = 'datetime,c1,c2,c3,c4,c5,c6,c7,c8';
  const ok = '2020-01-01 00:00:00,1,2,3,4,5,6,7,8';
  const short = '2020-01-01 00:00:02,1,2,3,4,5,6,7';
  assert.throws(() => parseCsv(`${header}\n${ok}\n\n${short}\n`, 'pump.csv', {}), {
    name: 'InputError',
    message: 'pump.csv:4: expected 9 columns, got 8',
  });
});

void test('a non-numeric cell is quoted and its column named', () => {
  assert.throws(() => parseCsv('ts,flow,temp\n0,1,2\n1,3,warm\n', 'f.csv', {}), {
    message: 'f.csv:3: column "temp": "warm" is not a number',
  });
});

void test('the literal text NaN / nan / inf is an error; an empty cell is a missing value', () => {
  for (const bad of ['NaN', 'nan', 'inf', '-Infinity']) {
    assert.throws(() => parseCsv(`ts,v\n0,1\n1,${bad}\n`, 'f.csv', {}), {
      name: 'InputError',
      message: `f.csv:3: column "v": "${bad}" is not a finite number (leave the cell empty for a missing value)`,
    });
  }
  const s = parseCsv('ts,v,w\n0,,1\n1, ,2\n', 'f.csv', {});
  assert.ok(Number.isNaN(s.values[0]) && Number.isNaN(s.values[2]));
});

void test('unparseable and non-increasing timestamps are errors', () => {
  assert.throws(() => parseCsv('timestamp,v\n2024-13-01T00:00:00Z,1\n', 'f.csv', {}), {
    message:
      'f.csv:2: column "timestamp": cannot read "2024-13-01T00:00:00Z" as a time (expected epoch milliseconds or ISO 8601)',
  });
  assert.throws(() => parseCsv('timestamp,v\n,1\n', 'f.csv', {}), /f\.csv:2: column "timestamp": cannot read ""/);
  assert.throws(() => parseCsv('ts,v\n100,1\n100,2\n', 'f.csv', {}), {
    message: 'f.csv:3: timestamp "100" is not after the previous row\'s ("100"); timestamps must increase',
  });
  assert.throws(() => parseCsv('ts,v\n100,1\n50,2\n', 'f.csv', {}), /^InputError: f\.csv:3: timestamp "50"/);
  const any = parseCsv('ts,v\n100,1\n100,2\n50,3\n', 'f.csv', { timeOrder: 'any' });
  assert.deepEqual([...any.ts], [100, 100, 50]);
});

void test('quoted fields may hold delimiters, doubled quotes and line breaks; line numbers stay physical', () => {
  const s = parseCsv('ts,"a ""x""","b\nc"\n0,"1",2\n1,3,"4"\n', 'q.csv', {});
  assert.deepEqual(s.channels, ['a "x"', 'b\nc']);
  assert.deepEqual([...s.values], [1, 2, 3, 4]);
  assert.throws(() => parseCsv('ts,"a\nb"\n0,1\n1,x\n', 'q.csv', {}), {
    message: 'q.csv:4: column "a\\nb": "x" is not a number', // the name is JSON-quoted: one-line messages
  });
  assert.throws(() => parseCsv('ts,a\n0,"1\n', 'q.csv', {}), { message: 'q.csv:2: unterminated quoted field' });
  assert.throws(() => parseCsv('ts,a\n0,"1"x\n', 'q.csv', {}), { message: 'q.csv:2: unexpected "x" after a closing quote' });
});

void test('explicit time column and no time column', () => {
  const s = parseCsv('when,ts\n5,1\n7,2\n', 'f.csv', { timeColumn: 'when' });
  assert.deepEqual(s.channels, ['ts']);
  assert.deepEqual([...s.ts], [5, 7]);
  const n = parseCsv('ts,v\n5,1\n7,2\n', 'f.csv', { timeColumn: null, samplePeriodMs: 10 });
  assert.deepEqual(n.channels, ['ts', 'v']);
  assert.deepEqual([...n.ts], [0, 10]);
});

void test('empty file, header only, only a time column, duplicate names', () => {
  assert.throws(() => parseCsv('', 'e.csv', {}), { message: 'e.csv: empty file (a header row is required)' });
  assert.throws(() => parseCsv('\uFEFF\r\n\r\n', 'e.csv', {}), { message: 'e.csv: empty file (a header row is required)' });
  assert.throws(() => parseCsv('ts,a\n', 'e.csv', {}), { message: 'e.csv: no data rows after the header' });
  assert.throws(() => parseCsv('ts\n1\n', 'e.csv', {}), { message: 'e.csv: no channel columns (the header has only a time column)' });
  assert.throws(() => parseCsv('a,a\n1,2\n', 'e.csv', {}), { message: 'e.csv: the header names column "a" twice' });
});

void test('a missing file is an InputError naming the path', async () => {
  await assert.rejects(readCsv('/nonexistent/x.csv'), /^InputError: \/nonexistent\/x\.csv: cannot read file/);
});

void test('formatCsv: compact numbers, exact integers, quoting, NaN as empty', () => {
  const out = formatCsv(
    ['timestamp', 'score', 'note'],
    [
      [1700000000123, 0.1234567891, 'ok'],
      [1700000001123, 1 / 3, 'a, "b"'],
      [1700000002123, NaN, ''],
      [5, -0, ' pad'],
    ],
  );
  assert.equal(
    out,
    'timestamp,score,note\n1700000000123,0.1234568,ok\n1700000001123,0.3333333,"a, ""b"""\n1700000002123,,\n5,0," pad"\n',
  );
  assert.equal(formatNumber(Math.fround(0.1)), '0.1');
  assert.equal(formatNumber(123456.789), '123456.8');
  assert.equal(formatNumber(1.5e-9), '1.5e-9');
  assert.equal(formatNumber(2.5e21), '2.5e+21');
  assert.throws(() => formatCsv(['a', 'b'], [[1]]), RangeError);
});

void test('formatCsv output reads back with parseCsv', () => {
  const text = formatCsv(['ts', 'x', 'y'], [
    [0, 1.5, NaN],
    [1000, -2.25, 3],
  ]);
  const s = parseCsv(text, 'round.csv', {});
  assert.deepEqual([...s.ts], [0, 1000]);
  assert.equal(s.values[0], 1.5);
  assert.ok(Number.isNaN(s.values[1]));
  assert.deepEqual([...s.values.slice(2)], [-2.25, 3]);
});

const skab = path.join(sharedData, 'skab/valve1/0.csv');
void test('reads a real SKAB file with channel selection', { skip: !existsSync(skab) && 'data not present' }, async () => {
  const channels = ['Accelerometer1RMS', 'Accelerometer2RMS', 'Current', 'Pressure', 'Temperature', 'Thermocouple', 'Voltage', 'Volume Flow RateRMS'];
  const s = await readCsv(skab, { channels });
  assert.equal(s.channels.length, 8);
  assert.ok(s.rows > 1000);
  assert.equal(s.ts[0], Date.UTC(2020, 2, 9, 10, 14, 33));
  assert.equal(s.values[0], Math.fround(0.0265878));
  assert.equal(s.values[7], 32);
});
