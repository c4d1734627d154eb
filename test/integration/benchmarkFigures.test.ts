// The detection figures docs/benchmarks.md states under "Results of the shipped configurations", pinned: each of
// its result lines is read from the page itself and the same `evaluate` command is run on the same data (the
// benchmark data folder, shared/data beside the checkout; skipped where it is absent), so a change that moves a
// figure fails here until the page states what the command prints.
// Tolerances: 0.005 on ratios (F1, ROC AUC, accuracy, precision, recall, sensitivity, specificity), 0.5 on
// percentages (SKAB FAR/MAR) and NAB scores (0-100): room for the last digits a different CPU or backend gives
// (the wasm backend's NAB run differs by 0.17), not for a change of the detector. Every run is the page's
// full one; MIT-BIH's stated 9-record figure is run on those 9 records (about 30 s), its 19-record figure on
// all the records the data set holds (about 100 s).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const DATA = path.resolve(ROOT, '..', 'shared', 'data');
const PAGE = 'docs/benchmarks.md';
const HEADING = '### Results of the shipped configurations';
/**
 * The page's "Results of the shipped configurations" section, up to the next heading: the results of the
 * shipped benchmark configurations (the sections after it show runs of other configurations, e.g. NAB's with
 * SKAB's scoring).
 */
const RESULTS = ((): string => {
  const text = readFileSync(path.join(ROOT, PAGE), 'utf8');
  const start = text.indexOf(`\n${HEADING}\n`);
  assert.ok(start >= 0, `${PAGE} has a "${HEADING}" section`);
  const end = text.slice(start + 1).search(/\n#+ /);
  return text.slice(start, end < 0 ? undefined : start + 1 + end);
})();
const skip = existsSync(path.join(DATA, 'nab', 'labels')) ? false : '../shared/data not present';

/** Ratios (F1, AUC...) and 0-100 figures (percentages, NAB scores). */
const RATIO = 0.005;
const PERCENT = 0.5;

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-benchmark-figures-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The one result line of that section (a JSON object on a line of its own, or in backticks) that starts with `prefix`. */
function stated(prefix: string): Record<string, unknown> {
  const found = RESULTS.split('\n')
    .map((l) => l.trim().replace(/^`|`[^`]*$/g, ''))
    .filter((l) => l.startsWith(prefix));
  assert.equal(found.length, 1, `${PAGE}'s results state exactly one result line starting ${prefix}: ${JSON.stringify(found)}`);
  return JSON.parse(found[0]) as Record<string, unknown>;
}

function evaluate(...args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'evaluate', ...args, '--json'], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`evaluate ${args.join(' ')} exited ${String(code)}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as Record<string, unknown>);
    });
  });
}

/**
 * Each figure of `keys` within `tolerance` of the page's; the other keys (counts, names) exactly equal. The page
 * states the pooled figures: the per-file (per-record) list beside them is only checked to have one entry each.
 */
function assertFigures(what: string, all: Record<string, unknown>, want: Record<string, unknown>, tolerances: Record<string, number>): void {
  const { per_file: perFile, per_record: perRecord, ...got } = all;
  console.log(`${what}: ${JSON.stringify(got)}`);
  const listed = perFile ?? perRecord;
  if (listed !== undefined) assert.equal((listed as unknown[]).length, got.files ?? got.records, `${what}: one per-file entry a file`);
  assert.deepEqual(Object.keys(got), Object.keys(want), what);
  for (const [key, expected] of Object.entries(want)) {
    const tolerance = tolerances[key];
    if (tolerance === undefined) {
      assert.deepEqual(got[key], expected, `${what}: ${key}`);
      continue;
    }
    const actual = got[key];
    assert.ok(typeof actual === 'number' && typeof expected === 'number', `${what}: ${key} is a number (${String(actual)})`);
    assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${key} ${actual}, ${PAGE} states ${expected} (tolerance ${tolerance})`);
  }
}

void test('ECG5000 dev (evaluate ucr --train/--test): the stated figures', { skip }, async () => {
  const want = stated('{"dataset":"ucr","n_train":146,');
  const got = await evaluate('ucr', '--train', path.join(DATA, 'ecg5000', 'ECG5000_dev_train.txt'), '--test', path.join(DATA, 'ecg5000', 'ECG5000_dev_test.txt'));
  assertFigures('ECG5000 dev', got, want, { threshold: 0.0005, accuracy: RATIO, precision: RATIO, recall: RATIO, f1: RATIO, roc_auc: RATIO });
});

void test('ECG200 5-fold (evaluate ucr --folds 5): the stated figures', { skip }, async () => {
  const want = stated('{"dataset":"ucr","n_train":55.2,');
  const got = await evaluate('ucr', '--train', path.join(DATA, 'ecg200', 'ECG200_TRAIN.txt'), '--folds', '5');
  assertFigures('ECG200 5-fold', got, want, { threshold: 0.0005, accuracy: RATIO, precision: RATIO, recall: RATIO, f1: RATIO, roc_auc: RATIO });
});

void test('SKAB valve1, 16 files (evaluate skab): the stated figures', { skip }, async () => {
  const want = stated('{"dataset":"skab","files":16,');
  const got = await evaluate('skab', '--data', path.join(DATA, 'skab', 'valve1'));
  assertFigures('SKAB valve1', got, want, { f1: RATIO, far: PERCENT, mar: PERCENT });
});

void test('SKAB valve1 and other, 23 files (evaluate skab): the stated figures', { skip }, async () => {
  const want = stated('{"dataset":"skab","files":23,');
  const got = await evaluate('skab', '--data', path.join(DATA, 'skab'));
  assertFigures('SKAB valve1 + other', got, want, { f1: RATIO, far: PERCENT, mar: PERCENT });
});

void test('NAB, 24 files (evaluate nab): the stated scores', { skip }, async () => {
  const want = stated('{"dataset":"nab","files":24,"scores"');
  const got = await evaluate('nab', '--data', path.join(DATA, 'nab', 'data'), '--labels', path.join(DATA, 'nab', 'labels', 'combined_windows.json'));
  console.log(`NAB: ${JSON.stringify(got)}`);
  assert.equal(got.files, want.files);
  for (const group of ['scores', 'calibrated'] as const) {
    const profiles = { standard: PERCENT, reward_low_FP_rate: PERCENT, reward_low_FN_rate: PERCENT };
    assertFigures(`NAB ${group}`, got[group] as Record<string, unknown>, want[group] as Record<string, unknown>, profiles);
  }
});

void test('MIT-BIH, the 9 records the page names (evaluate mitdb): the stated figures', { skip }, async () => {
  const want = stated('{"dataset":"mitdb","records":9,');
  const records = ['100', '101', '103', '105', '106', '108', '119', '200', '203'];
  const data = path.join(dir, 'mitdb9');
  await mkdir(data);
  for (const r of records) {
    for (const f of [`${r}.csv.gz`, `${r}_beats.csv`]) await symlink(path.join(DATA, 'mitdb', f), path.join(data, f));
  }
  const got = await evaluate('mitdb', '--data', data);
  assertFigures('MIT-BIH 9 records', got, want, { roc_auc: RATIO, sensitivity: RATIO, specificity: RATIO });
});

void test('MIT-BIH, all 19 records (evaluate mitdb): the stated figures', { skip }, async () => {
  const want = stated('{"dataset":"mitdb","records":19,');
  const got = await evaluate('mitdb', '--data', path.join(DATA, 'mitdb'));
  assertFigures('MIT-BIH 19 records', got, want, { roc_auc: RATIO, sensitivity: RATIO, specificity: RATIO });
});
