// The idiom rules of eslint.idioms.mjs fire: planted code that says a common thing the other way is an error,
// and the house way is not. Linted with those rules alone, as if the code were a file at the given path.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: path.join(ROOT, 'eslint.idioms.mjs') });
const FILE = path.join(ROOT, 'src/app/planted.ts');

async function errors(code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: FILE });
  return result.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const BAD: readonly (readonly [code: string, why: string])[] = [
  ['export const f = (err: unknown): string => (err as Error).message;\n', '(err as Error).message'],
  ['export const f = (err: unknown): string => (err as NodeJS.ErrnoException).message;\n', 'a cast to another error type'],
  ['export const f = (err: unknown): string => (err instanceof Error ? err.message : String(err));\n', 'instanceof Error ? message : String'],
  ['export const f = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));\n', 'instanceof Error ? err : new Error'],
  ["ctx.log.info('Loaded model', { model });\n", 'a log message without its final period'],
  ['this.deps.ctx.log.warn(`Input held back: ${reason}`);\n', 'a template log message without its final period'],
  ["log.info(firing ? 'Alert firing.' : 'Alert resolved', fields);\n", 'a conditional log message with a branch without its period'],
  ["opts.log?.error('Cannot serve telemetry request', { path });\n", 'an optional call of a log message without its period'],
];

for (const [code, why] of BAD) {
  test(`lint fails on ${why}`, async () => {
    const found = await errors(code);
    assert.equal(found.length, 1, `${code}-> ${found.join('\n') || 'no error'}`);
  });
}

test('lint passes the helpers of core/errors.ts, typed errors and log messages that end with a period', async () => {
  const code = [
    "import { asError, errorMessage } from '../core/errors';",
    'export const f = (err: unknown): string => errorMessage(err);',
    'export const g = (err: unknown): Error => asError(err);',
    'export const h = (err: Error): string => err.message;',
    "export const code = (err: unknown): unknown => (err as NodeJS.ErrnoException).code;",
    "ctx.log.info('Loaded model.', { model });",
    'this.deps.ctx.log.warn(`Input held back: ${reason}.`);',
    "log.info(firing ? 'Alert firing.' : 'Alert resolved.', fields);",
    "console.error('Not a log of ours');",
    '',
  ].join('\n');
  assert.deepEqual(await errors(code), []);
});
