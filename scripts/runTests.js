#!/usr/bin/env node
// `npm test` after the build: runs every compiled test file under build/test with node's test runner.
// Node 20's runner takes file paths (globs arrived in 21), so the files are listed here.
// Usage: node scripts/runTests.js [unit|integration|e2e ...] — default: all of them.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildTest = path.join(root, 'build', 'test');
const groups = process.argv.slice(2);

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return collect(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

const dirs = groups.length ? groups.map((g) => path.join(buildTest, g)) : [buildTest];
const files = dirs.flatMap(collect).sort();
if (files.length === 0) {
  console.error(`No compiled tests found under ${dirs.join(', ')}; run 'npm run pretest' first.`);
  process.exit(1);
}
// The fault-injection suites kill and starve real services on purpose (one drives 1,000 streams through a 60 s
// InfluxDB outage); run beside other suites on 2 cores they make each other time out. They run afterwards, one
// at a time; everything else runs two at a time.
const isFault = (f) => /[\\/]faults[^\\/]*\.test\.js$/.test(f);
const phases = [
  { files: files.filter((f) => !isFault(f)), concurrency: 2 },
  { files: files.filter(isFault), concurrency: 1 },
].filter((p) => p.files.length > 0);
let status = 0;
for (const phase of phases) {
  const result = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${phase.concurrency}`, '--test-timeout=600000', ...phase.files],
    { stdio: 'inherit', cwd: root },
  );
  if (result.status !== 0) status = result.status ?? 1;
}
process.exit(status);
