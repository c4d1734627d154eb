import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../../src/config/load';
import { maintenanceWindows } from '../../../src/config/maintenance';
import { parseDuration } from '../../../src/config/duration';
import { MaintenanceCalendar, isRecurring } from '../../../src/core/maintenance';
import { problemsOf } from './helpers';

test('maintenance: one-off and recurring windows load into the calendar as written', () => {
  const config = loadConfigText(
    [
      'maintenance:',
      '  - id: valve-swap',
      '    reason: valve 3 replaced',
      '    streams: ["line1/*"]',
      '    start: "2026-12-10T06:00:00+01:00"',
      '    end: "2026-12-10T10:00:00+01:00"',
      '  - id: cleaning',
      '    reason: CIP cleaning',
      '    labels: { line: line2 }',
      '    cron: "0 6 * * 1"',
      '    time_zone: Europe/Berlin',
      '    duration: 90m',
      '',
    ].join('\n'),
    'test.yaml',
    {},
  );
  const [swap, cleaning] = maintenanceWindows(config);
  assert.ok(!isRecurring(swap) && isRecurring(cleaning));
  if (isRecurring(swap) || !isRecurring(cleaning)) return;
  assert.deepEqual([swap.start, swap.end], [Date.parse('2026-12-10T05:00:00Z'), Date.parse('2026-12-10T09:00:00Z')]);
  assert.deepEqual(swap.selector, { streams: ['line1/*'] });
  assert.equal(cleaning.durationMs, 90 * 60_000);
  assert.deepEqual(cleaning.selector, { labels: { line: 'line2' } });
  const cal = new MaintenanceCalendar();
  for (const w of maintenanceWindows(config)) cal.set(w);
  cal.tick(Date.parse('2026-12-07T05:30:00Z'));
  assert.equal(cal.covering('line2/pump', { line: 'line2' })?.window.id, 'cleaning', 'Monday 06:30 Berlin');
  assert.equal(cal.covering('line1/pump', { line: 'line1' }), null);
  cal.tick(Date.parse('2026-12-10T05:30:00Z'));
  assert.equal(cal.covering('line1/pump', {})?.window.id, 'valve-swap');
});

test('maintenance: a window that is neither, both, half, backwards, or badly scheduled is refused naming the field', () => {
  const one = (body: string): string[] => problemsOf(`maintenance:\n  - id: w\n    reason: r\n${body}`);
  assert.deepEqual(one(''), ['maintenance[0].start: is required (with end) for a one-off window; a recurring one needs cron and duration (got nothing)']);
  assert.deepEqual(one('    start: "2026-12-10T06:00:00Z"\n'), ['maintenance[0].end: is required with start (got nothing)']);
  assert.deepEqual(one('    start: "2026-12-10T06:00:00Z"\n    end: "2026-12-10T05:00:00Z"\n'), ['maintenance[0].end: must be after start (2026-12-10T06:00:00Z) (got "2026-12-10T05:00:00Z")']);
  assert.deepEqual(one('    start: "2026-12-10T06:00:00Z"\n    end: "2026-12-10T07:00:00Z"\n    cron: "0 6 * * 1"\n'), ['maintenance[0].cron: a window is either one-off (start, end) or recurring (cron, duration), not both (got nothing)']);
  assert.deepEqual(one('    cron: "0 6 * * 1"\n'), ['maintenance[0].duration: is required for a recurring window (got nothing)']);
  assert.match(one('    cron: "61 6 * * 1"\n    duration: 1h\n')[0], /^maintenance\[0\]\.cron: is not valid: cron "61 6 \* \* 1": .*minute/);
  assert.match(one('    cron: "0 6 * * 1"\n    duration: 1h\n    time_zone: Mars/Base\n')[0], /^maintenance\[0\]\.time_zone: is not valid: time zone "Mars\/Base"/);
  assert.match(one('    start: "2026-12-10 06:00"\n    end: "2026-12-10T07:00:00Z"\n')[0], /^maintenance\[0\]\.start: must be an ISO 8601 time with a zone/);
  assert.match(one('    cron: "0 6 * * 1"\n    duration: 2 hours\n')[0], /^maintenance\[0\]\.duration: must be a duration such as "90m"/);
  const dup = problemsOf('maintenance:\n  - { id: w, reason: r, start: "2026-12-10T06:00:00Z", end: "2026-12-10T07:00:00Z" }\n  - { id: w, reason: r, start: "2026-12-11T06:00:00Z", end: "2026-12-11T07:00:00Z" }\n');
  assert.deepEqual(dup, ['maintenance[1].id: is used by an earlier window (got "w")']);
});

test('durations: a number and one unit', () => {
  assert.deepEqual(['250ms', '90s', '90m', '2h', '7d', '1.5h'].map(parseDuration), [250, 90_000, 5_400_000, 7_200_000, 604_800_000, 5_400_000]);
  for (const bad of ['', '2', 'h', '2 h', '-1h', '1w']) assert.throws(() => parseDuration(bad), /is not a duration/, bad);
});

test('http.admin_token: from a file like every secret, never shown, and never the same as the read token', () => {
  const same = problemsOf('http:\n  token: "same-token-1234567"\n  admin_token: "same-token-1234567"\n');
  assert.deepEqual(same, ['http.admin_token: must differ from http.token (the read token would then make changes)']);
  const short = problemsOf('http:\n  admin_token: "short"\n');
  assert.equal(short.length, 1);
  assert.match(short[0], /^http\.admin_token: .*16/);
  assert.ok(!short[0].includes('"short"'), short[0]);
});
