// A model with a rhythm (manifest.rhythm) multiplies each window's reconstruction score by prematurity^-exponent
// before its threshold, tail and decision, and is calibrated on those joined scores; an ensemble applies it once.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Window } from '../../../src/core/types';
import type { RhythmSettings } from '../../../src/core/rhythm';
import { selectBackend } from '../../../src/model/backend';
import { trainEnsemble } from '../../../src/model/ensemble';
import { trainDetector } from '../../../src/model/fitDetector';
import { checkManifest } from '../../../src/model/manifest';
import { sineWindows } from '../../helpers/synthetic';
import { tinyDetectorSpec } from '../../helpers/tinyDetector';

const ROOT = path.resolve(__dirname, '../../../..');
const STREAM = { id: 's', channels: ['a', 'b'] };
const WINDOW = { size: 16, hop: 4, maxGapMs: 10_000, minCompleteness: 0.9 };
const RHYTHM: RhythmSettings = { channel: 'a', slopeSteps: 4, smoothingSteps: 8, thresholdFraction: 0.2, peakHalfLifeMs: 1500, refractoryMs: 300, historyEvents: 8, exponent: 3, late: 'lower' };

/** Windows with a prematurity each: most on the rhythm, some early, some late. */
function withPrematurity(windows: readonly Window[]): Window[] {
  return windows.map((w, i) => ({ ...w, prematurity: i % 10 === 3 ? 0.6 : i % 10 === 4 ? 1.4 : 1 }));
}

before(async () => {
  await selectBackend();
});

test('the joined score is the raw score x prematurity^-exponent; the threshold is calibrated on joined scores', async () => {
  const windows = withPrematurity(sineWindows(200, WINDOW.size, 2, 5));
  const plain = await trainDetector(windows, tinyDetectorSpec({ name: 'plain', stream: STREAM, window: WINDOW }));
  const joined = await trainDetector(windows, tinyDetectorSpec({ name: 'joined', stream: STREAM, window: WINDOW, rhythm: RHYTHM }));
  try {
    assert.deepEqual(joined.detector.manifest.rhythm, RHYTHM);
    assert.equal('rhythm' in joined.detector.manifest.window, false, 'the window geometry alone in manifest.window');
    const raw = plain.detector.score(windows);
    const scored = joined.detector.score(windows);
    scored.forEach((s, i) => {
      const p = windows[i].prematurity ?? 1;
      assert.ok(Math.abs(s.score - raw[i].score * p ** -3) <= 1e-6 * raw[i].score * p ** -3, `window ${i}`);
    });
    assert.deepEqual(joined.cleanScores, scored.map((s) => s.score));
    // A window without a prematurity (a path that tracks none) scores as it is.
    const bare: Window = { ...windows[3] };
    delete (bare as { prematurity?: number }).prematurity;
    assert.equal(joined.detector.score([bare])[0].score, raw[3].score);
  } finally {
    plain.detector.dispose();
    joined.detector.dispose();
  }
});

test('an ensemble joins the rhythm once (its members already did)', async () => {
  const windows = withPrematurity(sineWindows(120, WINDOW.size, 2, 9));
  const spec = tinyDetectorSpec({ name: 'e', stream: STREAM, window: WINDOW, rhythm: RHYTHM });
  const ensemble = await trainEnsemble(windows, spec, 2);
  const plain = await trainEnsemble(windows, { ...spec, rhythm: undefined }, 2);
  try {
    const a = ensemble.detector.score(windows);
    const b = plain.detector.score(windows);
    a.forEach((s, i) => assert.ok(Math.abs(s.score / b[i].score - (windows[i].prematurity ?? 1) ** -3) < 1e-6, `window ${i}`));
  } finally {
    ensemble.detector.dispose();
    plain.detector.dispose();
  }
});

test('a manifest whose rhythm does not fit its channels or says nothing sensible is refused when the model loads', () => {
  const pump = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'pump', 'manifest.json'), 'utf8')) as { channels: string[] };
  const ok = { ...RHYTHM, channel: pump.channels[0] };
  assert.deepEqual(checkManifest({ ...pump, rhythm: ok }, 'pump').rhythm, ok);
  assert.throws(() => checkManifest({ ...pump, rhythm: { ...ok, channel: 'ecg' } }, 'pump'), /pump: invalid manifest: rhythm\.channel must be one of the channels/);
  assert.throws(() => checkManifest({ ...pump, rhythm: { ...ok, exponent: -1, late: 'never' } }, 'pump'), /rhythm\.exponent must be a finite number >= 0 \(got -1\); rhythm\.late must be lower or ignore/);
  assert.throws(() => checkManifest({ ...pump, rhythm: { ...ok, historyEvents: 1 } }, 'pump'), /rhythm\.historyEvents must be an integer from 4/);
});
