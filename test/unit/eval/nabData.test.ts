import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { InputError } from '../../../src/core/errors';
import {
  formatNabResultCsv,
  nabScoringInput,
  parseNabLabels,
  parseNabTimestamp,
  readNabDataDir,
  readNabLabels,
  readNabResultsDir,
  windowLabels,
  windowRows,
} from '../../../src/eval/nabData';

const fixtures = path.resolve(__dirname, '../../../../test/fixtures/nab');
const labelsFile = path.join(fixtures, 'labels.json');

void test('timestamps: seconds and microseconds, read as UTC; anything else is NaN', () => {
  assert.equal(parseNabTimestamp('2014-04-10 07:15:00'), Date.UTC(2014, 3, 10, 7, 15, 0));
  assert.equal(parseNabTimestamp('2014-04-10 07:15:00.000000'), Date.UTC(2014, 3, 10, 7, 15, 0));
  assert.equal(parseNabTimestamp('2014-04-10 07:15:00.250000'), Date.UTC(2014, 3, 10, 7, 15, 0) + 250);
  assert.ok(Number.isNaN(parseNabTimestamp('10/04/2014 07:15')));
});

void test('labels: windows per file; bad shapes are input errors naming the file and window', () => {
  const labels = parseNabLabels({ 'a/x.csv': [['2020-01-01 00:05:00.000000', '2020-01-01 00:09:00.000000']], 'a/y.csv': [] }, 'l.json');
  assert.deepEqual([...labels.keys()], ['a/x.csv', 'a/y.csv']);
  assert.equal(labels.get('a/x.csv')?.[0].start, Date.UTC(2020, 0, 1, 0, 5));
  assert.throws(() => parseNabLabels({ 'a/x.csv': [['2020-01-01 00:05:00']] }, 'l.json'), (e: Error) => e instanceof InputError && /a\/x\.csv: window 1/.test(e.message));
  assert.throws(() => parseNabLabels([], 'l.json'), InputError);
});

void test('window rows: exact timestamps, the FIRST of repeated ones (DST), and times between rows', () => {
  const minute = 60000;
  // Rows at minutes 0..9, with minute 5 repeated (rows 5 and 6).
  const times = [0, 1, 2, 3, 4, 5, 5, 6, 7, 8].map((m) => m * minute);
  const w = (a: number, b: number): { startText: string; endText: string; start: number; end: number } => ({ startText: `${a}`, endText: `${b}`, start: a * minute, end: b * minute });
  assert.deepEqual(windowRows(times, [w(2, 5)], 'f'), [{ start: 2, end: 5 }]);
  assert.deepEqual(windowRows(times, [w(5, 7)], 'f'), [{ start: 5, end: 8 }]);
  assert.deepEqual(windowRows(times, [w(1.5, 3.5)], 'f'), [{ start: 2, end: 3 }]);
  assert.throws(() => windowRows(times, [w(20, 30)], 'f'), /holds no row/);
  assert.deepEqual([...windowLabels(6, [{ start: 1, end: 2 }])], [0, 1, 1, 0, 0, 0]);
});

void test('reads a data folder of <category>/<file>.csv and writes result CSVs NAB can read', async () => {
  const series = await readNabDataDir(path.join(fixtures, 'data'));
  assert.deepEqual(
    series.map((s) => [s.key, s.values.length]),
    [
      ['catA/one.csv', 100],
      ['catA/two.csv', 40],
    ],
  );
  const one = series[0];
  assert.equal(one.timestampText[1], '2020-01-01 00:01:00');
  assert.equal(one.values[1], 7);
  const csv = formatNabResultCsv(one, new Float64Array(100).fill(0.25), [{ start: 1, end: 2 }]).split('\n');
  assert.equal(csv[0], 'timestamp,value,anomaly_score,label');
  assert.equal(csv[2], '2020-01-01 00:01:00,7,0.25,1');
  assert.equal(csv[4], '2020-01-01 00:03:00,8,0.25,0');
});

void test('reads result CSVs at any depth, matching <detector>_<file> names to labelled files only', async () => {
  const labels = await readNabLabels(labelsFile);
  assert.equal(labels.size, 3);
  const results = await readNabResultsDir(path.join(fixtures, 'results'), labels);
  assert.deepEqual(
    results.map((r) => r.key),
    ['catA/one.csv', 'catA/two.csv'],
  );
  assert.equal(results[0].scores[42], 0.9);
  const input = nabScoringInput(results[0], labels);
  assert.deepEqual(input.windows, [{ start: 40, end: 49 }]);
  // The whole fixture tree holds each file twice (data/ has no anomaly_score, results/ does) -> error.
  await assert.rejects(readNabResultsDir(fixtures, labels), /two result files for catA\/one\.csv/);
});
