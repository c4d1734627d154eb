#!/usr/bin/env node
// Writes config/schema.json from the compiled schema definition. Run `npm run build` first.
// `node scripts/genSchema.js --check` exits 1 (writing nothing) when the committed file is stale.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { renderSchemaJson } = require(path.join(root, 'dist', 'config', 'schemaJson.js'));
const target = path.join(root, 'config', 'schema.json');
const text = renderSchemaJson();
const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';

if (process.argv.includes('--check')) {
  if (current !== text) {
    process.stderr.write('config/schema.json is out of date; run: npm run build && node scripts/genSchema.js\n');
    process.exit(1);
  }
  process.stdout.write('config/schema.json is up to date\n');
} else if (current === text) {
  process.stdout.write('config/schema.json unchanged\n');
} else {
  fs.writeFileSync(target, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}
