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
import { packageRoot, packageVersion, parseCommandArgs, parseNumberOption, printJson, Progress, requireOption, round } from './common';

const USAGE = `Usage: anomalyd evaluate ucr --train FILE --test FILE [options]

  --train FILE         UCR training file; only its normal rows are learned from
  --test FILE          UCR test file, every row scored
  --normal-label N     class label of normal rows (default 1)
  -c, --config FILE    detection settings (default: config/benchmarks/ucr.yaml of the package)
  --json               print one JSON object on stdout`;

export async function evaluateUcrCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      train: { type: 'string' },
      test: { type: 'string' },
      'normal-label': { type: 'string' },
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const trainFile = requireOption(values.train, 'train', USAGE);
  const testFile = requireOption(values.test, 'test', USAGE);
  const normalLabel = parseNumberOption(values['normal-label'], 'normal-label', USAGE) ?? 1;
  const configFile = values.config ?? path.join(packageRoot(), 'config', 'benchmarks', 'ucr.yaml');

  const [train, test] = await Promise.all([readUcr(trainFile), readUcr(testFile)]);
  if (train.length !== test.length) {
    throw new InputError(`${testFile}: rows have ${test.length} values but the training rows have ${train.length}`);
  }
  const normal = rowsWhere(train, (label) => label === normalLabel);
  if (normal.length < 2) throw new InputError(`${trainFile}: needs at least 2 normal rows (label ${normalLabel}), found ${normal.length}`);

  const detection = await loadDetectionConfig(configFile);
  const backend = await selectBackend();
  const stream = { id: 'ucr', channels: ['value'] };
  const spec = detectorSpec(
    { ...detection, window: { ...detection.window, size: train.length, hop: train.length } },
    path.basename(trainFile),
    stream,
    backend.name,
    packageVersion(),
  );
  const progress = new Progress();
  const { detector } = await trainDetector(toWindows(normal), spec, (e) =>
    progress.update(`Training on ${normal.length} normal rows: epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(5)}`),
  );
  progress.done();

  const scored = detector.score(toWindows(test.rows));
  const scores = scored.map((s) => s.score);
  const actual = test.labels.map((l) => l !== normalLabel);
  const metrics = classificationMetrics(confusion(scored.map((s) => s.anomalous), actual));
  const result = {
    dataset: 'ucr',
    n_train: normal.length,
    n_test: test.rows.length,
    threshold: round(detector.threshold, 6),
    accuracy: round(metrics.accuracy),
    precision: round(metrics.precision),
    recall: round(metrics.recall),
    f1: round(metrics.f1),
    roc_auc: round(rocAuc(scores, actual)),
  };
  detector.dispose();
  if (values.json) printJson(result);
  else {
    process.stdout.write(
      `${path.basename(testFile)}: ${result.n_test} rows scored by a model of ${result.n_train} normal rows (backend ${backend.name})\n` +
        `  accuracy ${result.accuracy}  precision ${result.precision}  recall ${result.recall}  f1 ${result.f1}  ROC AUC ${result.roc_auc}  threshold ${result.threshold}\n`,
    );
  }
  return 0;
}

function rowsWhere(d: UcrDataset, keep: (label: number) => boolean): Float32Array[] {
  return d.rows.filter((_, i) => keep(d.labels[i]));
}

/** Each UCR row is one complete window of one channel; its row index stands in for time. */
function toWindows(rows: readonly Float32Array[]): Window[] {
  return rows.map((values, i) => ({ stream: 'ucr', start: i, end: i, size: values.length, channels: 1, values, completeness: 1 }));
}
