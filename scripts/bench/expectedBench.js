#!/usr/bin/env node
// The cost of the expected values beside the scores (defaults.expected), in a process of its own pinned to one
// core like modelBench.js. Prints one JSON object.
//   node scripts/bench/expectedBench.js [--quick]
// - Scoring: the bundled pump model (models/pump: window 30 x 8 channels) through Detector.score, the daemon's
//   call, on the backend selectBackend('auto') picks: windows/s at batch 64 (the daemon's max_batch) without and
//   with the expectation (the reconstruction of the same pass un-scaled, transform undone, tolerance); best of
//   `rounds` rounds of `seconds` each, the two interleaved so drift hits both.
// - InfluxDB: points and line-protocol bytes per scored window as the sink writes them (sinks/influx/line.ts and
//   points.ts), for a score point alone, with expected values, and with the denoised signal too (hop 5 samples).
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const dist = (m) => require(path.join(root, 'dist', m));

async function main() {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const seconds = values.quick ? 0.2 : 1;
  const rounds = values.quick ? 1 : 5;
  const { selectBackend } = dist('model/backend');
  const { Detector } = dist('model/detector');
  const backend = await selectBackend('auto');
  const detector = await Detector.load(path.join(root, 'models', 'pump'));
  const m = detector.manifest;
  const size = m.window.size;
  const channels = m.channels.length;
  const batch = 64;
  const windows = Array.from({ length: batch }, (_, i) => {
    const values = new Float32Array(size * channels);
    for (let j = 0; j < values.length; j++) {
      const c = j % channels;
      values[j] = m.scaler.min[c] + (m.scaler.max[c] - m.scaler.min[c]) * (0.5 + 0.3 * Math.sin(i + j / 7));
    }
    return { stream: `line1/pump${i}`, start: i * 1000, end: i * 1000 + (size - 1) * 1000, size, channels, values, completeness: 1 };
  });
  const rate = (withExpected) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const until = t0 + BigInt(Math.round(seconds * 1e9));
    while (process.hrtime.bigint() < until) {
      detector.score(windows, withExpected);
      n += batch;
    }
    return n / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  rate(false);
  rate(true);
  let off = 0;
  let on = 0;
  for (let r = 0; r < rounds; r++) {
    off = Math.max(off, rate(false));
    on = Math.max(on, rate(true));
  }

  const { linesOf } = dist('sinks/influx/line');
  const { expectedRecord, denoisedRecords } = dist('sinks/influx/points');
  const [scored] = detector.score([windows[0]], true);
  const record = (arr, from) => Object.fromEntries(m.channels.map((c, k) => [c, arr[from + k]]));
  const last = (size - 1) * channels;
  const base = { stream: 'line1/pump1', model: 'pump', time: windows[0].end, score: scored.score, threshold: scored.threshold, pValue: scored.pValue, anomalous: false, completeness: 1, channelShares: record(scored.channelShares, 0) };
  const withExpected = { ...base, expected: record(scored.expected, last), observed: record(windows[0].values, last), tolerance: record(scored.tolerance, 0) };
  const hop = 5;
  const denoised = Array.from({ length: hop }, (_, k) => ({ time: base.time - (hop - 1 - k) * 1000, values: record(scored.expected, (size - hop + k) * channels) }));
  const influx = (p) => {
    const points = [p, ...[expectedRecord(p)].filter(Boolean), ...denoisedRecords(p)];
    return { points: points.length, bytes: Buffer.byteLength(linesOf(points)) + 1 };
  };
  const r1 = (x) => Math.round(x);
  process.stdout.write(JSON.stringify({
    backend: backend.name,
    model: { window: size, channels },
    batch,
    scoring_wps_off: r1(off),
    scoring_wps_on: r1(on),
    scoring_cost_pct: Math.round((off / on - 1) * 1000) / 10,
    influx_per_window: { scores: influx(base), expected: influx(withExpected), expected_and_denoised_hop5: influx({ ...withExpected, denoised }) },
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
