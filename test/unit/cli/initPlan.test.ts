// What `anomalyd init` infers from a recording: sample period, window, channel names it can take.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkChannelNames, medianSpacingMs, planFromSeries, suggestWindow, windowCount } from '../../../src/cli/initPlan';
import { defaultModelName, renderStarterConfig } from '../../../src/cli/initConfig';
import { loadConfigText } from '../../../src/config/load';
import { parseCsv } from '../../../src/sources/csv';

void test('the sample period is the median spacing, so a few gaps or jitter do not move it', () => {
  assert.equal(medianSpacingMs(Float64Array.from([0, 1000, 2000, 9000, 10000, 11001])), 1000);
  assert.equal(medianSpacingMs(Float64Array.from([0, 100, 200, 300])), 100);
  assert.equal(medianSpacingMs(Float64Array.from([0, 33.3333, 66.6666])), 33.3);
  assert.equal(medianSpacingMs(Float64Array.from([5])), undefined);
});

void test('the window spans about a minute within 16..128 samples, a quarter hop, and shrinks for short recordings', () => {
  assert.deepEqual(suggestWindow(1000, 100_000), { size: 60, hop: 15, maxGapMs: 10_000 });
  assert.deepEqual(suggestWindow(100, 100_000), { size: 128, hop: 32, maxGapMs: 10_000 });
  assert.deepEqual(suggestWindow(10_000, 100_000), { size: 16, hop: 4, maxGapMs: 50_000 });
  const short = suggestWindow(1000, 3000);
  assert.ok(short.size < 60 && short.size >= 16);
  assert.ok(windowCount(3000, short.size, short.hop) >= 200);
  assert.equal(suggestWindow(1000, 100).size, 16, 'never below 16, even when the recording is too short');
  assert.equal(windowCount(10, 16, 4), 0);
  assert.equal(windowCount(20, 16, 4), 2);
});

void test('header names the config cannot take as channels are refused with a suggested name', () => {
  assert.doesNotThrow(() => checkChannelNames(['oil_temp_c', '_x1'], 'f.csv'));
  assert.throws(() => checkChannelNames(['oil temp (C)', '2nd_stage'], 'f.csv'), {
    name: 'InputError',
    message: /f\.csv: column name\(s\) "oil temp \(C\)", "2nd_stage" cannot be channel names .* "oil temp \(C\)" -> oil_temp_C, "2nd_stage" -> _2nd_stage/,
  });
});

void test('the starter config loads and validates as written, with model auto or a bound model', () => {
  const rows = ['timestamp,p_bar,t_c'];
  for (let i = 0; i < 500; i++) rows.push(`${1_767_225_600 + i * 2},${(5 + Math.sin(i / 5)).toFixed(3)},${60 + (i % 7)}`);
  const series = parseCsv(rows.join('\n'), 'c.csv', { timeUnit: 's' });
  const plan = planFromSeries(series);
  assert.equal(plan.samplePeriodMs, 2000);
  assert.deepEqual(plan.channels, ['p_bar', 't_c']);
  const base = { plan, csvArg: 'c.csv', outArg: 'c.yaml', stream: 'line1/c1', model: undefined, schemaFile: '/x/schema.json' };
  const auto = loadConfigText(renderStarterConfig(base), 'c.yaml');
  assert.equal(auto.subscriptions[0].model, 'auto');
  assert.deepEqual(auto.subscriptions[0].channels, ['p_bar', 't_c']);
  assert.equal(auto.csv.time_unit, 's');
  assert.equal(auto.defaults.window.sample_period_ms, 2000);
  assert.equal(auto.defaults.window.size, plan.window.size);
  assert.equal(auto.defaults.calibration.method, 'percentile', 'a few hundred windows: percentile, not POT');

  const manifest = { stream: 'line1/c1', channels: ['p_bar', 't_c'], window: { size: 20, hop: 5, maxGapMs: 12_000, minCompleteness: 0.8, samplePeriodMs: 2000 } };
  const bound = loadConfigText(
    renderStarterConfig({ ...base, model: { name: 'c1', path: 'models/c1', manifest: manifest as never } }),
    'c.yaml',
  );
  assert.equal(bound.subscriptions[0].model, 'c1');
  assert.equal(bound.models['c1'].path.endsWith('models/c1'), true);
  assert.deepEqual(
    { size: bound.defaults.window.size, hop: bound.defaults.window.hop, gap: bound.defaults.window.max_gap_ms, c: bound.defaults.window.min_completeness },
    { size: 20, hop: 5, gap: 12_000, c: 0.8 },
    "the model's window, not the suggestion",
  );
});

void test('a model name from a stream id or directory keeps only what a models key may hold', () => {
  assert.equal(defaultModelName('line1/compressor 1'), 'compressor_1');
  assert.equal(defaultModelName('a:b/.x'), 'x');
  assert.equal(defaultModelName('/'), 'model');
});
