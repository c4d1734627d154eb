// `anomalyd evaluate <dataset>`: detection quality measured through the same train/calibrate/score path the
// daemon uses.
import { UsageError } from './common';
import { evaluateMitdbCommand } from './evaluateMitdb';
import { evaluateNabResultsCommand, evaluateNabRunCommand } from './evaluateNab';
import { evaluateSkabCommand } from './evaluateSkab';
import { evaluateUcrCommand } from './evaluateUcr';

const USAGE = `Usage: anomalyd evaluate <dataset> [options]

Datasets:
  ucr    UCR-archive classification files (e.g. ECG5000, ECG200) as anomaly detection:
         anomalyd evaluate ucr --train FILE --test FILE [--json]
  nab    Numenta Anomaly Benchmark: run the detector on every file, or score any detector's result CSVs:
         anomalyd evaluate nab --data DIR --labels FILE [--out DIR] [--json]
         anomalyd evaluate nab --results DIR --labels FILE [--threshold T] [--json]
  skab   Skoltech Anomaly Benchmark (per file: first 400 rows train, the rest are tested):
         anomalyd evaluate skab --data DIR [--json]
  mitdb  MIT-BIH Arrhythmia records as continuous two-lead ECG streams, beat-level evaluation:
         anomalyd evaluate mitdb --data DIR [--json]`;

export async function evaluateCommand(args: string[]): Promise<number> {
  const [dataset, ...rest] = args;
  switch (dataset) {
    case 'ucr':
      return evaluateUcrCommand(rest);
    case 'nab':
      return rest.includes('--results') ? evaluateNabResultsCommand(rest) : evaluateNabRunCommand(rest);
    case 'skab':
      return evaluateSkabCommand(rest);
    case 'mitdb':
      return evaluateMitdbCommand(rest);
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      throw new UsageError(dataset === undefined ? 'Missing dataset' : `Unknown dataset '${dataset}'`, USAGE);
  }
}
