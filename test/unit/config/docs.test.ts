// The configuration reference in docs/configuration.md is generated from config/schema.json; a stale one fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

test('docs/configuration.md reference matches config/schema.json', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'genConfigDoc.js'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
