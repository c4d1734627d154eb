import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmUpFetch } from '../../../src/sinks/fetchWarmUp';

void test('the fetch warm-up settles in-process (a data: URL, no network) and runs once per process', async () => {
  const first = warmUpFetch();
  assert.equal(warmUpFetch(), first, 'one warm-up, however many sinks start');
  assert.equal(await first, undefined);
});
