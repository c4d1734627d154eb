// A model's manifest gives its streams their window: what WindowBuffer would refuse per message is refused
// when the model loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkManifest } from '../../../src/model/manifest';

const ROOT = path.resolve(__dirname, '../../../..');
const pump = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'pump', 'manifest.json'), 'utf8')) as { window: Record<string, unknown> };

test('a manifest window the window buffer would refuse is refused when the model loads', () => {
  assert.equal(checkManifest(pump, 'pump').window.maxGapMs, pump.window.maxGapMs);
  const bad = (over: Record<string, unknown>): unknown => ({ ...pump, window: { ...pump.window, ...over } });
  assert.throws(() => checkManifest(bad({ maxGapMs: 0 }), 'pump'), /pump: invalid manifest: window\.maxGapMs must be > 0 \(got 0\)/);
  assert.throws(() => checkManifest(bad({ minCompleteness: 2 }), 'pump'), /window\.minCompleteness must be in \[0, 1\] \(got 2\)/);
  assert.throws(() => checkManifest(bad({ samplePeriodMs: -1 }), 'pump'), /window\.samplePeriodMs must be a finite number > 0 \(got -1\)/);
});
