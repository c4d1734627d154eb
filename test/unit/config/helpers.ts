// Shared helpers of the config tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { ConfigError } from '../../../src/core/errors';
import { loadConfigText } from '../../../src/config/load';

/** Repository root, from build/test/unit/config. */
export const ROOT = path.resolve(__dirname, '../../../..');

/** The problems of a configuration that must fail; fails the test when it loads. */
export function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfigText(text, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.file, 'test.yaml');
    return [...err.problems];
  }
  assert.fail('configuration was accepted');
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'anomalyd-config-test-'));
}
