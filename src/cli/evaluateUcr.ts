// `anomalyd evaluate ucr`: a UCR classification data set read as anomaly detection. The model learns from the
// normal rows (label 1 by default) of the training file only, calibrates its threshold on them, then scores
// every test row; anomalies (any other label) are the positive class. Each row is one window of one channel,
// scored by the same Detector the daemon uses.
import * as path from 'node:path';
import { detectorSpec } from '../app/detection';
import { loadDetectionConfig } from '../app/configFiles';
import { InputError } from '../core/errors';
import type { Window } from '../core/types';
import { classificationMetrics, confusion, rocAuc } from '../eval/metrics';
import { readUcr, type UcrDataset } from '../eval/ucr';
import { selectBackend } from '../model/backend';
import { trainDetector } from '../model/fitDetector';
import { packageRoot, packageVersion, parseCommand, parseNumberOption, printJson, Progress, requireOption, round, UsageError } from './common';

const USAGE = `Usage: anomalyd evaluate ucr --train FILE (--test FILE | --folds K) [options]

  --train FILE         UCR training file; only its normal rows are learned from
  --test FILE          UCR test file, every row scored
  --folds K            no test file: K-fold cross-validation on --train (row i is in fold i mod K);
                       each fold is scored by a model of the other folds' normal rows
  --normal-label N     class label of normal rows (default 1)
  -c, --config FILE    detection settings (default: config/benchmarks/ucr.yaml of the package)
  --json               print one JSON object on stdout`;

export async function evaluateUcrCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    {
      train: { type: 'string' },
      test: { type: 'string' },
      'normal-label': { type: 'string' },
      folds: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
    USAGE,
  );
  if (!values) return 0;
  const trainFile = requireOption(values.train, 'train', USAGE);
  const folds = parseNumberOption(values.folds, 'folds', USAGE);
  if (values.test === undefined && folds === undefined) throw new UsageError('Give --test FILE, or --folds K to cross-validate', USAGE);
  if (values.test !== undefined && folds !== undefined) throw new UsageError('--test and --folds exclude each other', USAGE);
  if (folds !== undefined && (!Number.isInteger(folds) || folds < 2)) throw new UsageError(`--folds must be an integer >= 2 (got ${folds})`, USAGE);
  const normalLabel = parseNumberOption(values['normal-label'], 'normal-label', USAGE) ?? 1;
  const configFile = values.config ?? path.join(packageRoot(), 'config', 'benchmarks', 'ucr.yaml');

  const train = await readUcr(trainFile);
  const splits: Split[] = [];
  if (values.test !== undefined) {
    const test = await readUcr(values.test);
    if (train.length !== test.length) {
      throw new InputError(`${values.test}: rows have ${test.length} values but the training rows have ${train.length}`);
    }
    splits.push({ train: rowsWhere(train, (l) => l === normalLabel), test });
  } else {
    for (let f = 0; f < (folds ?? 2); f++) {
      const inFold = (i: number): boolean => i % (folds ?? 2) === f;
      splits.push({
        train: train.rows.filter((_, i) => !inFold(i) && train.labels[i] === normalLabel),
        test: { ...train, labels: train.labels.filter((_, i) => inFold(i)), rows: train.rows.filter((_, i) => inFold(i)) },
      });
    }
  }
  for (const sp of splits) {
    if (sp.train.length < 2) throw new InputError(`${trainFile}: needs at least 2 normal rows (label ${normalLabel}) to train on, found ${sp.train.length}`);
  }

  const detection = await loadDetectionConfig(configFile);
  const backend = await selectBackend();
  const progress = new Progress();
  const scores: number[] = [];
  const predicted: boolean[] = [];
  const actual: boolean[] = [];
  const thresholds: number[] = [];
  for (const [k, sp] of splits.entries()) {
    const spec = detectorSpec(
      { ...detection, window: { ...detection.window, size: train.length, hop: train.length } },
      path.basename(trainFile),
      { id: 'ucr', channels: ['value'] },
      backend.name,
      packageVersion(),
    );
    const what = splits.length > 1 ? `fold ${k + 1}/${splits.length}: ` : '';
    const { detector } = await trainDetector(toWindows(sp.train), spec, (e) =>
      progress.update(`${what}training on ${sp.train.length} normal rows: epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(5)}`),
    );
    for (const s of detector.score(toWindows(sp.test.rows))) {
      scores.push(s.score);
      predicted.push(s.anomalous);
    }
    actual.push(...sp.test.labels.map((l) => l !== normalLabel));
    thresholds.push(detector.threshold);
    detector.dispose();
  }
  progress.done();

  const metrics = classificationMetrics(confusion(predicted, actual));
  const result = {
    dataset: 'ucr',
    n_train: splits.reduce((n, sp) => n + sp.train.length, 0) / splits.length,
    n_test: scores.length,
    threshold: round(thresholds.reduce((a, b) => a + b, 0) / thresholds.length, 6),
    accuracy: round(metrics.accuracy),
    precision: round(metrics.precision),
    recall: round(metrics.recall),
    f1: round(metrics.f1),
    roc_auc: round(rocAuc(scores, actual)),
    ...(folds !== undefined ? { folds } : {}),
  };
  if (values.json) printJson(result);
  else {
    process.stdout.write(
      `${path.basename(values.test ?? trainFile)}: ${result.n_test} rows scored${folds ? ` in ${folds}-fold cross-validation` : ''} (backend ${backend.name})\n` +
        `  accuracy ${result.accuracy}  precision ${result.precision}  recall ${result.recall}  f1 ${result.f1}  ROC AUC ${result.roc_auc}  threshold ${result.threshold}\n`,
    );
  }
  return 0;
}

interface Split {
  readonly train: Float32Array[];
  readonly test: UcrDataset;
}

function rowsWhere(d: UcrDataset, keep: (label: number) => boolean): Float32Array[] {
  return d.rows.filter((_, i) => keep(d.labels[i]));
}

/** Each UCR row is one complete window of one channel; its row index stands in for time. */
function toWindows(rows: readonly Float32Array[]): Window[] {
  return rows.map((values, i) => ({ stream: 'ucr', start: i, end: i, size: values.length, channels: 1, values, completeness: 1 }));
}
