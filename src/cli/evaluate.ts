// `anomalyd evaluate <dataset>`: detection quality measured through the same train/calibrate/score path the
// daemon uses.
import { UsageError } from './common';
import { evaluateNabResultsCommand } from './evaluateNab';
import { evaluateUcrCommand } from './evaluateUcr';

const USAGE = `Usage: anomalyd evaluate <dataset> [options]

Datasets:
  ucr    UCR-archive classification files (e.g. ECG5000, ECG200) as anomaly detection:
         anomalyd evaluate ucr --train FILE --test FILE [--json]
  nab    Numenta Anomaly Benchmark scoring of any detector's result CSVs:
         anomalyd evaluate nab --results DIR --labels FILE [--threshold T] [--json]`;

export async function evaluateCommand(args: string[]): Promise<number> {
  const [dataset, ...rest] = args;
  switch (dataset) {
    case 'ucr':
      return evaluateUcrCommand(rest);
    case 'nab':
      if (rest.includes('--results')) return evaluateNabResultsCommand(rest);
      throw new UsageError('evaluate nab runs the detector in a later release; today it scores existing result CSVs: --results DIR --labels FILE', USAGE);
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      throw new UsageError(dataset === undefined ? 'Missing dataset' : `Unknown dataset '${dataset}'`, USAGE);
  }
}
