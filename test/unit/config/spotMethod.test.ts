// calibration.method spot in the configuration: the schema takes it with its parameters, the filter a stream
// gets follows the chain docs/design.md states (the likelihood, when enabled, judges instead), a reload keeps a
// SPOT filter only while its settings stay, and `validate` warns where auto-learning streams would not use it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { calibrationMethod, newScoreFilter, scoreFilterKey, scoreFilterKind } from '../../../src/app/detection';
import { loadConfigText } from '../../../src/config/load';
import { configWarnings } from '../../../src/config/warnings';
import { AnomalyLikelihood } from '../../../src/core/anomalyLikelihood';
import { SpotFilter } from '../../../src/core/spotFilter';

const SPOT = 'defaults:\n  calibration:\n    method: spot\n    spot: { q: 0.001, initial_quantile: 0.95, depth: 20, max_excesses: 300 }\n';
const AUTO_SUB = 'subscriptions:\n  - topic: plant/+/t\n    template: plant/{asset}/t\n    stream: "{asset}"\n    decoder: json\n    model: auto\n    channels: [a, b]\n';

test('method spot maps to the calibration method with its parameters', () => {
  const c = loadConfigText(SPOT, 'spot.yaml', {}).defaults.calibration;
  assert.deepEqual(calibrationMethod(c), { kind: 'spot', q: 0.001, initialQuantile: 0.95, depth: 20, maxExcesses: 300, outlierFence: 3 });
  const defaults = loadConfigText('defaults:\n  calibration:\n    method: spot\n', 'd.yaml', {}).defaults.calibration;
  assert.deepEqual(calibrationMethod(defaults), { kind: 'spot', q: 0.0001, initialQuantile: 0.98, depth: 0, maxExcesses: 1000, outlierFence: 3 });
});

test('a stream gets a SPOT filter for method spot, the likelihood when it is enabled (whatever the method), else none', () => {
  const c = loadConfigText(SPOT, 'spot.yaml', {}).defaults.calibration;
  assert.equal(scoreFilterKind(c), 'spot');
  assert.ok(newScoreFilter(c, () => null) instanceof SpotFilter);
  assert.throws(() => newScoreFilter(c), /needs the stream's model calibration/);
  const both = { ...c, likelihood: { ...c.likelihood, enabled: true } };
  assert.equal(scoreFilterKind(both), 'likelihood');
  assert.ok(newScoreFilter(both, () => null) instanceof AnomalyLikelihood);
  const pot = { ...c, method: 'pot' as const };
  assert.equal(scoreFilterKind(pot), 'none');
  assert.equal(newScoreFilter(pot, () => null), undefined);
});

test('a reload keeps the SPOT filter only while the spot settings stay', () => {
  const c = loadConfigText(SPOT, 'spot.yaml', {}).defaults.calibration;
  assert.equal(scoreFilterKey(c), scoreFilterKey({ ...c, percentile: 90, likelihood: { ...c.likelihood, history_windows: 7 } }));
  assert.notEqual(scoreFilterKey(c), scoreFilterKey({ ...c, spot: { ...c.spot, depth: 21 } }));
  assert.notEqual(scoreFilterKey(c), scoreFilterKey({ ...c, method: 'pot' }));
});

test('validate warns when defaults choose spot and auto-learning streams keep the likelihood; not when they turn it off', () => {
  const warned = configWarnings(loadConfigText(SPOT + AUTO_SUB, 'w.yaml', {}));
  assert.equal(warned.length, 1);
  assert.match(warned[0] ?? '', /^defaults\.calibration\.method: streams that auto-learn their model are judged by the anomaly likelihood .* \(got "spot"\)$/);
  const off = SPOT + AUTO_SUB + 'auto_learn:\n  calibration:\n    likelihood:\n      enabled: false\n';
  assert.deepEqual(configWarnings(loadConfigText(off, 'w.yaml', {})), []);
  assert.deepEqual(configWarnings(loadConfigText(SPOT, 'w.yaml', {})), [], 'no auto-learning stream');
});
