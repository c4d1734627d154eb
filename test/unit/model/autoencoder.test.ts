import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildAutoencoder, encoderOf, LATENT_LAYER } from '../../../src/model/autoencoder';
import { selectBackend } from '../../../src/model/backend';

before(async () => {
  await selectBackend();
});

test('deep autoencoder: encoder sizes down to the bottleneck, mirrored decoder, sigmoid output', () => {
  const model = buildAutoencoder({ inputSize: 140, encoderUnits: [128, 64], latentUnits: 16, seed: 1 });
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  assert.deepEqual(
    dense.map((l) => (l.outputShape as number[])[1]),
    [128, 64, 16, 64, 128, 140],
  );
  assert.deepEqual(
    dense.map((l) => (l.getConfig() as { activation: string }).activation),
    ['relu', 'relu', 'relu', 'relu', 'relu', 'sigmoid'],
  );
  assert.deepEqual(model.inputs[0].shape, [null, 140]);
  assert.deepEqual(model.outputs[0].shape, [null, 140]);
  const y = tf.tidy(() => (model.predict(tf.randomUniform([3, 140])) as tf.Tensor).arraySync() as number[][]);
  assert.equal(y.length, 3);
  assert.ok(y.flat().every((v) => v > 0 && v < 1), 'sigmoid outputs lie in (0, 1)');
  model.dispose();
});

test('shallow form: the same builder with no encoder layers has one hidden layer', () => {
  const model = buildAutoencoder({ inputSize: 32, encoderUnits: [], latentUnits: 8, seed: 1 });
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  assert.deepEqual(
    dense.map((l) => (l.outputShape as number[])[1]),
    [8, 32],
  );
  model.dispose();
});

test('encoder cut at the latent layer outputs the bottleneck code', () => {
  const model = buildAutoencoder({ inputSize: 40, encoderUnits: [24], latentUnits: 6, seed: 2 });
  const encoder = encoderOf(model);
  assert.deepEqual(encoder.outputs[0].shape, [null, 6]);
  assert.equal(model.getLayer(LATENT_LAYER).name, LATENT_LAYER);
  model.dispose();
});

test('same seed gives the same initial weights; another seed does not', () => {
  const weights = (seed: number): number[] => {
    const m = buildAutoencoder({ inputSize: 20, encoderUnits: [10], latentUnits: 4, seed });
    const w = Array.from(m.getWeights()[0].dataSync());
    m.dispose();
    return w;
  };
  assert.deepEqual(weights(7), weights(7));
  assert.notDeepEqual(weights(7), weights(8));
});

test('rejects a bottleneck that is not smaller than the input, and non-integer sizes', () => {
  assert.throws(() => buildAutoencoder({ inputSize: 8, encoderUnits: [], latentUnits: 8, seed: 1 }), /bottleneck/);
  assert.throws(() => buildAutoencoder({ inputSize: 8, encoderUnits: [2.5], latentUnits: 2, seed: 1 }), /positive integers/);
});
