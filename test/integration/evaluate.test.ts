// `evaluate nab|skab|mitdb` end to end through the built binary, on small synthetic fixtures written by the
// test (runs anywhere). The figures docs/benchmarks.md states for the benchmark data are pinned by
// benchmarkFigures.test.ts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createRng, gaussian } from '../../src/core/random';
import { runCli, type CliRun } from '../helpers/cli';

const SEED = 11;
let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCli(dir, args);
}

/** Runs with --json and returns the one object on stdout, after checking its exact keys. */
async function runJson(keys: readonly string[], ...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(...args, '--json');
  assert.equal(r.code, 0, `seed ${SEED}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `stdout holds exactly one JSON line: ${r.stdout}`);
  const out = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out), keys);
  return out;
}

/** A small, fast configuration (the benchmark configs train longer on more data). */
async function config(name: string, body: string): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, body);
  return file;
}

const TRAINING = `  training:
    encoder_units: [16]
    latent_units: 4
    epochs: 15
    batch_size: 32
    learning_rate: 0.01
    validation_fraction: 0
    patience: 0
    seed: ${SEED}
`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-evaluate-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function nabTime(i: number): string {
  return new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
}

void test('evaluate nab: contract JSON, a detected level shift scores above the null detector, --out writes result CSVs', async () => {
  const rng = createRng(SEED);
  const data = path.join(dir, 'nab', 'data', 'synthetic');
  await mkdir(data, { recursive: true });
  const rows = 1200;
  for (const [name, shiftAt] of [['shift.csv', 900], ['calm.csv', -1]] as const) {
    const lines = ['timestamp,value'];
    for (let i = 0; i < rows; i++) {
      const v = 50 + 10 * Math.sin((2 * Math.PI * i) / 48) + gaussian(rng) + (shiftAt >= 0 && i >= shiftAt ? 40 : 0);
      lines.push(`${nabTime(i)},${v.toFixed(3)}`);
    }
    await writeFile(path.join(data, name), lines.join('\n') + '\n');
  }
  const labels = path.join(dir, 'nab', 'labels.json');
  const window = [nabTime(860), nabTime(940)].map((t) => `${t}.000000`);
  await writeFile(labels, JSON.stringify({ 'synthetic/shift.csv': [window], 'synthetic/calm.csv': [], 'synthetic/absent.csv': [] }, null, 4));
  const cfg = await config(
    'nab',
    `defaults:
  window: { size: 16, hop: 1, max_gap_ms: 86400000, min_completeness: 0.5 }
${TRAINING}    input_transform: demean
  calibration:
    method: percentile
    percentile: 99
    likelihood: { enabled: true, average_windows: 3, history_windows: 300, learning_windows: 100, threshold: 0.5, suppress_windows: 100 }
  alerting: { k: 1, n: 1, reset_windows: 1, reset_ratio: 1, keep_firing_for_ms: 0, flap_max_starts: 0 }
`,
  );
  const out = path.join(dir, 'nab', 'out');
  const r = await runJson(['dataset', 'files', 'scores', 'calibrated', 'per_file'], 'evaluate', 'nab', '--data', path.join(dir, 'nab', 'data'), '--labels', labels, '--out', out, '-c', cfg);
  assert.equal(r.dataset, 'nab');
  assert.equal(r.files, 2);
  const scores = r.scores as Record<string, number>;
  const calibrated = r.calibrated as Record<string, number>;
  assert.deepEqual(Object.keys(scores), ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
  assert.deepEqual(Object.keys(calibrated), ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
  assert.ok(scores.standard > 50, `standard ${scores.standard}`);
  assert.ok(calibrated.standard > 0, `calibrated standard ${calibrated.standard}`);
  const perFile = r.per_file as { file: string; windows: number; detected: number; false_positives: number; raw_score: number }[];
  assert.deepEqual(perFile.map((f) => [f.file, f.windows]), [['synthetic/calm.csv', 0], ['synthetic/shift.csv', 1]]);
  assert.equal(perFile[1].detected, 1, 'the level shift is detected by an alert');
  assert.ok(perFile[1].raw_score > -1, `its raw score ${perFile[1].raw_score} is above the null detector's (-1 a window)`);
  const csv = (await readFile(path.join(out, 'synthetic', 'anomalyd_shift.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv[0], 'timestamp,value,anomaly_score,label');
  assert.equal(csv.length, rows + 1);
  const scoreCol = csv.slice(1).map((l) => Number(l.split(',')[2]));
  assert.ok(scoreCol.every((s) => s >= 0 && s <= 1));
  assert.ok(scoreCol.slice(0, 15).every((s) => s === 0), 'rows before the first window score 0');
  // The written results re-score to the same optimised numbers through --results.
  const again = await runJson(['dataset', 'files', 'windows', 'scores', 'thresholds'], 'evaluate', 'nab', '--results', out, '--labels', labels);
  assert.deepEqual(again.scores, scores);
});

void test('evaluate skab: contract JSON; the valve fault is found with few false alarms', async () => {
  const rng = createRng(SEED + 1);
  const data = path.join(dir, 'skab', 'valve');
  await mkdir(data, { recursive: true });
  const header = 'datetime;Accelerometer1RMS;Current;Pressure;anomaly;changepoint';
  const lines = [header];
  const t0 = Date.UTC(2020, 2, 9, 10, 0, 0);
  for (let i = 0; i < 900; i++) {
    const fault = i >= 600 && i < 750;
    const iso = new Date(t0 + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
    const a = 0.2 + 0.01 * gaussian(rng) + (fault ? 0.05 : 0);
    const c = 2 + 0.1 * Math.sin(i / 10) + 0.02 * gaussian(rng);
    const p = 1 + 0.02 * gaussian(rng) - (fault ? 0.3 : 0);
    lines.push(`${iso};${a.toFixed(5)};${c.toFixed(5)};${p.toFixed(5)};${fault ? '1.0' : '0.0'};${i === 600 || i === 750 ? '1.0' : '0.0'}`);
  }
  await writeFile(path.join(data, '1.csv'), lines.join('\r\n') + '\r\n');
  await writeFile(path.join(dir, 'skab', 'anomaly-free.csv'), header.split(';').slice(0, 4).join(';') + '\r\n2020-03-09 09:00:00;0.2;2;1\r\n');
  const cfg = await config(
    'skab',
    `defaults:
  window: { size: 8, hop: 1, max_gap_ms: 60000, min_completeness: 0.5 }
${TRAINING}  calibration: { method: percentile, percentile: 99.5 }
  alerting: { k: 3, n: 5, reset_windows: 5, reset_ratio: 0.9, keep_firing_for_ms: 0, flap_max_starts: 0 }
`,
  );
  const r = await runJson(['dataset', 'files', 'f1', 'far', 'mar', 'per_file'], 'evaluate', 'skab', '--data', path.join(dir, 'skab'), '-c', cfg);
  assert.equal(r.dataset, 'skab');
  assert.equal(r.files, 1);
  assert.deepEqual(r.per_file, [{ file: path.join('valve', '1.csv'), test_rows: 500, f1: r.f1, far: r.far, mar: r.mar }], 'one file: its figures are the pooled ones');
  assert.ok((r.f1 as number) > 0.8, `F1 ${String(r.f1)}`);
  assert.ok((r.far as number) < 10, `FAR ${String(r.far)}`);
});

void test('evaluate skab: temperatures that wander page with input_transform none, not with auto', async () => {
  const rng = createRng(SEED + 3);
  const data = path.join(dir, 'skab-drift', 'valve');
  await mkdir(data, { recursive: true });
  const lines = ['datetime;Temperature;Thermocouple;Current;Pressure;anomaly;changepoint'];
  const t0 = Date.UTC(2020, 2, 9, 10, 0, 0);
  for (let i = 0; i < 1000; i++) {
    const fault = i >= 600 && i < 800;
    const iso = new Date(t0 + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
    // Motor and fluid warm up together while the model learns (rows 0-399); later the motor cools while the
    // fluid keeps warming: levels and a combination of them that the learning rows never showed.
    // Both drift slowly next to their noise within a window, as SKAB's temperatures do.
    const motor = (i < 400 ? 70 + i / 200 : 72 - (i - 400) / 200) + 0.2 * gaussian(rng);
    const fluid = 25 + i / 400 + 0.1 * gaussian(rng);
    const c = 2 + 0.02 * gaussian(rng);
    const p = 1 + 0.02 * gaussian(rng) - (fault ? 0.1 : 0);
    lines.push(`${iso};${motor.toFixed(4)};${fluid.toFixed(4)};${c.toFixed(5)};${p.toFixed(5)};${fault ? '1.0' : '0.0'};0.0`);
  }
  await writeFile(path.join(data, '1.csv'), lines.join('\r\n') + '\r\n');
  const body = (transform: string): string => `defaults:
  window: { size: 16, hop: 1, max_gap_ms: 60000, min_completeness: 0.5 }
${TRAINING}    input_transform: ${transform}
  calibration: { method: percentile, percentile: 99 }
  alerting: { k: 5, n: 10, reset_windows: 5, reset_ratio: 1, keep_firing_for_ms: 0, flap_max_starts: 0 }
`;
  const keys = ['dataset', 'files', 'f1', 'far', 'mar', 'per_file'];
  const none = await runJson(keys, 'evaluate', 'skab', '--data', path.join(dir, 'skab-drift'), '-c', await config('skab-none', body('none')));
  const auto = await runJson(keys, 'evaluate', 'skab', '--data', path.join(dir, 'skab-drift'), '-c', await config('skab-auto', body('auto')));
  console.log(`synthetic wandering temperatures: none ${JSON.stringify(none)}, auto ${JSON.stringify(auto)}`);
  assert.ok((none.far as number) > 30, `none: the wandering temperatures page (FAR ${String(none.far)})`);
  assert.ok((auto.far as number) < 10, `auto: FAR ${String(auto.far)}`);
  assert.ok((auto.f1 as number) > 0.8, `auto: F1 ${String(auto.f1)}`);
});

/**
 * A crude two-lead ECG at 360 Hz: a QRS-like pulse every ~0.8 s; abnormal beats are wide and inverted, every
 * 7th beat after `abnormalFromS`. `gain` scales the whole record (signal and noise), as leads and patients do.
 */
function syntheticEcg(seconds: number, seed: number, abnormalFromS = 60, gain = 1): { csv: string; beats: string } {
  const rng = createRng(seed);
  const n = seconds * 360;
  const lead1 = new Float64Array(n);
  const lead2 = new Float64Array(n);
  const beats = ['sample,time_s,symbol,abnormal'];
  let k = 0;
  for (let at = 100; at < n - 100; at += 288 + Math.round(10 * gaussian(rng)), k++) {
    const abnormal = at > abnormalFromS * 360 && k % 7 === 3;
    const width = abnormal ? 18 : 6;
    const amp = abnormal ? -2.5 : 1.5;
    for (let d = -40; d <= 40; d++) {
      const g = Math.exp(-(d * d) / (2 * width * width));
      lead1[at + d] += amp * g;
      lead2[at + d] += 0.5 * amp * g;
    }
    beats.push(`${at},${(at / 360).toFixed(4)},${abnormal ? 'V' : 'N'},${abnormal ? 1 : 0}`);
  }
  const rows = ['sample,time_s,MLII,V1'];
  for (let i = 0; i < n; i++) {
    const v1 = gain * (lead1[i] + 0.02 * gaussian(rng));
    const v2 = gain * (lead2[i] + 0.02 * gaussian(rng));
    rows.push(`${i},${(i / 360).toFixed(4)},${v1.toFixed(3)},${v2.toFixed(3)}`);
  }
  return { csv: rows.join('\n') + '\n', beats: beats.join('\n') + '\n' };
}

void test('evaluate mitdb: contract JSON; wide inverted beats are told from normal ones', async () => {
  const data = path.join(dir, 'mitdb');
  await mkdir(data, { recursive: true });
  const { csv, beats } = syntheticEcg(120, SEED + 2);
  await writeFile(path.join(data, '900.csv.gz'), gzipSync(csv));
  await writeFile(path.join(data, '900_beats.csv'), beats);
  const cfg = await config(
    'mitdb',
    `defaults:
  window: { size: 144, hop: 18, max_gap_ms: 1000, min_completeness: 0.9, sample_period_ms: 2.7777777777777777 }
  training: { encoder_units: [64], latent_units: 8, epochs: 40, batch_size: 32, learning_rate: 0.005, validation_fraction: 0, patience: 0, seed: ${SEED}, input_transform: demean }
  calibration: { method: percentile, percentile: 99.5 }
`,
  );
  const r = await runJson(['dataset', 'records', 'beats', 'roc_auc', 'sensitivity', 'specificity', 'per_record'], 'evaluate', 'mitdb', '--data', data, '--learn-s', '40', '-c', cfg);
  assert.equal(r.records, 1);
  const [one] = r.per_record as Record<string, unknown>[];
  assert.deepEqual([one.record, one.beats, one.roc_auc, one.sensitivity, one.specificity], ['900', r.beats, r.roc_auc, r.sensitivity, r.specificity], 'one record: its figures are the pooled ones');
  assert.ok((r.beats as number) > 80);
  assert.ok((r.roc_auc as number) > 0.9, `ROC AUC ${String(r.roc_auc)}`);
});

void test('evaluate mitdb: abnormal beats already in the learning minutes, records on different scales: robust calibration pools them', async () => {
  const data = path.join(dir, 'mitdb-robust');
  await mkdir(data, { recursive: true });
  for (const [rec, gain] of [
    ['901', 1],
    ['902', 4],
  ] as const) {
    const { csv, beats } = syntheticEcg(120, SEED + Number(rec), 0, gain);
    await writeFile(path.join(data, `${rec}.csv.gz`), gzipSync(csv));
    await writeFile(path.join(data, `${rec}_beats.csv`), beats);
  }
  // Windows of 1 s hold at least one beat each, as on the benchmark: the error floor is a beat's, not silence's.
  const body = (calibration: string): string => `defaults:
  window: { size: 360, hop: 36, max_gap_ms: 1000, min_completeness: 0.9, sample_period_ms: 2.7777777777777777 }
  training: { encoder_units: [64], latent_units: 2, epochs: 40, batch_size: 32, learning_rate: 0.005, validation_fraction: 0, patience: 0, seed: ${SEED}, input_transform: demean, score_aggregate: mean }
  calibration: ${calibration}
`;
  const keys = ['dataset', 'records', 'beats', 'roc_auc', 'sensitivity', 'specificity', 'per_record'];
  const args = ['evaluate', 'mitdb', '--data', data, '--learn-s', '40', '-c'];
  const robust = await runJson(keys, ...args, await config('mitdb-robust', body('{ method: robust, robust: { quantile: 0.1, factor: 3 } }')));
  assert.equal(robust.records, 2);
  assert.ok((robust.roc_auc as number) > 0.9, `robust: pooled ROC AUC ${String(robust.roc_auc)}`);
  assert.ok((robust.sensitivity as number) > 0.8, `robust: sensitivity ${String(robust.sensitivity)}`);
  assert.ok((robust.specificity as number) > 0.8, `robust: specificity ${String(robust.specificity)}`);
  // The 99.5th percentile of learning minutes that hold abnormal beats sits above them: they pass unflagged.
  const percentile = await runJson(keys, ...args, await config('mitdb-percentile', body('{ method: percentile, percentile: 99.5 }')));
  assert.ok((percentile.sensitivity as number) < 0.5, `percentile: sensitivity ${String(percentile.sensitivity)}`);
  console.log(`synthetic contaminated records: robust ${JSON.stringify(robust)}, percentile ${JSON.stringify(percentile)}`);
  const byP = await runJson(keys, ...args, await config('mitdb-robust-p', body('{ method: robust }')), '--pool', 'p-value');
  assert.equal(byP.records, 2);
  // stderr shows how far one record moves the pooled figure (with two records: the other one's own AUC).
  const loo = await cli(...args, await config('mitdb-robust-loo', body('{ method: robust, robust: { quantile: 0.1, factor: 3 } }')));
  assert.equal(loo.code, 0, loo.stderr);
  assert.match(loo.stderr, /Pooled ROC AUC with one record left out: [01]\.\d{4} \(without 90[12]\) to [01]\.\d{4} \(without 90[12]\)/);
  const bad = await cli(...args, await config('mitdb-robust-bad', body('{ method: robust }')), '--pool', 'nope');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--pool must be ratio or p-value \(got 'nope'\)/);
});
