// The broker's $SYS drop count turned into counter increases: first count = before anomalyd watched, a lower
// count = the broker restarted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerDropTracker, parseSysCount } from '../../../src/sources/brokerDrops';

test('first count is reported as before-watch (only when > 0); later rises are increases', () => {
  const t = new BrokerDropTracker();
  assert.deepEqual(t.observe(259), { increase: 259, brokerCount: 259, beforeWatch: true });
  assert.equal(t.observe(259), null, 'unchanged');
  assert.deepEqual(t.observe(300), { increase: 41, brokerCount: 300, beforeWatch: false });
  const fresh = new BrokerDropTracker();
  assert.equal(fresh.observe(0), null);
  assert.deepEqual(fresh.observe(5), { increase: 5, brokerCount: 5, beforeWatch: false });
});

test('a lower count means the broker restarted: the whole new count is new drops', () => {
  const t = new BrokerDropTracker();
  t.observe(100);
  assert.deepEqual(t.observe(7), { increase: 7, brokerCount: 7, beforeWatch: false });
  assert.equal(t.observe(0) ?? 'none', 'none', 'a restart with nothing dropped yet');
  assert.deepEqual(t.observe(3), { increase: 3, brokerCount: 3, beforeWatch: false });
});

test('parseSysCount takes decimal text and nothing else', () => {
  assert.equal(parseSysCount(Buffer.from('259')), 259);
  assert.equal(parseSysCount(' 0\n'), 0);
  for (const bad of ['', '-1', '1.5', 'abc', '12 seconds', '1e3', '9'.repeat(16)]) assert.equal(parseSysCount(bad), null, bad);
});
