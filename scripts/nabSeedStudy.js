#!/usr/bin/env node
// NAB figures of detection settings over several training seeds, through `anomalyd evaluate nab` itself.
//
// One NAB run's score moves by up to a point with the training seed alone (docs/benchmarks.md), as much as most
// differences between settings, so each candidate is run with `training.seed` 1..N in copies of
// config/benchmarks/nab.yaml and judged on the mean. Printed per candidate: standard / low-FP per seed and their
// mean; then, against the first candidate (the baseline), each file's raw NAB score averaged over the seeds, for
// the files that move. The per-file figures are those of `--json`'s per_file: the daemon's own alert starts as the
// detections (NAB's `calibrated` figure, no label used), with their detected windows and false-positive rows.
//
// Run after `npm run build`:
//   node scripts/nabSeedStudy.js --data DIR --labels FILE [--candidates FILE] [--seeds 5] [--json]
// The candidates file (YAML) lists `candidates: [{ name, set: { 'defaults.a.b': value, ... } }]`; the first is the
// baseline. Default: scripts/cv/nab-period.yaml, the study of the period baseline and the coarse pool chosen from
// each file's own period (docs/benchmarks.md, "The stream's own period").
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const YAML = require('yaml');
const { withOverrides } = require('./cv/overrides');

const root = path.resolve(__dirname, '..');

function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      labels: { type: 'string' },
      candidates: { type: 'string', default: path.join(__dirname, 'cv', 'nab-period.yaml') },
      seeds: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.data || !values.labels) throw new Error('--data DIR and --labels FILE are required (the NAB data folder and combined_windows.json)');
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds: expected a whole number >= 1 (got ${values.seeds})`);
  const base = YAML.parse(fs.readFileSync(path.join(root, 'config', 'benchmarks', 'nab.yaml'), 'utf8'));
  const candidates = YAML.parse(fs.readFileSync(values.candidates, 'utf8')).candidates;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anomalyd-nab-'));
  try {
    const results = candidates.map((c) => {
      const runs = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const file = path.join(tmp, `${c.name}-${seed}.yaml`);
        fs.writeFileSync(file, YAML.stringify(withOverrides(base, { ...(c.set ?? {}), 'defaults.training.seed': seed })));
        const out = execFileSync(
          process.execPath,
          [path.join(root, 'dist', 'main.js'), 'evaluate', 'nab', '--data', values.data, '--labels', values.labels, '-c', file, '--json'],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
        );
        const r = JSON.parse(out);
        runs.push({ seed, standard: r.scores.standard, lowFp: r.scores.reward_low_FP_rate, perFile: r.per_file });
        if (!values.json) process.stderr.write(`${c.name} seed ${seed}: ${r.scores.standard.toFixed(2)} / ${r.scores.reward_low_FP_rate.toFixed(2)}\n`);
      }
      return { name: c.name, runs, mean: { standard: mean(runs.map((r) => r.standard)), lowFp: mean(runs.map((r) => r.lowFp)) }, files: fileMeans(runs) };
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(results.map((r) => ({ name: r.name, mean: r.mean, seeds: r.runs.map(({ seed, standard, lowFp }) => ({ seed, standard, lowFp })), files: r.files })))}\n`);
      return;
    }
    for (const r of results) {
      const perSeed = r.runs.map((x) => `${x.standard.toFixed(2)} / ${x.lowFp.toFixed(2)}`).join(', ');
      process.stdout.write(`${r.name}: mean ${r.mean.standard.toFixed(2)} / ${r.mean.lowFp.toFixed(2)}  (seeds ${perSeed})\n`);
    }
    const [baseline, ...others] = results;
    for (const r of others) {
      const moved = Object.keys(r.files)
        .map((f) => ({ f, d: r.files[f].raw - (baseline.files[f]?.raw ?? 0), fp: r.files[f].fp - (baseline.files[f]?.fp ?? 0), det: r.files[f].det - (baseline.files[f]?.det ?? 0) }))
        .filter((x) => Math.abs(x.d) >= 0.005)
        .sort((a, b) => b.d - a.d);
      process.stdout.write(`\n${r.name} against ${baseline.name}, per file (mean raw score change; detected windows and false positives per run):\n`);
      for (const x of moved) process.stdout.write(`  ${x.f.padEnd(60)} ${sign(x.d, 3)}  detected ${sign(x.det, 1)}  FP ${sign(x.fp, 1)}\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Each file's raw score, detected windows and false positives, averaged over the runs. */
function fileMeans(runs) {
  const out = {};
  for (const run of runs) {
    for (const f of run.perFile) {
      const o = (out[f.file] ??= { raw: 0, det: 0, fp: 0 });
      o.raw += f.raw_score / runs.length;
      o.det += f.detected / runs.length;
      o.fp += f.false_positives / runs.length;
    }
  }
  return out;
}


const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sign = (x, digits) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

main();
