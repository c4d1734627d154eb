// Every repository file a comment in src/ cites exists, so a move or a deletion cannot leave comments pointing
// at nothing. A cited path is a token with a known extension: with a folder (`sinks/influx/line.ts`,
// `config/default.yaml`) it must exist from the repository root, from src/ or from the citing file's folder,
// when its first folder is one of the repository's or src/'s (`state_dir/...` names no repository file); a bare
// `name.ts` must be some file of src/ or test/, a bare `NAME.md` a page at the root or in docs/. Bare .js,
// .json and .yaml names are left alone: they name packages (mqtt.js) and artifact files (model.json).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

const dirsOf = (dir: string): string[] => readdirSync(dir).filter((n) => !n.startsWith('.') && statSync(path.join(dir, n)).isDirectory());
const ROOTS = new Set([...dirsOf(ROOT), ...dirsOf(path.join(ROOT, 'src'))]);
const BASENAMES = new Set([...filesUnder(path.join(ROOT, 'src')), ...filesUnder(path.join(ROOT, 'test'))].map((f) => path.basename(f)));

/** Every comment of a TypeScript file, with its line (comments in template literals and regexes are not comments). */
function commentsOf(file: string, text: string): { line: number; text: string }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const seen = new Map<number, string>();
  const collect = (ranges: readonly ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node): void => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return [...seen].sort(([a], [b]) => a - b).map(([pos, body]) => ({ line: source.getLineAndCharacterOfPosition(pos).line + 1, text: body }));
}

const CITED = /(?<![\w./@<-])((?:[\w.-]+\/)*[\w-][\w.-]*\.(?:ts|js|mjs|cjs|json|ya?ml|md))(?![\w/-])/g;

/** Whether `token`, cited in `file`, names an existing file; null when it is not a repository path to check. */
function citedExists(token: string, file: string): boolean | null {
  if (token.includes('/')) {
    if (!ROOTS.has(token.split('/')[0])) return null;
    return [ROOT, path.join(ROOT, 'src'), path.dirname(file)].some((base) => existsSync(path.join(base, token)));
  }
  if (token.endsWith('.ts')) return BASENAMES.has(token);
  if (token.endsWith('.md')) return existsSync(path.join(ROOT, token)) || existsSync(path.join(ROOT, 'docs', token));
  return null;
}

test('every repository path a comment in src/ cites exists', () => {
  const missing: string[] = [];
  let checked = 0;
  for (const file of filesUnder(path.join(ROOT, 'src')).filter((f) => f.endsWith('.ts'))) {
    for (const comment of commentsOf(file, readFileSync(file, 'utf8'))) {
      for (const m of comment.text.matchAll(CITED)) {
        const exists = citedExists(m[1], file);
        if (exists === null) continue;
        checked++;
        if (!exists) missing.push(`${path.relative(ROOT, file)}:${comment.line + (comment.text.slice(0, m.index).match(/\n/g)?.length ?? 0)}: ${m[1]}`);
      }
    }
  }
  assert.ok(checked > 50, `the scan found the citations (${checked})`);
  assert.deepEqual(missing, [], 'comments citing files that do not exist');
});

test('the scan sees comments after template literals and ignores paths in strings and URLs', () => {
  const file = path.join(ROOT, 'src/app/planted.ts');
  const text = [
    '// see core/types.ts and gone/nowhere.ts, app/missing.ts',
    "const a = `x ${'y'} z`; // sinks/absent.ts",
    "const b = 'src/not/a/comment.ts';",
    '/** https://example.com/docs/page.md and ARCHITECTURE.md */',
    '',
  ].join('\n');
  const found = commentsOf(file, text).flatMap((c) => [...c.text.matchAll(CITED)].map((m) => [m[1], citedExists(m[1], file)]));
  assert.deepEqual(found, [
    ['core/types.ts', true],
    ['gone/nowhere.ts', null],
    ['app/missing.ts', false],
    ['sinks/absent.ts', false],
    ['ARCHITECTURE.md', false],
  ]);
});
