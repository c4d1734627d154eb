// `replay` of a model the daemon learned with a transformed scale (calibration.likelihood.transform_scale): the
// scale is loaded with the learned model and its scores reach the likelihood, as in the daemon and `evaluate`.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { createRng, gaussian } from '../../../src/core/random';
import { selectBackend } from '../../../src/model/backend';
import { trainEnsemble } from '../../../src/model/ensemble';
import { saveLearnedModel } from '../../../src/model/learnedModel';
import { trainTransformDetector } from '../../../src/model/transformModel';
import { loadReplayModel, replayRecording } from '../../../src/offline/replayRecording';
import { completeWindows, tinyDetectorSpec } from '../../helpers/tinyDetector';

const STREAM = { id: 'lab-m1', channels: ['a'] };
const WINDOW = { size: 16, hop: 1, maxGapMs: 10_000, minCompleteness: 0.5 };
const ROWS = 700;
let dir: string;
let modelDir: string;
let csv: string;

function config(transform: string): ReturnType<typeof loadConfigText> {
  return loadConfigText(
    `
state_dir: ${dir}
defaults:
  window: { size: 16, hop: 1, max_gap_ms: 10000 }
  training: { encoder_units: [16], latent_units: 4 }
auto_learn:
  calibration: { likelihood: { learning_windows: 50, history_windows: 1000, transform_scale: ${transform} } }
subscriptions:
  - topic: lab/+/telemetry
    template: lab/{asset}/telemetry
    stream: "lab-{asset}"
    decoder: json
    model: auto
    channels: [a]
`,
    'lab.yaml',
  );
}

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-replay-transform-'));
  const rng = createRng(2);
  const times = Float64Array.from({ length: ROWS }, (_, i) => 1_767_225_600_000 + i * 1000);
  const values = Float32Array.from({ length: ROWS }, (_, i) => 10 + Math.sin((2 * Math.PI * i) / 20) + 0.05 * gaussian(rng));
  const spec = tinyDetectorSpec({ name: 'auto:lab-m1', stream: STREAM, window: WINDOW });
  const windows = completeWindows(STREAM, times.subarray(0, 300), values.subarray(0, 300), WINDOW);
  const { detector } = await trainEnsemble(windows, spec, 1);
  const { detector: transformed } = await trainTransformDetector(spec, 'diff', windows, 1);
  modelDir = path.join(dir, 'models', 'lab-m1-0123abcd');
  await saveLearnedModel(modelDir, { detector, transformed });
  detector.dispose();
  transformed.dispose();
  csv = path.join(dir, 'lab-m1.csv');
  await writeFile(csv, ['timestamp,a', ...Array.from(times, (t, i) => `${new Date(t).toISOString()},${values[i]}`)].join('\n') + '\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test('replay loads the learned transformed scale and the likelihood hears it; with transform_scale none it does not', async () => {
  const withScale = await loadReplayModel(modelDir, { config: config('diff'), file: 'lab.yaml' }, 'lab-m1');
  const without = await loadReplayModel(modelDir, { config: config('none'), file: 'lab.yaml' }, 'lab-m1');
  try {
    assert.ok(withScale.setup.learnsOwnModel);
    assert.equal(withScale.scales?.transformed?.manifest.transform, 'diff');
    const a = await replayRecording(withScale, csv);
    const b = await replayRecording(without, csv);
    assert.equal(a.filtered, 'likelihood');
    assert.equal(a.scores.length, b.scores.length);
    assert.ok(
      a.scores.some((s, i) => Math.abs(s.score - b.scores[i].score) > 1e-9 || Math.abs(s.pValue - b.scores[i].pValue) > 1e-12),
      'the third scale changes what the likelihood reports',
    );
  } finally {
    withScale.dispose();
    without.dispose();
  }
});
