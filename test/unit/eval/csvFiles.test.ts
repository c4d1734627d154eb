import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InputError } from '../../../src/core/errors';
import { csvFiles } from '../../../src/eval/csvFiles';

void test('csv files: natural order at each level, depth limit, other files ignored', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-csv-'));
  try {
    await mkdir(path.join(dir, 'b', 'deep'), { recursive: true });
    await mkdir(path.join(dir, 'a'));
    for (const f of ['top.csv', 'notes.txt', 'a/10.csv', 'a/2.csv', 'b/1.csv', 'b/deep/x.csv']) await writeFile(path.join(dir, f), 'x\n');
    const rel = (files: string[]): string[] => files.map((f) => path.relative(dir, f).split(path.sep).join('/'));
    assert.deepEqual(rel(await csvFiles(dir)), ['a/2.csv', 'a/10.csv', 'b/1.csv', 'b/deep/x.csv', 'top.csv']);
    assert.deepEqual(rel(await csvFiles(dir, 2)), ['a/2.csv', 'a/10.csv', 'b/1.csv', 'top.csv']);
    assert.deepEqual(rel(await csvFiles(dir, 1)), ['top.csv']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('csv files: a missing folder is an input error naming it', async () => {
  const missing = path.join(tmpdir(), 'anomalyd-no-such-folder-h5a');
  await assert.rejects(csvFiles(missing), (e: Error) => e instanceof InputError && e.message.includes(missing));
});
