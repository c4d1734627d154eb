// What the native engine tests compare against, shared by the dense (nativeEngine) and convolutional
// (convNativeEngine) ones: seeded inputs, weights made random, tfjs's own gradient, the relative error.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../../src/core/random';

export function uniform(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng());
}

/** `model` with every weight moved a little (biases too, so every parameter matters); returns it. */
export function perturbWeights(model: tf.LayersModel, seed: number): tf.LayersModel {
  const rng = createRng(seed + 100);
  model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from(w.dataSync(), (v) => v + 0.1 * (rng() - 0.5)), w.shape)));
  return model;
}

export function maxRelative(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-30));
  return worst;
}

/** tfjs's gradient of the layers-model loss (the function model.fit minimises) at the model's weights. */
export function tfjsGradient(model: tf.LayersModel, x: Float32Array, t: Float32Array, n: number, loss: 'bce' | 'mse'): { loss: number; gradient: Float32Array[] } {
  const d = x.length / n;
  return tf.tidy(() => {
    const xt = tf.tensor2d(x, [n, d]);
    const tt = tf.tensor2d(t, [n, d]);
    const lossFn = loss === 'bce' ? tf.metrics.binaryCrossentropy : tf.metrics.meanSquaredError;
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => lossFn(tt, model.apply(xt) as tf.Tensor).mean<tf.Scalar>(), variables);
    return { loss: value.dataSync()[0], gradient: variables.map((v) => grads[v.name].dataSync() as Float32Array) };
  });
}
