// `anomalyd evaluate skab --data DIR`: the SKAB protocol through the daemon's path. Per labelled file the first
// 400 rows train and calibrate a detector; the whole file is then streamed through the pipeline with a fake
// clock, and each test row's prediction is the daemon's alert state at that row (firing or not). F1, FAR %
// and MAR % are counted point by point over the test rows of all files pooled, as the leaderboard does.
import * as path from 'node:path';
import { loadDetectionConfig } from '../app/configFiles';
import { InputError } from '../core/errors';
import { learnAndReplay } from '../offline/learnAndReplay';
import { readSkabDir, SKAB_TRAIN_ROWS, skabMetrics, type SkabPrediction } from '../eval/skab';
import { monotoneTimes } from '../offline/streamReplay';
import { selectBackend } from '../model/backend';
import { formatDuration, packageRoot, packageVersion, parseCommand, printJson, Progress, requireOption, round } from './common';

const USAGE = `Usage: anomalyd evaluate skab --data DIR [-c FILE] [--json]

  --data DIR         SKAB folder: every labelled <n>.csv below it (e.g. data/ or data/valve1); anomaly-free.csv
                     has no labels and is not used, as in the SKAB leaderboard
  -c, --config FILE  detection settings (default: config/benchmarks/skab.yaml of the package)
  --json             print one JSON object on stdout (the pooled figures and per_file: each file's)`;

export async function evaluateSkabCommand(args: string[]): Promise<number> {
  const values = parseCommand(args, { data: { type: 'string' }, config: { type: 'string', short: 'c' } }, USAGE);
  if (!values) return 0;
  const data = requireOption(values.data, 'data', USAGE);
  const detection = await loadDetectionConfig(values.config ?? path.join(packageRoot(), 'config', 'benchmarks', 'skab.yaml'));
  const files = await readSkabDir(data);
  if (files.length === 0) throw new InputError(`${data}: no labelled SKAB CSV (datetime;...;anomaly;changepoint) found`);
  const backend = await selectBackend();
  const progress = new Progress();
  const started = Date.now();
  const predictions: SkabPrediction[] = [];
  const perFile: { file: string; test_rows: number; f1: number; far: number; mar: number }[] = [];
  for (const [i, f] of files.entries()) {
    const what = `[${i + 1}/${files.length}] ${path.relative(data, f.file) || path.basename(f.file)}`;
    if (f.rows <= SKAB_TRAIN_ROWS) throw new InputError(`${f.file}: ${f.rows} rows, but the first ${SKAB_TRAIN_ROWS} are for training: nothing left to test`);
    const replay = await learnAndReplay({ id: f.file, channels: f.channels }, monotoneTimes(f.timestamps), Float32Array.from(f.values), SKAB_TRAIN_ROWS, {
      detection,
      backend: backend.name,
      version: packageVersion(),
      onEpoch: (e, n) => progress.update(`${what}: training epoch ${e}/${n}`),
    });
    const predicted = replay.firing.slice(SKAB_TRAIN_ROWS);
    const actual = (f.anomaly ?? new Uint8Array(f.rows)).slice(SKAB_TRAIN_ROWS);
    predictions.push({ predicted, actual });
    const m = skabMetrics([{ predicted, actual }]);
    perFile.push({ file: path.relative(data, f.file) || path.basename(f.file), test_rows: f.rows - SKAB_TRAIN_ROWS, f1: round(m.f1), far: round(m.far, 2), mar: round(m.mar, 2) });
    progress.done(`${what}: ${f.rows - SKAB_TRAIN_ROWS} test rows, F1 ${m.f1.toFixed(3)} FAR ${m.far.toFixed(1)}% MAR ${m.mar.toFixed(1)}%`);
  }
  const m = skabMetrics(predictions);
  // Per file beside the pooled figures: a regression on one machine is visible even when the pool hides it.
  const result = { dataset: 'skab', files: files.length, f1: round(m.f1), far: round(m.far, 2), mar: round(m.mar, 2), per_file: perFile };
  process.stderr.write(`Ran ${files.length} SKAB files in ${formatDuration(Date.now() - started)} (backend ${backend.name})\n`);
  if (values.json) printJson(result);
  else process.stdout.write(`SKAB, ${result.files} files pooled: F1 ${result.f1}  FAR ${result.far}%  MAR ${result.mar}%\n`);
  return 0;
}
