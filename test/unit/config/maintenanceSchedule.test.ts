import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cronSchedule } from '../../../src/config/maintenanceSchedule';

const at = (iso: string): number => Date.parse(iso);

test('cron schedule: starts in the given time zone, a start exactly at t is the last one at or before t', () => {
  const s = cronSchedule('0 6 * * 1', 'Europe/Berlin');
  // 06:00 in Berlin is 05:00 UTC in winter.
  assert.equal(s.nextStartAfter(at('2026-12-06T00:00:00Z')), at('2026-12-07T05:00:00Z'));
  assert.equal(s.lastStartAtOrBefore(at('2026-12-07T05:00:00Z')), at('2026-12-07T05:00:00Z'));
  assert.equal(s.lastStartAtOrBefore(at('2026-12-07T04:59:59Z')), at('2026-11-30T05:00:00Z'));
  assert.equal(s.nextStartAfter(at('2026-12-07T05:00:00Z')), at('2026-12-14T05:00:00Z'));
  assert.equal(s.text, '0 6 * * 1 (Europe/Berlin)');
});

test('cron schedule: follows daylight saving time (06:00 local is 04:00 UTC in summer)', () => {
  const s = cronSchedule('0 6 * * *', 'Europe/Berlin');
  assert.equal(s.nextStartAfter(at('2026-07-01T00:00:00Z')), at('2026-07-01T04:00:00Z'));
});

test('cron schedule: a bad expression or time zone is refused naming it', () => {
  assert.throws(() => cronSchedule('61 6 * * 1'), /cron "61 6 \* \* 1": .*minute/);
  assert.throws(() => cronSchedule('0 6 * * 1', 'Mars/Base'), /time zone "Mars\/Base"/);
});
