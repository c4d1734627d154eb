import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyRetrain, retrainSettingsOf } from '../../../src/app/retrainSettings';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';

const parseConfigText = (text: string): Promise<Config> => Promise.resolve().then(() => loadConfigText(text, '/tmp/test.yaml', {}));

const base = `
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    channels: [a, b]
`;

test('absent everywhere: no stream retrains and nothing is recorded', async () => {
  const c = await parseConfigText(base);
  assert.equal(anyRetrain(c), false);
  assert.equal(retrainSettingsOf(c, 'l1/p1'), null);
});

test('the top level gives every stream the defaults; a stream entry overrides key by key or opts out', async () => {
  const c = await parseConfigText(`${base}
retrain:
  every: 7d
  drift: { over: 12h }
streams:
  - id: l1/p2
    retrain: { min_clean_windows: 50, drift: { factor: 5 } }
  - id: l1/p3
    retrain: { enabled: false }
`);
  assert.equal(anyRetrain(c), true);
  const p1 = retrainSettingsOf(c, 'l1/p1');
  assert.deepEqual(p1?.drift, { enabled: true, overMs: 12 * 3_600_000, factor: 3, minWindows: 500 });
  assert.equal(p1?.everyMs, 7 * 86_400_000);
  assert.equal(p1?.lookbackMs, 7 * 86_400_000);
  assert.equal(p1?.minCleanWindows, 1000);
  assert.equal(p1?.promotion, 'manual');
  const p2 = retrainSettingsOf(c, 'l1/p2');
  assert.equal(p2?.minCleanWindows, 50);
  assert.deepEqual(p2?.drift, { enabled: true, overMs: 12 * 3_600_000, factor: 5, minWindows: 500 });
  assert.equal(retrainSettingsOf(c, 'l1/p3'), null);
});

test('a subscription alone may turn it on, with the defaults for what it does not say', async () => {
  const c = await parseConfigText(base.replace('    channels: [a, b]', '    channels: [a, b]\n    retrain: { drift: { enabled: false }, lookback: 2d }'));
  const s = retrainSettingsOf(c, 'l1/p1');
  assert.equal(s?.drift, null);
  assert.equal(s?.lookbackMs, 2 * 86_400_000);
  assert.equal(s?.everyMs, null);
  assert.equal(s?.shadowForMs, 86_400_000);
});

test('the schema refuses a bad duration and a factor of 1 or less', async () => {
  await assert.rejects(parseConfigText(`${base}\nretrain: { every: weekly }\n`), /retrain\.every: must be a duration/);
  await assert.rejects(parseConfigText(`${base}\nretrain: { drift: { factor: 1 } }\n`), /retrain\.drift\.factor/);
});

test('source influx needs a query and sinks.influx; a query without source influx anywhere is refused', async () => {
  await assert.rejects(parseConfigText(`${base}\nretrain: { source: influx }\n`), (err: Error) => /retrain\.influx_query: is required with source: influx/.test(err.message) && /sinks\.influx: is required by retrain source: influx/.test(err.message));
  await assert.rejects(parseConfigText(`${base}\nretrain: { influx_query: "SELECT 1" }\n`), /retrain\.influx_query: is only read with source: influx/);
  const c = await parseConfigText(`${base}\nsinks: { influx: { url: "http://127.0.0.1:8086/a" } }\nretrain: { influx_query: "SELECT * FROM p WHERE $timeFilter", enabled: false }\nstreams:\n  - id: l1/p1\n    retrain: { source: influx, enabled: true }\n`);
  assert.equal(retrainSettingsOf(c, 'l1/p1')?.influxQuery, 'SELECT * FROM p WHERE $timeFilter', 'the top-level query serves a stream that chooses influx');
  assert.equal(retrainSettingsOf(c, 'l1/p2'), null);
});
