// The broker's $SYS drop count turned into counter increases (see src/sources/brokerDrops.ts): a retained count
// before the first uptime of a connection is the baseline, a quiet broker's first change is not counted, an
// uptime going down is a broker restart (count back to 0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerDropTracker, parseSysCount } from '../../../src/sources/brokerDrops';

test('a retained count (before the uptime) is the baseline: reported as before_watch when > 0; later rises are counted', () => {
  const t = new BrokerDropTracker();
  t.connected();
  assert.equal(t.dropped(259), null, 'held until the uptime says the retained messages are in');
  assert.deepEqual(t.uptime(800), { kind: 'before_watch', increase: 259, brokerCount: 259 });
  assert.equal(t.dropped(259), null, 'unchanged');
  assert.deepEqual(t.dropped(300), { kind: 'new', increase: 41, brokerCount: 300 });
  assert.equal(t.uptime(801), null);

  const fresh = new BrokerDropTracker();
  fresh.connected();
  assert.equal(fresh.dropped(0), null);
  assert.equal(fresh.uptime(3), null, 'a zero count reports nothing');
  assert.deepEqual(fresh.dropped(5), { kind: 'new', increase: 5, brokerCount: 5 });
});

test('no retained count (quiet for a minute): the first change is reported but not counted, the next ones are', () => {
  const t = new BrokerDropTracker();
  t.connected();
  assert.equal(t.uptime(5000), null);
  assert.deepEqual(t.dropped(120), { kind: 'unknown_start', increase: 120, brokerCount: 120 });
  assert.deepEqual(t.dropped(130), { kind: 'new', increase: 10, brokerCount: 130 });
});

test('a reconnect keeps the baseline; a broker restart (uptime went down) counts the whole new count, in either order', () => {
  const t = new BrokerDropTracker();
  t.connected();
  t.dropped(40);
  t.uptime(100);
  // Reconnect without a restart: the retained count continues from 40.
  t.connected();
  assert.equal(t.dropped(45), null);
  assert.deepEqual(t.uptime(130), { kind: 'new', increase: 5, brokerCount: 45 });
  // Restart: the new life's count (60, above the old 45) is all new; the retained count arrives before the uptime.
  t.connected();
  assert.equal(t.dropped(60), null);
  assert.deepEqual(t.uptime(2), { kind: 'new', increase: 60, brokerCount: 60 });
  // Restart with no retained count: baseline 0, the next count is all new.
  t.connected();
  assert.equal(t.uptime(1), null);
  assert.deepEqual(t.dropped(7), { kind: 'new', increase: 7, brokerCount: 7 });
});

test('without an uptime topic: settle() after the wait; a lower count is a restart', () => {
  const t = new BrokerDropTracker();
  t.connected();
  t.dropped(100);
  assert.deepEqual(t.settle(), { kind: 'before_watch', increase: 100, brokerCount: 100 });
  assert.equal(t.settle(), null, 'once');
  assert.deepEqual(t.dropped(7), { kind: 'new', increase: 7, brokerCount: 7 });
});

test('parseSysCount takes decimal text (and uptime\'s "N seconds"), nothing else', () => {
  assert.equal(parseSysCount(Buffer.from('259')), 259);
  assert.equal(parseSysCount(' 0\n'), 0);
  assert.equal(parseSysCount('814 seconds'), 814);
  for (const bad of ['', '-1', '1.5', 'abc', '12 minutes', '1e3', '9'.repeat(16)]) assert.equal(parseSysCount(bad), null, bad);
});
