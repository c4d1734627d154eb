// Which settings `replay` streams a recording with: the stream's as the daemon binds it (defaults, then the
// subscription's and stream entry's overrides; the auto_learn profile for a stream that learns its own model),
// the model's window size and hop, and a warning wherever the config would make the daemon do otherwise.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { configuredModelPath, replaySetup } from '../../../src/offline/replaySetup';
import { loadConfigText } from '../../../src/config/load';
import type { Manifest } from '../../../src/model/manifest';

const MANIFEST = {
  name: 'pump',
  stream: 'line1/pump1',
  channels: ['a', 'b'],
  window: { size: 30, hop: 5, maxGapMs: 10_000, minCompleteness: 0.9, samplePeriodMs: 1000 },
} as unknown as Manifest;

const CONFIG = `
models:
  pump: { path: ./models/pump, threshold: 0.5 }
defaults:
  window: { size: 30, hop: 5, max_gap_ms: 7000, max_lateness_ms: 2000 }
  alerting: { k: 2, n: 3, top_channels: 1, flatline_samples: 12 }
subscriptions:
  - topic: plant/+/+/telemetry
    template: plant/{line}/{asset}/telemetry
    stream: "{line}/{asset}"
    decoder: json
    model: pump
    channels: [a, b]
    alerting: { k: 3 }
  - topic: lab/+/telemetry
    template: lab/{asset}/telemetry
    stream: "lab-{asset}"
    decoder: json
    model: auto
    channels: [a, b]
streams:
  - id: line1/pump2
    alerting: { n: 7 }
    window: { hop: 10 }
`;

const config = loadConfigText(CONFIG, 'plant.yaml');
const cfg = { config, file: 'plant.yaml' };

test('without a config: the default settings and the whole window of the model', () => {
  const s = replaySetup(MANIFEST, undefined);
  assert.equal(s.stream.id, 'line1/pump1');
  assert.deepEqual(s.stream.channels, ['a', 'b']);
  assert.deepEqual(s.window, { size: 30, hop: 5, maxGapMs: 10_000, minCompleteness: 0.9, samplePeriodMs: 1000 });
  assert.equal(s.maxLatenessMs, 0);
  assert.equal(s.detection.alerting.top_channels, 3);
  assert.deepEqual(s.warnings, []);
});

test("the model's stream under a config: defaults, then its subscription's overrides; the window options and lateness of the config", () => {
  const s = replaySetup(MANIFEST, cfg);
  assert.equal(s.detection.alerting.k, 3, 'subscription override');
  assert.equal(s.detection.alerting.n, 3, 'default');
  assert.equal(s.detection.alerting.top_channels, 1);
  assert.equal(s.detection.alerting.flatline_samples, 12);
  assert.equal(s.window.maxGapMs, 7000);
  assert.equal(s.maxLatenessMs, 2000);
  assert.equal(s.learnsOwnModel, false);
  assert.deepEqual(s.configuredModel, { name: 'pump', path: path.resolve('models/pump'), threshold: 0.5 });
  assert.match(s.settingsFrom, /plant\.yaml: stream 'line1\/pump1' \(subscriptions\[0\]\)/);
  assert.deepEqual(s.warnings, []);
});

test("a stream entry's overrides apply; a hop that differs from the model's is replaced by the model's, with a warning naming both", () => {
  const s = replaySetup(MANIFEST, cfg, 'line1/pump2');
  assert.equal(s.detection.alerting.k, 3);
  assert.equal(s.detection.alerting.n, 7);
  assert.equal(s.window.hop, 5);
  assert.equal(s.warnings.length, 1);
  assert.match(s.warnings[0], /plant\.yaml: window\.hop is 10 for this stream, the model's is 5/);
});

test('a stream that learns its own model gets the auto_learn profile (the anomaly likelihood)', () => {
  const s = replaySetup(MANIFEST, cfg, 'lab-m1');
  assert.equal(s.learnsOwnModel, true);
  assert.equal(s.detection.calibration.likelihood.enabled, true);
  assert.equal(s.configuredModel, undefined);
  const found = configuredModelPath(cfg, 'lab-m1');
  assert.ok(typeof found !== 'string' && /learns its own model/.test(found.problem), JSON.stringify(found));
});

test("a stream that learns its own model, replayed with a trained model (--model): the settings of a stream bound to it", () => {
  const trained = replaySetup(MANIFEST, cfg, 'lab-m1', 'models/compressor1');
  assert.equal(trained.learnsOwnModel, false, 'loaded as the trained model it is');
  assert.equal(trained.detection.calibration.likelihood.enabled, false, 'not the auto_learn profile');
  assert.match(trained.settingsFrom, /stream 'lab-m1' \(subscriptions\[1\]\), as bound to the trained model models\/compressor1 \(the config lets it learn its own/);
  assert.deepEqual(trained.warnings, []);
  // The daemon's own learned model of the stream, under state_dir/models: replayed as the daemon scores it.
  const learned = replaySetup(MANIFEST, cfg, 'lab-m1', path.join(config.state_dir, 'models', 'lab-m1-0123abcd'));
  assert.equal(learned.learnsOwnModel, true);
  assert.equal(learned.detection.calibration.likelihood.enabled, true);
});

test('a stream no subscription produces: the file defaults, with a warning; channels that differ from the model are named', () => {
  const s = replaySetup(MANIFEST, cfg, 'elsewhere');
  assert.equal(s.detection.alerting.k, 2);
  assert.match(s.warnings[0], /no subscription produces stream 'elsewhere'.*pass --stream ID/);
  const other = replaySetup({ ...MANIFEST, channels: ['a', 'c'] }, cfg);
  assert.match(other.warnings.join('\n'), /subscriptions\[0\]\.channels are \[a, b\], the model's are \[a, c\]/);
});

test('configuredModelPath: the directory of the model a stream is bound to, or why there is none', () => {
  assert.equal(configuredModelPath(cfg, 'line3/pump9'), path.resolve('models/pump'));
  assert.deepEqual(configuredModelPath(cfg, 'nowhere'), { problem: "plant.yaml: no subscription produces stream 'nowhere'" });
});
