// scripts/prepare.js (npm's `prepare`): compiles where TypeScript is installed, keeps a built dist/ in a
// production install (--omit=dev) instead of failing on `tsc: not found`, says what to do when neither exists,
// and leaves `npm pack` to `prepack`. Run on a copy of the script in a directory without node_modules.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const SCRIPT = path.resolve(__dirname, '../../../scripts/prepare.js');

function prepareIn(withDist: boolean, env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'anomalyd-prepare-'));
  try {
    mkdirSync(path.join(root, 'scripts'));
    copyFileSync(SCRIPT, path.join(root, 'scripts', 'prepare.js'));
    if (withDist) {
      mkdirSync(path.join(root, 'dist'));
      writeFileSync(path.join(root, 'dist', 'main.js'), '');
    }
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prepare.js')], {
      cwd: root,
      env: { ...process.env, npm_command: 'ci', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('without TypeScript, a built dist/ is kept', () => {
  const r = prepareIn(true);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /using the dist\/ already built/);
});

test('without TypeScript and without dist/, it fails saying how to get a runnable install', () => {
  const r = prepareIn(false);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /dist\/ is not built and TypeScript is not installed/);
  assert.match(r.stderr, /npm pack/);
});

test('under npm pack it leaves the build to prepack', () => {
  assert.equal(prepareIn(false, { npm_command: 'pack' }).status, 0);
});
