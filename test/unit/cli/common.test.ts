// Usage errors in the CLI's words: an unknown option names the nearest known one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandArgs, UsageError } from '../../../src/cli/common';

const OPTIONS = { input: { type: 'string' }, config: { type: 'string', short: 'c' }, 'time-unit': { type: 'string' } } as const;

function messageOf(args: string[]): string {
  try {
    parseCommandArgs(args, OPTIONS, 'usage');
  } catch (err) {
    assert.ok(err instanceof UsageError);
    assert.equal(err.usage, 'usage');
    return err.message;
  }
  assert.fail('no usage error');
}

void test('an unknown option suggests the nearest one, or nothing when none is near', () => {
  assert.equal(messageOf(['--inptu', 'x.csv']), "Unknown option '--inptu'; did you mean --input?");
  assert.equal(messageOf(['--timeunit=s']), "Unknown option '--timeunit'; did you mean --time-unit?");
  assert.equal(messageOf(['-input', 'x']), "Unknown option '-i'", 'Node reads -input as -i -n ...: too short to guess from');
  assert.equal(messageOf(['--frobnicate']), "Unknown option '--frobnicate'");
  assert.equal(messageOf(['-x']), "Unknown option '-x'");
});

void test('a missing option value says which option needs one', () => {
  assert.equal(messageOf(['--input']), 'Option --input needs a value');
  assert.equal(messageOf(['-c']), 'Option --config needs a value');
});

test('a closed stdout runs the handler a command registered (the daemon stops as on SIGTERM), once', async () => {
  const { onStdoutClosed, runStdoutClosedHandler } = await import('../../../src/cli/common');
  let stops = 0;
  onStdoutClosed(() => stops++);
  assert.equal(runStdoutClosedHandler(), true);
  assert.equal(runStdoutClosedHandler(), true);
  assert.equal(stops, 1);
});
