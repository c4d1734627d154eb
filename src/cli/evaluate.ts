// `anomalyd evaluate <dataset>`: detection quality measured through the same train/calibrate/score path the
// daemon uses.
import { UsageError } from './common';
import { evaluateUcrCommand } from './evaluateUcr';

const USAGE = `Usage: anomalyd evaluate <dataset> [options]

Datasets:
  ucr    UCR-archive classification files (e.g. ECG5000, ECG200) as anomaly detection:
         anomalyd evaluate ucr --train FILE --test FILE [--json]`;

export async function evaluateCommand(args: string[]): Promise<number> {
  const [dataset, ...rest] = args;
  switch (dataset) {
    case 'ucr':
      return evaluateUcrCommand(rest);
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      throw new UsageError(dataset === undefined ? 'Missing dataset' : `Unknown dataset '${dataset}'`, USAGE);
  }
}
