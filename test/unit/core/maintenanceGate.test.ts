import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { daemonAlertNotice } from '../../../src/core/daemonAlert';
import { MaintenanceCalendar, type MaintenanceWindow } from '../../../src/core/maintenance';
import { MaintenanceGate } from '../../../src/core/maintenanceGate';

const window = (id: string, start: number, end: number, selector: MaintenanceWindow['selector'] = {}): MaintenanceWindow => ({
  id, reason: `planned ${id}`, selector, origin: 'api', createdBy: 'test', start, end,
});

function setup(): { cal: MaintenanceCalendar; gate: MaintenanceGate } {
  const cal = new MaintenanceCalendar();
  let sequence = 100;
  return { cal, gate: new MaintenanceGate(cal, () => ++sequence) };
}

const firing = (stream: string, at: number, labels: Record<string, string> = {}): AlertNotice => ({
  ...daemonAlertNotice({ stream, kind: 'anomaly', startsAt: at, sequence: 1, detail: '' }),
  detail: undefined,
  labels,
});
const resolved = (n: AlertNotice, at: number): AlertNotice => ({ ...n, status: 'resolved', endsAt: at, sequence: n.sequence + 1 });

test('outside any window a notice passes unmarked', () => {
  const { cal, gate } = setup();
  cal.set(window('w', 0, 100, { streams: ['line1/*'] }));
  cal.tick(50);
  const n = firing('line2/pump', 50);
  assert.equal(gate.judge(n), n);
  assert.equal(gate.judge(resolved(n, 60)).maintenance, undefined);
  assert.equal(gate.heldCount, 0);
});

test('an alert firing and resolving inside a window is held, both notices marked, nothing released', () => {
  const { cal, gate } = setup();
  cal.set(window('w', 0, 100));
  cal.tick(10);
  const n = firing('s', 10);
  assert.equal(gate.judge(n).maintenance, 'w');
  assert.equal(gate.judge(resolved(n, 20)).maintenance, 'w');
  cal.tick(100);
  assert.deepEqual(gate.release(), []);
});

test('a fault that outlasts the window pages once when it closes, naming the window; its resolve then pages too', () => {
  const { cal, gate } = setup();
  cal.set(window('w', 0, 100, { labels: { line: 'l1' } }));
  cal.tick(10);
  const n = firing('s', 10, { line: 'l1' });
  gate.judge(n);
  cal.tick(50);
  assert.deepEqual(gate.release(), [], 'still inside');
  cal.tick(100);
  const [page, ...rest] = gate.release();
  assert.equal(rest.length, 0);
  assert.equal(page.status, 'firing');
  assert.equal(page.maintenance, undefined);
  assert.equal(page.fingerprint, n.fingerprint);
  assert.equal(page.startsAt, 10, 'the same episode');
  assert.equal(page.sequence, 101, 'a new sequence number');
  assert.match(page.maintenanceEnded ?? '', /still firing when maintenance window 'w' \(planned w\) ended/);
  assert.deepEqual(gate.release(), [], 'once');
  assert.equal(gate.judge(resolved(n, 120)).maintenance, undefined, 'the pager saw it fire, so it sees it resolve');
});

test('a held alert passes to an overlapping window that is still open, and pages when the last one closes', () => {
  const { cal, gate } = setup();
  cal.set(window('a', 0, 100));
  cal.set(window('b', 50, 200));
  cal.tick(10);
  gate.judge(firing('s', 10));
  cal.tick(100);
  assert.deepEqual(gate.release(), []);
  assert.equal(gate.snapshot()[0].maintenance, 'b');
  cal.tick(200);
  assert.match(gate.release()[0].maintenanceEnded ?? '', /window 'b'/);
});

test('a window deleted early releases its held alerts at the next tick', () => {
  const { cal, gate } = setup();
  cal.set(window('w', 0, 1000));
  cal.tick(10);
  gate.judge(firing('s', 10));
  cal.delete('w');
  cal.tick(20);
  assert.equal(gate.release().length, 1);
});

test('held alerts survive a restart through snapshot and restore', () => {
  const first = setup();
  first.cal.set(window('w', 0, 100));
  first.cal.tick(10);
  first.gate.judge(firing('s', 10));
  const saved = JSON.parse(JSON.stringify(first.gate.snapshot())) as AlertNotice[];
  const second = setup();
  second.cal.set(window('w', 0, 100));
  second.gate.restore(saved);
  second.cal.tick(50);
  assert.deepEqual(second.gate.release(), []);
  second.cal.tick(100);
  assert.equal(second.gate.release().length, 1);
});
