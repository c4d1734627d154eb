// Every relative link of README.md and docs/*.md must lead somewhere: the file (or folder) exists, and a heading
// anchor (`file.md#anchor`, `#anchor`) names a heading of that page. Anchors follow GitHub's rules: the
// heading's text lower-cased, punctuation other than '-' and '_' removed, each space a '-', and a repeated
// heading gets -1, -2... Links inside code (fenced blocks, `spans`) are not links and are left alone.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');

/** README.md and every page of docs/, relative to the repository root. */
function pages(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** The lines of a page outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((line, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      const marker = m[1] ?? '';
      if (fence === null) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      return;
    }
    if (fence === null) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's anchor for a heading's text. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/`/g, '')
    .replace(/<[^>]+>/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page's headings make, duplicates numbered as GitHub numbers them. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(markdown)) {
    const m = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1] ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** The relative link targets of a page (no scheme), with their line numbers. */
export function relativeLinks(markdown: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  for (const { line, n } of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      out.push({ target, n });
    }
  }
  return out;
}

/** Every link of `files` (relative to `root`) that leads nowhere, as "file:line: target (why)". */
export function brokenLinks(root: string, files: readonly string[]): string[] {
  const read = (file: string): string | null => {
    try {
      return readFileSync(path.join(root, file), 'utf8');
    } catch {
      return null;
    }
  };
  const anchorCache = new Map<string, Set<string> | null>();
  const anchorsOf = (file: string): Set<string> | null => {
    if (!anchorCache.has(file)) {
      const text = read(file);
      anchorCache.set(file, text === null ? null : anchors(text));
    }
    return anchorCache.get(file) ?? null;
  };
  const problems: string[] = [];
  for (const file of files) {
    const text = read(file);
    if (text === null) {
      problems.push(`${file}: cannot be read`);
      continue;
    }
    for (const { target, n } of relativeLinks(text)) {
      const hash = target.indexOf('#');
      const linkPath = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
      const dest = linkPath === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), linkPath));
      if (dest.startsWith('../') || !existsSync(path.join(root, dest))) {
        problems.push(`${file}:${n}: ${target} (no such file: ${dest})`);
        continue;
      }
      if (anchor === null || !dest.endsWith('.md')) continue;
      if (!anchorsOf(dest)?.has(anchor)) problems.push(`${file}:${n}: ${target} (no heading makes #${anchor} in ${dest})`);
    }
  }
  return problems;
}

test('every relative link and heading anchor in README.md and docs/*.md resolves', () => {
  const files = pages();
  assert.ok(files.length >= 6, `expected README.md and the docs pages, found ${files.join(', ')}`);
  assert.deepEqual(brokenLinks(ROOT, files), []);
});

test('anchors follow GitHub: lower case, punctuation dropped, spaces to -, repeats numbered', () => {
  assert.equal(slug('Which broker `run` uses'), 'which-broker-run-uses');
  assert.equal(slug("Connect to the plant's broker"), 'connect-to-the-plants-broker');
  assert.equal(slug('The default of auto-learning streams (`auto_learn`)'), 'the-default-of-auto-learning-streams-auto_learn');
  assert.equal(slug('`anomalyd run [-c FILE]`'), 'anomalyd-run--c-file');
  assert.equal(slug('ECG5000 and ECG200 (UCR archive)'), 'ecg5000-and-ecg200-ucr-archive');
  assert.deepEqual([...anchors('# A\n## Setup\n```\n# not a heading\n```\n### Setup\n## Setup ##\n')], ['a', 'setup', 'setup-1', 'setup-2']);
});

test('a missing file and a missing anchor are reported; links in code and absolute URLs are not links', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'anomalyd-docs-links-'));
  try {
    mkdirSync(path.join(root, 'docs'));
    writeFileSync(path.join(root, 'README.md'), [
      '# Top',
      'See [the guide](docs/guide.md#install), [gone](docs/gone.md), [bad anchor](docs/guide.md#nope),',
      '[here](#top), [there](#elsewhere), [web](https://example.com/x#y) and `[code](nowhere.md)`.',
      '```',
      '[in a fence](nowhere.md)',
      '```',
    ].join('\n'));
    writeFileSync(path.join(root, 'docs', 'guide.md'), '# Guide\n## Install\nBack to [the top](../README.md#top), [not](../README.md#missing).\n');
    assert.deepEqual(brokenLinks(root, ['README.md', 'docs/guide.md']), [
      'README.md:2: docs/gone.md (no such file: docs/gone.md)',
      'README.md:2: docs/guide.md#nope (no heading makes #nope in docs/guide.md)',
      'README.md:3: #elsewhere (no heading makes #elsewhere in README.md)',
      'docs/guide.md:3: ../README.md#missing (no heading makes #missing in README.md)',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
