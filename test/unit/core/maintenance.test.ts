import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MaintenanceCalendar, nextOccurrence, occurrenceAt, windowProblem, type MaintenanceWindow, type RecurrenceSchedule } from '../../../src/core/maintenance';

const H = 3_600_000;

/** Starts at every whole hour from `from` on (a stand-in for a cron schedule; core takes any schedule). */
function hourly(from = 0): RecurrenceSchedule {
  return {
    text: 'hourly',
    lastStartAtOrBefore: (t) => (t < from ? null : Math.floor(t / H) * H),
    nextStartAfter: (t) => Math.max(from, (Math.floor(t / H) + 1) * H),
  };
}

const oneOff = (id: string, start: number, end: number, selector: MaintenanceWindow['selector'] = {}): MaintenanceWindow => ({
  id, reason: `test ${id}`, selector, origin: 'api', createdBy: 'test', start, end,
});

test('a one-off window covers [start, end): the end itself is outside', () => {
  const w = oneOff('w', 1000, 2000);
  assert.equal(occurrenceAt(w, 999), null);
  assert.deepEqual(occurrenceAt(w, 1000), { window: w, start: 1000, end: 2000 });
  assert.deepEqual(occurrenceAt(w, 1999), { window: w, start: 1000, end: 2000 });
  assert.equal(occurrenceAt(w, 2000), null);
  assert.deepEqual(nextOccurrence(w, 0), { window: w, start: 1000, end: 2000 });
  assert.equal(nextOccurrence(w, 1000), null, 'the open occurrence is not the next one');
});

test('a recurring window is open for its duration after each start of its schedule', () => {
  const w: MaintenanceWindow = { id: 'r', reason: 'cleaning', selector: {}, origin: 'config', createdBy: 'config', schedule: hourly(2 * H), durationMs: 10 * 60_000 };
  assert.equal(occurrenceAt(w, H + 60_000), null, 'before the schedule begins');
  assert.deepEqual(occurrenceAt(w, 3 * H + 60_000), { window: w, start: 3 * H, end: 3 * H + 600_000 });
  assert.equal(occurrenceAt(w, 3 * H + 600_000), null, 'closed after its duration');
  assert.deepEqual(nextOccurrence(w, 3 * H + 60_000), { window: w, start: 4 * H, end: 4 * H + 600_000 });
});

test('windows that cannot be are refused with the reason', () => {
  assert.match(windowProblem(oneOff('w', 2000, 2000)) ?? '', /end .* must be after start/);
  assert.match(windowProblem(oneOff('w', Number.NaN, 2000)) ?? '', /must be times/);
  assert.match(windowProblem({ ...oneOff('', 1, 2) }) ?? '', /needs an id/);
  assert.match(windowProblem({ id: 'r', reason: '', selector: {}, origin: 'config', createdBy: 'config', schedule: hourly(), durationMs: 0 }) ?? '', /duration/);
  assert.throws(() => new MaintenanceCalendar().set(oneOff('bad', 5, 1)), /maintenance window 'bad': end/);
});

test('covering: stream globs and labels select, every label must match, no selector covers all', () => {
  const cal = new MaintenanceCalendar();
  cal.set(oneOff('line1', 0, 10 * H, { labels: { line: 'line1' } }));
  cal.set(oneOff('pumps', 0, 10 * H, { streams: ['site/*/pump*'], labels: { line: 'line2', shift: 'night' } }));
  cal.tick(H);
  assert.equal(cal.covering('site/a/press', { line: 'line1' })?.window.id, 'line1');
  assert.equal(cal.covering('site/a/pump3', { line: 'line2', shift: 'night' })?.window.id, 'pumps');
  assert.equal(cal.covering('site/a/pump3', { line: 'line2' }), null, 'one label missing');
  assert.equal(cal.covering('site/a/b/pump3', { line: 'line2', shift: 'night' }), null, '* is one level');
  assert.equal(cal.covering('other', {}), null);
  cal.set(oneOff('all', 0, 10 * H));
  cal.tick(2 * H);
  assert.equal(cal.covering('other', {})?.window.id, 'all');
});

test('covering picks the occurrence that closes last when windows overlap', () => {
  const cal = new MaintenanceCalendar();
  cal.set(oneOff('short', 0, 2 * H));
  cal.set(oneOff('long', H, 5 * H));
  cal.tick(1.5 * H);
  assert.equal(cal.covering('s', {})?.window.id, 'long');
});

test('tick reports each occurrence opening and closing once, a recurring one every time it comes round', () => {
  const cal = new MaintenanceCalendar();
  cal.set(oneOff('once', 10, 20));
  cal.set({ id: 'rec', reason: 'r', selector: {}, origin: 'config', createdBy: 'config', schedule: hourly(), durationMs: H / 2 });
  const ids = (c: { opened: readonly { window: { id: string }; start: number }[]; closed: readonly { window: { id: string }; start: number }[] }) => ({
    opened: c.opened.map((o) => `${o.window.id}@${o.start}`),
    closed: c.closed.map((o) => `${o.window.id}@${o.start}`),
  });
  assert.deepEqual(ids(cal.tick(5)), { opened: ['rec@0'], closed: [] });
  assert.deepEqual(ids(cal.tick(15)), { opened: ['once@10'], closed: [] });
  assert.deepEqual(ids(cal.tick(16)), { opened: [], closed: [] }, 'nothing twice');
  assert.deepEqual(ids(cal.tick(H / 2)), { opened: [], closed: ['once@10', 'rec@0'] });
  assert.deepEqual(ids(cal.tick(H + 1)), { opened: [`rec@${H}`], closed: [] });
  assert.equal(cal.openWindows().length, 1);
});

test('a deleted window stops covering at once and is reported closed at the next tick', () => {
  const cal = new MaintenanceCalendar();
  cal.set(oneOff('w', 0, 10 * H));
  cal.tick(H);
  assert.ok(cal.covering('s', {}));
  assert.equal(cal.delete('w'), true);
  assert.equal(cal.covering('s', {}), null);
  assert.deepEqual(cal.tick(H + 1).closed.map((o) => o.window.id), ['w']);
  assert.equal(cal.delete('w'), false);
});

test('replacing a window under its id closes the old occurrence and opens the new one', () => {
  const cal = new MaintenanceCalendar();
  cal.set(oneOff('w', 0, 10 * H));
  cal.tick(H);
  cal.set(oneOff('w', 0, 2 * H));
  const changes = cal.tick(H + 1);
  assert.deepEqual([changes.closed.map((o) => o.end), changes.opened.map((o) => o.end)], [[10 * H], [2 * H]]);
});

test('expired lists one-off windows that ended, never recurring ones', () => {
  const cal = new MaintenanceCalendar();
  cal.set(oneOff('past', 0, 10));
  cal.set(oneOff('future', 0, 100));
  cal.set({ id: 'rec', reason: 'r', selector: {}, origin: 'config', createdBy: 'config', schedule: hourly(), durationMs: 5 });
  assert.deepEqual(cal.expired(50).map((w) => w.id), ['past']);
});
