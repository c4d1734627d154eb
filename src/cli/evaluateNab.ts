// `anomalyd evaluate nab --results DIR`: scores existing NAB result CSVs (any detector's, e.g. NAB's own
// results/<detector>/ folder) with the reimplemented NAB scorer. Without --threshold each profile gets the
// corpus-wide threshold its optimiser picks, as the NAB scoreboard does; with it, that one threshold is used
// for all three profiles (how published thresholds are checked).
import { InputError } from '../core/errors';
import { nabScoringInput, readNabLabels, readNabResultsDir } from '../eval/nabData';
import { optimizeNabThreshold } from '../eval/nabOptimizer';
import { NAB_PROFILE_NAMES, NAB_PROFILES, scoreNabCorpus, type NabCorpusScore, type NabFileInput, type NabProfileName } from '../eval/nabScorer';
import { parseCommand, parseNumberOption, printJson, requireOption, round } from './common';

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
