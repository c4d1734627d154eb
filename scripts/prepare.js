#!/usr/bin/env node
// `prepare` (npm runs it on `npm install` / `npm ci` in a checkout): compile dist/ when the TypeScript compiler is
// installed. A production install (`--omit=dev`) has no compiler: it keeps the dist/ it has (a release tarball
// carries one, built by `prepack`) instead of failing on `tsc: not found`. Under `npm pack`/`npm publish`,
// `prepack` does a clean build already, so this one is skipped.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const command = process.env.npm_command;
if (command === 'pack' || command === 'publish') process.exit(0);

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  tsc = undefined;
}
const built = fs.existsSync(path.join(root, 'dist', 'main.js'));

if (tsc === undefined) {
  if (built) {
    process.stderr.write('anomalyd: TypeScript is not installed (production install); using the dist/ already built.\n');
    process.exit(0);
  }
  process.stderr.write(
    'anomalyd: dist/ is not built and TypeScript is not installed (--omit=dev).\n' +
      '  Install a release tarball instead (`npm pack` in a checkout with dev dependencies builds one),\n' +
      '  or run `npm ci` with dev dependencies here first.\n',
  );
  process.exit(1);
}
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// The configuration validator compiled once here rather than at every start (src/config/schemaValidator.ts).
const generator = path.join(root, 'scripts', 'genValidator.js');
if (!fs.existsSync(generator)) process.exit(0);
const g = spawnSync(process.execPath, [generator], { stdio: 'inherit', cwd: root });
process.exit(g.status ?? 1);
