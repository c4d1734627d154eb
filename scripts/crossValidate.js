#!/usr/bin/env node
// Leave-one-folder-out cross-validation of SKAB detection settings, through `anomalyd evaluate skab` itself.
//
// Each candidate is the shipped config/benchmarks/skab.yaml with a few keys overridden or, set to null, removed
// (scripts/cv/skab.yaml lists them). Every candidate is evaluated on each folder of the data on its own
// (valve1, other); then, for each folder held out, the candidate that does best on the other folders is chosen
// and its figures on the held-out folder are what that choice would have given on machines nobody tuned for.
// "Best": the highest pooled F1 among candidates whose FAR is within --far-limit on the choosing folders (the
// lowest FAR when none is). Also printed: the robust default, the candidate that keeps FAR within the limit over all
// folders and has the best F1 on its worst folder.
//
// Run after `npm run build`:
//   node scripts/crossValidate.js --data DIR [--candidates FILE] [--far-limit 10] [--seeds N] [--json]
// --seeds N runs each candidate with training seeds 1..N and averages its figures (one seed's F1 on SKAB moves by
// up to 0.03 with the seed alone, as much as most differences between candidates).
// DIR holds the folders (e.g. ../shared/data/skab with valve1/ and other/).
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
      candidates: { type: 'string', default: path.join(__dirname, 'cv', 'skab.yaml') },
      'far-limit': { type: 'string', default: '10' },
      seeds: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.data) throw new Error('--data DIR is required (a SKAB folder holding valve1/ and other/)');
  const farLimit = Number(values['far-limit']);
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds: expected a whole number >= 1 (got ${values.seeds})`);
  const folders = fs
    .readdirSync(values.data, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.readdirSync(path.join(values.data, d.name)).some((f) => /^\d+\.csv$/.test(f)))
    .map((d) => d.name)
    .sort();
  if (folders.length < 2) throw new Error(`${values.data}: cross-validation needs at least two folders of labelled files (found ${folders.join(', ') || 'none'})`);
  const base = YAML.parse(fs.readFileSync(path.join(root, 'config', 'benchmarks', 'skab.yaml'), 'utf8'));
  const candidates = YAML.parse(fs.readFileSync(values.candidates, 'utf8')).candidates;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anomalyd-cv-'));
  try {
    const results = candidates.map((c) => {
      const byFolder = {};
      for (const folder of folders) {
        const runs = [];
        for (let seed = 1; seed <= seeds; seed++) {
          const file = path.join(tmp, `${c.name}-${seed}.yaml`);
          fs.writeFileSync(file, YAML.stringify(withOverrides(base, { ...(c.set ?? {}), ...(seeds > 1 ? { 'defaults.training.seed': seed } : {}) })));
          const out = execFileSync(process.execPath, [path.join(root, 'dist', 'main.js'), 'evaluate', 'skab', '--data', path.join(values.data, folder), '-c', file, '--json'], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          runs.push(JSON.parse(out));
        }
        const mean = (key) => round(runs.reduce((s, r) => s + r[key], 0) / runs.length);
        const sd = (key) => round(Math.sqrt(runs.reduce((s, r) => s + (r[key] - mean(key)) ** 2, 0) / runs.length));
        byFolder[folder] = { f1: mean('f1'), far: mean('far'), mar: mean('mar'), files: runs[0].files, ...(seeds > 1 ? { f1_sd: sd('f1'), far_sd: sd('far') } : {}) };
      }
      process.stderr.write(`${c.name}: ${folders.map((f) => `${f} F1 ${byFolder[f].f1} FAR ${byFolder[f].far}`).join(' | ')}\n`);
      return { name: c.name, set: c.set ?? {}, folders: byFolder };
    });
    const heldOut = folders.map((folder) => {
      const choosing = folders.filter((f) => f !== folder);
      const chosen = choose(results, choosing, farLimit);
      return { held_out: folder, chosen_on: choosing, chosen: chosen.name, ...chosen.folders[folder] };
    });
    // The robust default: within the FAR limit over all folders pooled, the best F1 on its worst folder.
    const robust = results
      .map((r) => ({ name: r.name, worst_f1: Math.min(...folders.map((f) => r.folders[f].f1)), far_all: round(pooled(r, folders, 'far')) }))
      .filter((r) => r.far_all <= farLimit)
      .sort((a, b) => b.worst_f1 - a.worst_f1);
    const f1s = heldOut.map((h) => h.f1);
    const report = { folders, far_limit: farLimit, seeds, candidates: results, held_out: heldOut, spread_f1: round(Math.max(...f1s) - Math.min(...f1s)), robust };
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else print(report);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A candidate's figure over `folders`, weighted by their files (close to pooling their rows: SKAB files are alike in length). */
function pooled(r, folders, key) {
  const files = folders.reduce((s, f) => s + r.folders[f].files, 0);
  return folders.reduce((s, f) => s + r.folders[f][key] * r.folders[f].files, 0) / files;
}

/** The candidate with the best F1 over `folders` among those within the FAR limit (the lowest FAR when none is). */
function choose(results, folders, farLimit) {
  const within = results.filter((r) => pooled(r, folders, 'far') <= farLimit);
  if (within.length === 0) return results.reduce((a, b) => (pooled(b, folders, 'far') < pooled(a, folders, 'far') ? b : a));
  return within.reduce((a, b) => (pooled(b, folders, 'f1') > pooled(a, folders, 'f1') ? b : a));
}

/** The base config with each dotted key set to its value; null removes the key (the schema's default applies). */

function print(report) {
  const head = ['candidate', ...report.folders.flatMap((f) => [`${f} F1`, `${f} FAR`])];
  const lines = [head.join('\t')];
  for (const r of report.candidates) lines.push([r.name, ...report.folders.flatMap((f) => [r.folders[f].f1, r.folders[f].far])].join('\t'));
  lines.push('');
  for (const h of report.held_out) lines.push(`held out ${h.held_out}: chosen on ${h.chosen_on.join('+')} = ${h.chosen}; on ${h.held_out}: F1 ${h.f1} FAR ${h.far} MAR ${h.mar}`);
  lines.push(`spread of held-out F1: ${report.spread_f1}`);
  const best = report.robust[0];
  lines.push(best ? `robust default (FAR within ${report.far_limit} % over all folders, best worst-folder F1): ${best.name} (worst F1 ${best.worst_f1}, FAR ${best.far_all})` : `no candidate keeps FAR within ${report.far_limit} % over all folders`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function round(x) {
  return Math.round(x * 10000) / 10000;
}

main();
