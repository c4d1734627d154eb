// training.architecture: dense by default, conv1d with its filters and kernel accepted, anything else refused
// by the schema at its key; a window too short for the kernel or for the stride-2 layers is refused at the
// setting at fault (the builder's own rule, core/convShape.ts); the dense-only rule (bottleneck no wider than
// the last encoder layer) does not apply to conv1d, which has no dense encoder layers.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { detectorSpec } from '../../../src/app/detection';
import { loadConfigText } from '../../../src/config/load';
import { problemsOf } from './helpers';

const STREAM = { id: 's', channels: ['a', 'b'] };

test('dense by default; conv1d takes its filters and kernel, and detectorSpec passes them', () => {
  const plain = loadConfigText('', 'plain.yaml', {});
  assert.equal(plain.defaults.training.architecture, 'dense');
  assert.deepEqual(plain.defaults.training.conv_filters, [32, 16]);
  assert.equal(plain.defaults.training.kernel_size, 7);
  assert.equal(detectorSpec(plain.defaults, 'm', STREAM, 'cpu', 'v').architecture, 'dense');

  const conv = loadConfigText('defaults:\n  window: { size: 30, hop: 5 }\n  training: { architecture: conv1d, conv_filters: [16, 8, 8], kernel_size: 5 }\n', 'conv.yaml', {});
  const spec = detectorSpec(conv.defaults, 'm', STREAM, 'cpu', 'v');
  assert.equal(spec.architecture, 'conv1d');
  assert.deepEqual(spec.conv, { filters: [16, 8, 8], kernelSize: 5 });
});

test('the schema refuses an unknown architecture, no conv layers, a zero kernel', () => {
  assert.match(problemsOf('defaults:\n  training: { architecture: lstm }\n').join('\n'), /defaults\.training\.architecture/);
  assert.match(problemsOf('defaults:\n  training: { architecture: conv1d, conv_filters: [] }\n').join('\n'), /defaults\.training\.conv_filters/);
  assert.match(problemsOf('defaults:\n  training: { kernel_size: 0 }\n').join('\n'), /defaults\.training\.kernel_size/);
});

test('a window too short for the kernel or the strides is refused at the setting at fault', () => {
  const kernel = problemsOf('defaults:\n  window: { size: 20, hop: 5 }\n  training: { architecture: conv1d, kernel_size: 21 }\n');
  assert.deepEqual(kernel, ['defaults.training.kernel_size: a window of 20 samples is shorter than the convolution kernel (kernel_size 21) (got 21)']);
  const strides = problemsOf('defaults:\n  window: { size: 20, hop: 5 }\n  training: { architecture: conv1d, kernel_size: 3, conv_filters: [4, 4, 4, 4, 4] }\n');
  assert.equal(strides.length, 1);
  assert.match(strides[0], /^defaults\.training\.conv_filters: a window of 20 samples is too short for 5 stride-2 convolution layers \(conv_filters\): it needs at least 32/);
  // The same settings are fine for the dense form, which has no kernel.
  loadConfigText('defaults:\n  window: { size: 20, hop: 5 }\n  training: { kernel_size: 21 }\n', 'dense.yaml', {});
});

test('conv1d is not held to the dense rule latent_units <= the last encoder layer', () => {
  const text = (arch: string): string => `defaults:\n  training: { architecture: ${arch}, encoder_units: [8], latent_units: 12 }\n`;
  assert.match(problemsOf(text('dense')).join('\n'), /latent_units \(12\) must not exceed the last encoder layer/);
  assert.equal(loadConfigText(text('conv1d'), 'conv.yaml', {}).defaults.training.latent_units, 12);
});

test('out_of_range and score_steps: defaults clip and 0, passed to the spec; refused beyond the window or with bce', () => {
  const plain = loadConfigText('', 'plain.yaml', {});
  assert.equal(plain.defaults.training.out_of_range, 'clip');
  assert.equal(plain.defaults.training.score_steps, 0);
  const plainSpec = detectorSpec(plain.defaults, 'm', STREAM, 'cpu', 'v');
  assert.equal(plainSpec.outOfRange, 'clip');
  assert.equal(plainSpec.scoreSteps, undefined);
  const set = loadConfigText('defaults:\n  window: { size: 16, hop: 1 }\n  training: { out_of_range: keep, score_steps: 8, score_metric: mse }\n', 'k.yaml', {});
  const spec = detectorSpec(set.defaults, 'm', STREAM, 'cpu', 'v');
  assert.equal(spec.outOfRange, 'keep');
  assert.equal(spec.scoreSteps, 8);
  assert.match(problemsOf('defaults:\n  training: { out_of_range: wrap }\n').join('\n'), /defaults\.training\.out_of_range/);
  assert.deepEqual(problemsOf('defaults:\n  window: { size: 16, hop: 1 }\n  training: { score_steps: 17 }\n'), ['defaults.training.score_steps: score_steps (17) must not exceed window size (16) (got 17)']);
  assert.deepEqual(problemsOf('defaults:\n  training: { out_of_range: keep, score_metric: bce }\n'), [
    'defaults.training.out_of_range: out_of_range keep needs score_metric mse or mae (bce is not a distance for values outside [0, 1]) (got "keep")',
  ]);
});
