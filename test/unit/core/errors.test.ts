import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asError, errorMessage, InputError } from '../../../src/core/errors';

test('errorMessage gives an Error\'s message and any other thrown value as text', () => {
  assert.equal(errorMessage(new InputError('data.csv:3: not a number')), 'data.csv:3: not a number');
  assert.equal(errorMessage('plain string'), 'plain string');
  assert.equal(errorMessage(42), '42');
  assert.equal(errorMessage(undefined), 'undefined');
});

test('asError keeps an Error and wraps anything else', () => {
  const e = new RangeError('out of range');
  assert.equal(asError(e), e);
  const wrapped = asError('timeout');
  assert.ok(wrapped instanceof Error);
  assert.equal(wrapped.message, 'timeout');
});
