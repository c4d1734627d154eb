// Numeric CSV times in a stated unit (--time-unit, csv.time_unit) and the warning for times that land outside
// 2000-2100 in the unit in force, naming the unit that would fit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { likelyTimeUnit, parseCsv, timeUnitWarning } from '../../../src/sources/csv';

const T0_MS = Date.UTC(2026, 0, 1);
const S = T0_MS / 1000;

void test('each unit scales numeric times to epoch milliseconds; ISO times are unaffected', () => {
  const rows = (k: number): string => `timestamp,a\n${S * k},1\n${(S + 1) * k},2\n`;
  assert.deepEqual([...parseCsv(rows(1), 'f.csv', { timeUnit: 's' }).ts], [T0_MS, T0_MS + 1000]);
  assert.deepEqual([...parseCsv(rows(1000), 'f.csv', { timeUnit: 'ms' }).ts], [T0_MS, T0_MS + 1000]);
  assert.deepEqual([...parseCsv(rows(1e6), 'f.csv', { timeUnit: 'us' }).ts], [T0_MS, T0_MS + 1000]);
  const ns = parseCsv(rows(1e9), 'f.csv', { timeUnit: 'ns' });
  assert.deepEqual([...ns.ts], [T0_MS, T0_MS + 1000]);
  assert.deepEqual(ns.warnings, []);
  assert.deepEqual(ns.time, { column: 'timestamp', unit: 'ns' });
  const iso = parseCsv('timestamp,a\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:01Z,2\n', 'f.csv', { timeUnit: 's' });
  assert.deepEqual([...iso.ts], [T0_MS, T0_MS + 1000]);
  assert.deepEqual(iso.warnings, []);
  assert.deepEqual(iso.time, { column: 'timestamp', unit: 'iso' });
});

void test('the default stays ms, and s for a time_s column; an explicit unit overrides the column name', () => {
  assert.deepEqual([...parseCsv(`timestamp,a\n${T0_MS},1\n`, 'f.csv').ts], [T0_MS]);
  assert.deepEqual([...parseCsv('time_s,a\n1.5,1\n', 'f.csv').ts], [1500]);
  assert.deepEqual([...parseCsv(`time_s,a\n${T0_MS},1\n`, 'f.csv', { timeUnit: 'ms' }).ts], [T0_MS]);
});

void test('epoch seconds read as milliseconds warn and name --time-unit s', () => {
  const s = parseCsv(`timestamp,a\n${S},1\n${S + 1},2\n`, 'plant.csv');
  assert.deepEqual([...s.ts], [S, S + 1], 'read as given: the warning does not change the data');
  assert.equal(s.warnings.length, 1);
  assert.match(s.warnings[0], /^plant\.csv: column "timestamp": numeric times read as epoch milliseconds span 1970-01-21T/);
  assert.match(s.warnings[0], /outside 2000-2100; they look like epoch seconds: give --time-unit s \(or csv\.time_unit: s in the config\)/);
});

void test('milliseconds read as seconds, and nanoseconds read as milliseconds, warn with the likely unit', () => {
  assert.match(parseCsv(`timestamp,a\n${T0_MS},1\n`, 'f.csv', { timeUnit: 's' }).warnings[0] ?? '', /read as epoch seconds .*--time-unit ms/);
  assert.match(parseCsv(`timestamp,a\n${T0_MS * 1e6},1\n`, 'f.csv').warnings[0] ?? '', /span out of range .*--time-unit ns/);
  assert.match(parseCsv(`timestamp,a\n${T0_MS * 1e3},1\n`, 'f.csv').warnings[0] ?? '', /--time-unit us/);
});

void test('times from the start of a recording fit no unit: the warning says only their spacing matters then', () => {
  const s = parseCsv('timestamp,a\n0,1\n1000,2\n', 'rel.csv');
  assert.equal(s.warnings.length, 1);
  assert.match(s.warnings[0], /no unit \(s, ms, us, ns\) puts them between 2000 and 2100; if they count from the start of the recording/);
  assert.deepEqual(parseCsv('a,b\n1,2\n', 'f.csv').warnings, [], 'no time column, nothing to doubt');
});

void test('likelyTimeUnit and timeUnitWarning: the bounds are 2000-01-01 inclusive, 2100-01-01 exclusive', () => {
  assert.equal(likelyTimeUnit(S, S + 10), 's');
  assert.equal(likelyTimeUnit(T0_MS, T0_MS), 'ms');
  assert.equal(likelyTimeUnit(0, 10), undefined);
  const from = Date.UTC(2000, 0, 1);
  const to = Date.UTC(2100, 0, 1);
  assert.equal(timeUnitWarning('f', 't', from, from, 'ms'), undefined);
  assert.notEqual(timeUnitWarning('f', 't', from - 1, from, 'ms'), undefined);
  assert.notEqual(timeUnitWarning('f', 't', to, to, 'ms'), undefined);
  assert.notEqual(timeUnitWarning('f', 't', T0_MS, to + 1, 'ms'), undefined, 'the last time counts too');
});
