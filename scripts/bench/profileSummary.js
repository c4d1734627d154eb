#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof) by self time: top functions and a breakdown by area
// (anomalyd source directory, dependency package, node internals, GC, idle). Used by `bench --profile DIR`
// for the daemon of the ingest run; also usable alone:  node scripts/bench/profileSummary.js FILE.cpuprofile
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function area(url) {
  if (!url) return null;
  // Packages first: their own dist/ directories (ajv's dist/compile/) are not anomalyd's.
  const p = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (p) return p[1];
  const m = /\/dist\/([^/]+)\//.exec(url);
  if (m) return `anomalyd ${m[1]}/`;
  if (url.startsWith('node:')) return url.split('/')[0];
  return path.basename(url);
}

const STOPPED_US = 200_000;

function summarise(file, top = 25) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  // A sample far longer than the sampling interval is time the process was stopped (the drain run's SIGSTOP),
  // charged to whatever ran last: left out, else it shows as tens of per cent in one function.
  for (let i = 0; i < prof.samples.length; i++) {
    const us = dt[i] ?? 0;
    if (us > STOPPED_US) continue;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + us);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const areas = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    const a = area(cf.url) ?? name; // (garbage collector), (idle), (program)
    const key = `${name}  ${cf.url ? `${path.relative(process.cwd(), cf.url.replace('file://', ''))}:${cf.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
  const lines = [`${file}: ${(total / 1e6).toFixed(2)} s sampled`, '  by area (self time):'];
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 20)) lines.push(`    ${pct(us)}  ${a}`);
  lines.push('  top functions (self time):');
  for (const [k, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${k}`);
  const nonIdle = total - (areas.get('(idle)') ?? 0);
  return {
    text: lines.join('\n'),
    areas: Object.fromEntries([...areas].sort((x, y) => y[1] - x[1]).slice(0, 15).map(([a, us]) => [a, Math.round((1000 * us) / nonIdle) / 10])),
  };
}

if (require.main === module) {
  for (const f of process.argv.slice(2)) process.stdout.write(summarise(f).text + '\n');
}
module.exports = { summarise };
