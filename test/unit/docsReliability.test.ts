// docs/reliability.md names, for each guarantee, the test that shows it. A renamed or deleted test would leave the
// guarantee unbacked while the page still cites it: every cited file must exist and every quoted test name (the
// start of it, before "...") must be the start of a test name in that file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');
const DOC = path.join(ROOT, 'docs', 'reliability.md');

/** Each table row's test cell: `dir/file.test.ts` optionally followed by "name prefix ...", comma separated. */
function citations(markdown: string): { file: string; prefix: string | null }[] {
  const out: { file: string; prefix: string | null }[] = [];
  for (const row of markdown.split('\n').filter((l) => l.startsWith('|') && !l.startsWith('|---') && !l.startsWith('| guarantee'))) {
    const cell = row.split('|').slice(-2, -1)[0] ?? '';
    for (const m of cell.matchAll(/`((?:unit|integration|e2e)\/[^`]+\.test\.ts)`(?:\s+"([^"]+)")?/g)) {
      out.push({ file: m[1], prefix: m[2] ? m[2].replace(/\s*\.\.\.$/, '') : null });
    }
  }
  return out;
}

test('every test docs/reliability.md cites exists, with the named test in it', () => {
  const cited = citations(readFileSync(DOC, 'utf8'));
  assert.ok(cited.length >= 20, `expected the page to cite its tests, found ${cited.length}`);
  for (const { file, prefix } of cited) {
    const source = path.join(ROOT, 'test', file);
    assert.ok(existsSync(source), `docs/reliability.md cites ${file}, which does not exist`);
    if (prefix === null) continue;
    const text = readFileSync(source, 'utf8');
    assert.ok(text.includes(`test('${prefix}`), `docs/reliability.md cites "${prefix} ..." in ${file}, which has no test starting so`);
  }
});
