import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyRetrain, retrainSettingsOf } from '../../../src/app/retrainSettings';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';

const parseConfigText = async (text: string): Promise<Config> => loadConfigText(text, '/tmp/test.yaml', {});

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
