// `anomalyd evaluate nab`: two modes.
// - `--data DIR --labels FILE`: runs the daemon's detector on every labelled NAB file (learned from its
//   probationary period, then streamed through the pipeline with a fake clock) and scores it: `scores` at each
//   profile's optimised threshold (the scoreboard's way), `calibrated` with the daemon's own alert starts as
//   the detections.
// - `--results DIR`: scores existing NAB result CSVs (any detector's, e.g. NAB's own results/<detector>/
//   folder). Without --threshold each profile gets the corpus-wide threshold its optimiser picks, as the NAB
//   scoreboard does; with it, that one threshold is used for all three profiles (how published thresholds are
//   checked).
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadDetectionConfig } from '../app/configFiles';
import { InputError } from '../core/errors';
import { formatNabResultCsv, nabScoringInput, readNabDataDir, readNabLabels, readNabResultsDir, windowRows } from '../eval/nabData';
import { runNabFile } from '../eval/nabRun';
import { selectBackend } from '../model/backend';
import { optimizeNabThreshold } from '../eval/nabOptimizer';
import { NAB_PROFILE_NAMES, NAB_PROFILES, scoreNabCorpus, scoreNabFile, type NabCorpusScore, type NabFileInput, type NabProfileName } from '../eval/nabScorer';
import { formatDuration, packageRoot, packageVersion, parseCommand, parseNumberOption, printJson, Progress, requireOption, round } from './common';

export const NAB_RUN_USAGE = `Usage: anomalyd evaluate nab --data DIR --labels FILE [--out DIR] [-c FILE] [--json]

  --data DIR         NAB data folder (<category>/<file>.csv with timestamp,value)
  --labels FILE      NAB label windows (labels/combined_windows.json); only files both in DIR and in the labels
                     are run, and normalised against their windows alone
  --out DIR          write NAB result CSVs (<category>/anomalyd_<file>.csv: timestamp,value,anomaly_score,label)
  -c, --config FILE  detection settings (default: config/benchmarks/nab.yaml of the package)
  --json             print one JSON object on stdout

Each file is learned from its probationary period (the first min(15% of rows, 750) rows), then streamed.
Or score existing result CSVs: anomalyd evaluate nab --results DIR --labels FILE [--threshold T]`;

export interface NabRunReport {
  readonly dataset: 'nab';
  readonly files: number;
  readonly scores: Record<NabProfileName, number>;
  readonly calibrated: Record<NabProfileName, number>;
  /** Each file at the daemon's own alerts (the calibrated decisions), standard profile. */
  readonly per_file: readonly NabFileFigures[];
}

export interface NabFileFigures {
  readonly file: string;
  readonly windows: number;
  /** Windows with an alert start in them. */
  readonly detected: number;
  /** Alert starts outside every window, after the probationary period. */
  readonly false_positives: number;
  /** The file's raw NAB score (standard profile) at the alerts: A_TP-weighted hits, minus misses and false positives. */
  readonly raw_score: number;
}

/** The detector-run mode as a command. */
export async function evaluateNabRunCommand(args: string[]): Promise<number> {
  const values = parseCommand(args, { data: { type: 'string' }, labels: { type: 'string' }, out: { type: 'string' }, config: { type: 'string', short: 'c' } }, NAB_RUN_USAGE);
  if (!values) return 0;
  const data = requireOption(values.data, 'data', NAB_RUN_USAGE);
  const labelsFile = requireOption(values.labels, 'labels', NAB_RUN_USAGE);
  const detection = await loadDetectionConfig(values.config ?? path.join(packageRoot(), 'config', 'benchmarks', 'nab.yaml'));
  const labels = await readNabLabels(labelsFile);
  const series = (await readNabDataDir(data)).filter((s) => labels.has(s.key));
  if (series.length === 0) throw new InputError(`${data}: no <category>/<file>.csv of ${labelsFile} found`);
  const backend = await selectBackend();
  const progress = new Progress();
  const started = Date.now();
  const scored: NabFileInput[] = [];
  const calibrated: NabFileInput[] = [];
  for (const [i, s] of series.entries()) {
    const what = `[${i + 1}/${series.length}] ${s.key}`;
    const t0 = Date.now();
    const run = await runNabFile(s, {
      detection,
      backend: backend.name,
      version: packageVersion(),
      onEpoch: (e, n) => progress.update(`${what}: training epoch ${e}/${n}`),
    });
    const windows = windowRows(s.timestamps, labels.get(s.key) ?? [], s.path);
    scored.push({ name: s.key, scores: run.scores, windows });
    calibrated.push({ name: s.key, scores: run.alertStarts, windows });
    if (values.out !== undefined) {
      const file = path.join(values.out, path.dirname(s.key), `anomalyd_${path.basename(s.key)}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, formatNabResultCsv(s, run.scores, windows));
    }
    const alerts = run.alertStarts.reduce((a, b) => a + b, 0);
    progress.done(`${what}: ${s.values.length} rows, ${run.trainWindows} training windows, ${alerts} alerts (${formatDuration(Date.now() - t0)})`);
  }
  const report: NabRunReport = {
    dataset: 'nab',
    files: series.length,
    scores: nabReport(scored).scores,
    // Alert starts are 0/1: a threshold of 1 makes every start, and nothing else, a detection.
    calibrated: nabReport(calibrated, 1).scores,
    per_file: calibrated.map((f) => {
      const score = scoreNabFile(f, 1, NAB_PROFILES.standard);
      return { file: f.name, windows: score.windows, detected: score.detected, false_positives: score.falsePositiveRows, raw_score: round(score.raw, 4) };
    }),
  };
  process.stderr.write(`Ran ${series.length} NAB files in ${formatDuration(Date.now() - started)} (backend ${backend.name})\n`);
  if (values.json) printJson(report);
  else {
    const lines = [`NAB score of ${report.files} files:`, `  ${'profile'.padEnd(20)} ${'optimised'.padStart(9)} ${'calibrated'.padStart(10)}`];
    for (const p of NAB_PROFILE_NAMES) lines.push(`  ${p.padEnd(20)} ${report.scores[p].toFixed(2).padStart(9)} ${report.calibrated[p].toFixed(2).padStart(10)}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

export const NAB_RESULTS_USAGE = `Usage: anomalyd evaluate nab --results DIR --labels FILE [--threshold T] [--json]

  --results DIR      NAB result CSVs (timestamp,...,anomaly_score,...), e.g. NAB's results/<detector>/:
                     <category>/<detector>_<file>.csv or <category>/<file>.csv, at any depth below DIR
  --labels FILE      NAB label windows (labels/combined_windows.json); only the files that are both in
                     DIR and in the labels are scored, and normalised against their windows alone
  --threshold T      detection = anomaly_score >= T for every profile (default: each profile's optimum)
  --json             print one JSON object on stdout`;

export interface NabResultsOptions {
  readonly results: string;
  readonly labels: string;
  readonly threshold?: number;
}

export interface NabResultsReport {
  readonly dataset: 'nab';
  readonly files: number;
  readonly windows: number;
  /** Normalised NAB score per profile (null detector 0, perfect detector 100). */
  readonly scores: Record<NabProfileName, number>;
  readonly thresholds: Record<NabProfileName, number>;
}

/** The `--results` mode as a command: parses its own arguments, prints the report, returns the exit code. */
export async function evaluateNabResultsCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    {
      results: { type: 'string' },
      labels: { type: 'string' },
      threshold: { type: 'string' },
    },
    NAB_RESULTS_USAGE,
  );
  if (!values) return 0;
  const report = await scoreNabResults({
    results: requireOption(values.results, 'results', NAB_RESULTS_USAGE),
    labels: requireOption(values.labels, 'labels', NAB_RESULTS_USAGE),
    threshold: parseNumberOption(values.threshold, 'threshold', NAB_RESULTS_USAGE),
  });
  process.stderr.write(`Scored ${report.files} NAB result files (${report.windows} anomaly windows) from ${values.results}\n`);
  printNabResultsReport(report, values.json);
  return 0;
}

export async function scoreNabResults(options: NabResultsOptions): Promise<NabResultsReport> {
  const labels = await readNabLabels(options.labels);
  const results = await readNabResultsDir(options.results, labels);
  if (results.length === 0) {
    throw new InputError(`${options.results}: no result CSV matches a file of ${options.labels} (expected <category>/[<detector>_]<file>.csv)`);
  }
  return nabReport(
    results.map((r) => nabScoringInput(r, labels)),
    options.threshold,
  );
}

/** Scores prepared files per profile, at `threshold` or at each profile's optimum. */
export function nabReport(files: readonly NabFileInput[], threshold?: number): NabResultsReport {
  const scores = {} as Record<NabProfileName, number>;
  const thresholds = {} as Record<NabProfileName, number>;
  let windows = 0;
  for (const profile of NAB_PROFILE_NAMES) {
    const cost = NAB_PROFILES[profile];
    let score: NabCorpusScore;
    if (threshold === undefined) {
      const opt = optimizeNabThreshold(files, cost);
      score = opt.score;
      thresholds[profile] = opt.threshold;
    } else {
      score = scoreNabCorpus(files, threshold, cost);
      thresholds[profile] = threshold;
    }
    if (score.windows === 0) throw new InputError('The scored files hold no anomaly window: the normalised NAB score is undefined');
    scores[profile] = round(score.normalised, 4);
    windows = score.windows;
  }
  return { dataset: 'nab', files: files.length, windows, scores, thresholds };
}

export function printNabResultsReport(report: NabResultsReport, json: boolean): void {
  if (json) {
    printJson(report);
    return;
  }
  const lines = [`NAB score of ${report.files} files (${report.windows} windows):`];
  for (const p of NAB_PROFILE_NAMES) {
    lines.push(`  ${p.padEnd(20)} ${report.scores[p].toFixed(2).padStart(7)}   threshold ${report.thresholds[p]}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
