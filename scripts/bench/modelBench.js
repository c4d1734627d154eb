#!/usr/bin/env node
// Scoring and training speed of anomalyd's production model path, in a process of its own (so the backend and
// thread settings are fresh and the orchestrator's own work does not interfere). Prints one JSON object.
//   node scripts/bench/modelBench.js [--quick] [--seconds S] [--rounds R] [--train-windows N] [--epochs E]
//
// - Backend: selectBackend('auto'), what the daemon picks (tfjs-node, else the native addon, else wasm, else
//   cpu); ANOMALYD_BACKEND forces one, as for the daemon (ANOMALYD_NATIVE=0 skips the addon,
//   ANOMALYD_NATIVE_KERNELS=avx2|generic picks its kernel set). The orchestrator pins this process to one core (taskset) and sets
//   TF_NUM_INTRAOP_THREADS/TF_NUM_INTEROP_THREADS=1 for tfjs-node.
// - Scoring: the design's model D = 140, 140-128-64-16-64-128-140 (buildNetwork dense, encoder [128, 64] and
//   latent 16), through Scorer.score (the call the daemon's Detector makes: tensor from a Float32Array,
//   predict, per-value squared error, per-channel sums, shares, window scores back in JS), channels 1,
//   max_channel aggregate. Windows per second at batch 1 and 256; best of `rounds` rounds of `seconds` each.
// - Training: trainAutoencoder (the function `anomalyd train` and auto-learning use) on 20,000 windows, batch
//   256, Adam, BCE, gaussian input noise only, no validation split; per-epoch times from its onEpoch callback;
//   the first epoch is warm-up, the median of the others is reported.
// - --architecture conv1d: the same windows (140 steps of one channel, like an ECG beat) through the
//   convolutional autoencoder with the config defaults (conv_filters [32, 16], kernel_size 7, latent 16), built by
//   buildNetwork. The native addon computes it when selected; otherwise tfjs does (ANOMALYD_BACKEND=wasm measures
//   tfjs wasm), and `engine` and `tfjs_backend` say which.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const dist = (m) => require(path.join(root, 'dist', m));

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      'train-windows': { type: 'string' },
      epochs: { type: 'string' },
      skip: { type: 'string', default: '' },
      architecture: { type: 'string', default: 'dense' },
    },
  });
  const quick = values.quick;
  const seconds = Number(values.seconds ?? (quick ? 0.3 : 1.0));
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const trainWindows = Number(values['train-windows'] ?? (quick ? 1024 : 20000));
  const epochs = Number(values.epochs ?? (quick ? 2 : 3));
  const skip = new Set(values.skip.split(',').filter(Boolean));

  const tf = require('@tensorflow/tfjs');
  const { selectBackend, tfjsBackendFor } = dist('model/backend.js');
  const { nativeUnsupported } = dist('model/nativeEngine.js');
  const { buildNetwork } = dist('model/network.js');
  const { Scorer } = dist('model/scorer.js');
  const { trainAutoencoder } = dist('model/train.js');

  const backend = await selectBackend('auto');
  const D = 140;
  const conv = values.architecture === 'conv1d';
  if (!conv && values.architecture !== 'dense') throw new Error(`--architecture must be dense or conv1d (got ${values.architecture})`);
  const arch = conv
    ? { kind: 'conv1d', inputSize: D, channels: 1, encoderUnits: [], conv: { filters: [32, 16], kernelSize: 7 }, latentUnits: 16, seed: 42 }
    : { kind: 'dense', inputSize: D, channels: 1, encoderUnits: [128, 64], latentUnits: 16, seed: 42 };
  // A conv1d model the addon does not run would be computed by tfjs, readied as the daemon readies it.
  let why;
  if (backend.name === 'native' && conv) {
    const probe = buildNetwork(arch);
    why = nativeUnsupported(probe);
    probe.dispose();
  }
  if (why !== undefined) await tfjsBackendFor('conv1d', why);
  const tfjsBackend = conv ? tf.getBackend() : null;
  const data = syntheticWindows(Math.max(trainWindows, 256 * 8), D, 7);
  const layers = conv ? '140x1 conv1d 32,16 (k7, s2) - dense 16 - upsample+conv 32,1 (k7)' : '140-128-64-16-64-128-140';
  const out = { backend: backend.name, architecture: arch.kind, tfjs_backend: tfjsBackend, kernels: backend.kernels ?? null, tfjs: backend.tfjsVersion, skipped: backend.skipped, input: D, layers };

  if (!skip.has('scoring')) {
    const model = buildNetwork(arch);
    const scorer = new Scorer(model, { channels: 1, metric: 'mse', aggregate: 'max_channel', maxBatch: 1024 });
    out.engine = scorer.engine.kind;
    const rate = (batch) => {
      const nBatches = Math.max(1, Math.min(64, Math.floor(data.n / batch)));
      const mats = Array.from({ length: nBatches }, (_, i) => ({ data: data.data.subarray(i * batch * D, (i + 1) * batch * D), n: batch, inputSize: D }));
      for (let i = 0; i < Math.min(4, mats.length) * 3; i++) scorer.score(mats[i % mats.length]); // warm-up
      let best = 0;
      for (let r = 0; r < rounds; r++) {
        let done = 0;
        let k = 0;
        const t0 = process.hrtime.bigint();
        let el = 0;
        do {
          scorer.score(mats[k++ % mats.length]);
          done += batch;
          el = Number(process.hrtime.bigint() - t0) / 1e9;
        } while (el < seconds);
        best = Math.max(best, done / el);
      }
      return best;
    };
    const tensorsBefore = tf.memory().numTensors;
    out.scoring = { wps_b1: rate(1), wps_b256: rate(256), seconds_per_round: seconds, rounds, leaked_tensors: tf.memory().numTensors - tensorsBefore };
    model.dispose();
  }

  if (!skip.has('training')) {
    const model = buildNetwork(arch);
    const windows = { data: data.data.subarray(0, trainWindows * D), n: trainWindows, inputSize: D };
    const ends = [];
    const t0 = Date.now();
    await trainAutoencoder(
      model,
      windows,
      {
        loss: 'bce',
        epochs,
        batchSize: 256,
        learningRate: 0.001,
        validationFraction: 0,
        patience: 0,
        seed: 1,
        noise: { gaussianSigma: 0.05, maskFraction: 0, saltPepperFraction: 0 },
      },
      (r) => ends.push(r.elapsedMs),
    );
    const epochS = ends.map((e, i) => (e - (i === 0 ? 0 : ends[i - 1])) / 1000);
    const steady = (epochS.length > 1 ? epochS.slice(1) : epochS).slice().sort((a, b) => a - b);
    const median = steady[Math.floor(steady.length / 2)];
    const engine = dist('model/engine.js').trainingEngine(model, { loss: 'bce', learningRate: 0.001 });
    engine.dispose();
    out.training = { engine: engine.kind, wps: trainWindows / median, epoch_s: epochS, windows: trainWindows, batch: 256, total_s: (Date.now() - t0) / 1000 };
    model.dispose();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

/** Smooth signals in [0, 1] with a little noise, like scaled ECG beats; seeded (content does not change timing). */
function syntheticWindows(n, d, seed) {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const phase = rnd() * 2 * Math.PI;
    const freq = 1 + rnd() * 4;
    for (let j = 0; j < d; j++) {
      const v = 0.5 + 0.35 * Math.sin(freq * (j / (d - 1)) * 2 * Math.PI + phase) + 0.05 * (rnd() - 0.5) * 3.46;
      data[i * d + j] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return { data, n };
}

main().catch((err) => {
  process.stderr.write(`modelBench: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
