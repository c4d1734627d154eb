#!/usr/bin/env node
// What the transformed scale (calibration.likelihood.transform_scale) costs a stream per window: the filter
// scores each window it judges with the scale's ensemble, one window at a time (in the live daemon a stream
// has one window in a batch, so its own models score one window at a time too). Times, on the backend the
// daemon selects, per window: the likelihood alone, the likelihood behind the transformed scale's filter, and
// the main ensemble scoring one window, for three networks of the daemon's default shape (128-64-16) on windows
// of 64 samples x 8 channels. Best of 5 rounds of 3,000 windows each. The networks are trained for 2 epochs
// only: what is timed is the arithmetic, not what they learnt.
//
// Run after `npm run build`:   node scripts/transformScaleCost.js [--json]
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = (p) => require(path.join(root, 'dist', p));
const { selectBackend } = dist('model/backend');
const { trainEnsemble } = dist('model/ensemble');
const { TransformScaleFilter } = dist('model/transformScale');
const { AnomalyLikelihood } = dist('core/anomalyLikelihood');
const { createRng, gaussian } = dist('core/random');

const SIZE = 64;
const CHANNELS = 8;
const WINDOWS = 300;
const REPEATS = 10;

function bestMicros(fn) {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < REPEATS; r++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / (REPEATS * WINDOWS));
  }
  return Math.round(best * 10) / 10;
}

async function main() {
  const backend = await selectBackend();
  const rng = createRng(1);
  const windows = Array.from({ length: WINDOWS }, (_, i) => {
    const values = new Float32Array(SIZE * CHANNELS);
    for (let k = 0; k < values.length; k++) values[k] = Math.sin((i + Math.floor(k / CHANNELS)) / 7 + (k % CHANNELS)) + 0.05 * gaussian(rng);
    return { stream: 's', start: i, end: i + SIZE - 1, size: SIZE, channels: CHANNELS, values, completeness: 1 };
  });
  const spec = {
    name: 'cost',
    stream: { id: 's', channels: Array.from({ length: CHANNELS }, (_, c) => `c${c}`) },
    window: { size: SIZE, hop: 16, maxGapMs: 1e9, minCompleteness: 0.5 },
    encoderUnits: [128, 64],
    latentUnits: 16,
    scaleMargin: 0.05,
    metric: 'mse',
    calibration: { kind: 'percentile', percentile: 99 },
    backend: backend.name,
    anomalydVersion: 'cost',
    train: { loss: 'bce', epochs: 2, batchSize: 64, learningRate: 0.003, validationFraction: 0, patience: 0, seed: 1, noise: { gaussianSigma: 0.05, maskFraction: 0, saltPepperFraction: 0 } },
  };
  const { detector: main } = await trainEnsemble(windows, spec, 3);
  const { detector: transformed } = await trainEnsemble(windows, { ...spec, transform: 'diff' }, 3);
  // The auto_learn profile's likelihood at hop 16 (docs/benchmarks.md, "Counts follow the hop").
  const likelihood = () => new AnomalyLikelihood({ averageWindows: 1, historyWindows: 540, learningWindows: 18, threshold: 0.5, suppressWindows: 13, rangeTolerance: 0.05 });
  const feed = (f) => () => {
    for (const w of windows) f.filter({ time: w.end, score: 0.1, threshold: 1, pValue: 0.5, anomalous: false, window: { values: w.values, channels: CHANNELS } });
  };
  const alone = likelihood();
  const withScale = new TransformScaleFilter(likelihood(), () => transformed, { stream: 's', size: SIZE });
  const result = {
    backend: backend.name,
    micros_per_window: {
      likelihood: bestMicros(feed(alone)),
      likelihood_with_transform_scale: bestMicros(feed(withScale)),
      main_ensemble_one_window: bestMicros(() => {
        for (const w of windows) main.score([w]);
      }),
    },
  };
  main.dispose();
  transformed.dispose();
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(result) + '\n');
  else for (const [k, v] of Object.entries(result.micros_per_window)) process.stdout.write(`${k.padEnd(32)} ${v} µs per window (${result.backend})\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
