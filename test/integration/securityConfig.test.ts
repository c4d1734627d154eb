// Item 11 (issue 5), the CLI end of it: test/unit/config/yamlSafety.test.ts covers the loader (alias bombs, tags,
// merge keys, prototype keys, the 1 MiB limit). Here `anomalyd validate` and `anomalyd run` get a 10 MiB file and a
// hostile one with a custom tag: exit 1 with a clear message, quickly, and nothing executed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { MAIN } from '../helpers/faults';

const dir = mkdtempSync(path.join(tmpdir(), 'anomalyd-security-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a 10 MiB config: validate and run exit 1 naming the size limit, without parsing it', () => {
  const file = path.join(dir, 'big.yaml');
  writeFileSync(file, `http:\n  port: 1\n# ${'x'.repeat(10 * 1024 * 1024)}\n`);
  for (const cmd of ['validate', 'run']) {
    const started = Date.now();
    const r = spawnSync(process.execPath, [MAIN, cmd, '-c', file], { encoding: 'utf8', timeout: 30_000 });
    const ms = Date.now() - started;
    console.log(`[item 11] ${cmd} on a 10 MiB file: exit ${r.status} in ${ms} ms: ${(r.stderr + r.stdout).trim().split('\n')[0]}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr + r.stdout, /larger than the 1 MiB limit/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('a custom tag that would construct a function is refused and nothing runs', () => {
  const marker = path.join(dir, 'pwned');
  const file = path.join(dir, 'tag.yaml');
  writeFileSync(file, `http:\n  port: !!js/function "function(){require('fs').writeFileSync('${marker}','x')}"\nlog: !exec touch ${marker}\n`);
  const r = spawnSync(process.execPath, [MAIN, 'validate', '-c', file], { encoding: 'utf8', timeout: 30_000 });
  console.log(`[item 11] custom tags: exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 2).join(' | ')}`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /tag/i);
  assert.equal(existsSync(marker), false);
});
