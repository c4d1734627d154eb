// Small detectors for tests that need a trained model, not a good one: a few seconds of training on the test
// backend. The spec below holds what those tests share (bce loss, light gaussian noise, no validation split, a
// percentile threshold); a test states the rest (name, stream, window) and whatever it depends on.
import type { StreamSpec, Window } from '../../src/core/types';
import { windowsFromSeries, type WindowOptions } from '../../src/core/window';
import { selectBackend } from '../../src/model/backend';
import { trainDetector, type DetectorSpec, type TrainedDetector } from '../../src/model/fitDetector';
import type { TrainOptions } from '../../src/model/train';

export interface TinyDetectorParts extends Partial<Omit<DetectorSpec, 'train'>> {
  readonly name: string;
  readonly stream: StreamSpec;
  readonly window: WindowOptions;
  /** Merged over the tiny training options (5 epochs of 32, learning rate 0.01, seed 1). */
  readonly train?: Partial<TrainOptions>;
}

const TINY_TRAINING: TrainOptions = {
  loss: 'bce',
  epochs: 5,
  batchSize: 32,
  learningRate: 0.01,
  validationFraction: 0,
  patience: 0,
  seed: 1,
  noise: { gaussianSigma: 0.05, maskFraction: 0, saltPepperFraction: 0 },
};

/** A spec for a 16-4 autoencoder thresholded at the 99th percentile of its clean errors; override any part. */
export function tinyDetectorSpec({ train, ...parts }: TinyDetectorParts): DetectorSpec {
  return {
    encoderUnits: [16],
    latentUnits: 4,
    scaleMargin: 0.05,
    metric: 'mse',
    calibration: { kind: 'percentile', percentile: 99 },
    backend: 'test',
    anomalydVersion: 'test',
    ...parts,
    train: { ...TINY_TRAINING, ...train },
  };
}

/** Selects the backend and trains a tiny detector on `windows`: once per file, in its before() hook. */
export async function trainTinyDetector(windows: readonly Window[], parts: TinyDetectorParts): Promise<TrainedDetector> {
  await selectBackend();
  return trainDetector(windows, tinyDetectorSpec(parts));
}

/** The windows a series gives that are complete enough to score (the ones training and scoring take). */
export function completeWindows(stream: StreamSpec, times: Float64Array, values: Float32Array, window: WindowOptions): Window[] {
  return windowsFromSeries(stream, times, values, window).flatMap((e) => (e.kind === 'window' ? [e.window] : []));
}
