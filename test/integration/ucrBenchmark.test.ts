// The ECG5000 target through the real command. Needs ../shared/data (CI has it); skipped elsewhere.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'data', 'ecg5000');
const have = existsSync(path.join(DATA, 'ECG5000_dev_train.txt'));

test('evaluate ucr on ECG5000 dev: accuracy >= 0.95 and ROC AUC >= 0.98', { skip: have ? false : '../shared/data not present' }, () => {
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist', 'main.js'), 'evaluate', 'ucr', '--train', path.join(DATA, 'ECG5000_dev_train.txt'), '--test', path.join(DATA, 'ECG5000_dev_test.txt'), '--json'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { accuracy: number; roc_auc: number; n_train: number; n_test: number };
  console.log(`ECG5000 dev: ${r.stdout.trim()}`);
  assert.equal(out.n_train, 146);
  assert.equal(out.n_test, 125);
  assert.ok(out.accuracy >= 0.95, `accuracy ${out.accuracy}`);
  assert.ok(out.roc_auc >= 0.98, `ROC AUC ${out.roc_auc}`);
});
