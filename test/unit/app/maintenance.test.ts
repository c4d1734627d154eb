import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Maintenance, maintenancePoints } from '../../../src/app/maintenance';
import { daemonAlertNotice } from '../../../src/core/daemonAlert';
import type { MaintenanceWindow } from '../../../src/core/maintenance';
import { MaintenanceFile } from '../../../src/state/maintenanceFile';
import { testContext } from '../../helpers/context';

const T0 = Date.parse('2026-12-10T06:00:00Z');
const H = 3_600_000;

async function setup(dir?: string): Promise<{ m: Maintenance; clock: { now: number }; dir: string; changes: string[]; log: ReturnType<typeof testContext> }> {
  const d = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'anomalyd-maintenance-')));
  const clock = { now: T0 };
  const changes: string[] = [];
  const log = testContext('maintenance');
  let sequence = 0;
  const m = new Maintenance({
    file: new MaintenanceFile(d, log.ctx.log),
    log: log.ctx.log,
    now: () => clock.now,
    nextSequence: () => ++sequence,
    changed: (c) => changes.push(...c.opened.map((o) => `opened ${o.window.id}`), ...c.closed.map((o) => `closed ${o.window.id}`)),
  });
  return { m, clock, dir: d, changes, log };
}

const configWindow: MaintenanceWindow = { id: 'cfg', reason: 'from the file', selector: { streams: ['line1/*'] }, origin: 'config', createdBy: 'config', start: T0 + H, end: T0 + 2 * H };

test('an API window covers at once, is saved before add resolves, and comes back after a restart', async () => {
  const { m, dir, changes } = await setup();
  await m.start([configWindow]);
  const added = await m.add({ streams: ['line2/**'], labels: {}, start: T0, end: T0 + H, reason: 'valve swap' }, 'admin');
  assert.ok(!('refused' in added));
  if ('refused' in added) return;
  assert.match(added.id, /^mw-20261210-0600-[0-9a-f]{4}$/);
  assert.deepEqual(added.open, { start: '2026-12-10T06:00:00.000Z', end: '2026-12-10T07:00:00.000Z' });
  assert.equal(m.calendar.covering('line2/a/pump', {})?.window.id, added.id, 'covers without waiting for a tick');
  assert.deepEqual(changes, [`opened ${added.id}`]);
  const saved = JSON.parse(await readFile(path.join(dir, 'maintenance.json'), 'utf8')) as { windows: { id: string }[] };
  assert.deepEqual(saved.windows.map((w) => w.id), [added.id], 'the config window is not written');

  const again = await setup(dir);
  await again.m.start([configWindow]);
  assert.deepEqual(again.m.list().map((w) => [w.id, w.origin]), [['cfg', 'config'], [added.id, 'api']]);
});

test('ending: an API window ends at once and its held alerts page at the next tick; a config window is refused', async () => {
  const { m, clock } = await setup();
  await m.start([configWindow]);
  const added = await m.add({ streams: ['**'], labels: {}, start: T0, end: T0 + 4 * H, reason: 'cleaning' }, 'admin');
  if ('refused' in added) return assert.fail(added.refused);
  m.gate.judge(daemonAlertNotice({ stream: 'line3/x', kind: 'anomaly', startsAt: T0, sequence: 1, detail: 'd' }));
  clock.now = T0 + H / 2;
  assert.deepEqual(m.tick(), []);
  assert.equal(await m.end('cfg', 'admin'), 'config');
  assert.equal(await m.end('nope', 'admin'), 'unknown');
  assert.equal(await m.end(added.id, 'admin'), 'ended');
  const pages = m.tick();
  assert.equal(pages.length, 1);
  assert.match(pages[0].maintenanceEnded ?? '', /^still firing when maintenance window 'mw-.*' \(cleaning\) ended$/);
});

test('an API window that ended is forgotten, in memory and in the file', async () => {
  const { m, clock, dir } = await setup();
  await m.start([]);
  await m.add({ streams: ['**'], labels: {}, start: T0, end: T0 + H, reason: 'short' }, 'admin');
  clock.now = T0 + H;
  m.tick();
  assert.deepEqual(m.list(), []);
  await m.add({ streams: ['**'], labels: {}, start: T0 + 2 * H, end: T0 + 3 * H, reason: 'later' }, 'admin');
  const saved = JSON.parse(await readFile(path.join(dir, 'maintenance.json'), 'utf8')) as { windows: { reason: string }[] };
  assert.deepEqual(saved.windows.map((w) => w.reason), ['later']);
});

test('a reload replaces the config windows and keeps the API ones', async () => {
  const { m } = await setup();
  await m.start([configWindow]);
  await m.add({ streams: ['**'], labels: {}, start: T0, end: T0 + H, reason: 'api' }, 'admin');
  m.setConfigWindows([{ ...configWindow, id: 'cfg2' }]);
  assert.deepEqual(m.list().map((w) => w.id).filter((id) => !id.startsWith('mw-')), ['cfg2']);
  assert.equal(m.list().length, 2);
});

test('a damaged maintenance file is set aside and reported; the daemon starts without API windows', async () => {
  const { m, dir, log } = await setup();
  await writeFile(path.join(dir, 'maintenance.json'), '{"format":1,"windows":[tru');
  await m.start([configWindow]);
  assert.deepEqual(m.list().map((w) => w.id), ['cfg']);
  assert.ok((await readdir(dir)).some((f) => f.startsWith('maintenance.json.corrupt-')));
  assert.equal(log.logs.filter((l) => l.level === 'error').length, 1);
});

test('held alerts are saved as they change and taken up after a restart: the page still comes at the window end', async () => {
  const first = await setup();
  await first.m.start([]);
  const w = await first.m.add({ streams: ['**'], labels: {}, start: T0, end: T0 + H, reason: 'swap' }, 'admin');
  if ('refused' in w) return assert.fail(w.refused);
  const held = first.m.judge(daemonAlertNotice({ stream: 's', kind: 'anomaly', startsAt: T0, sequence: 1, detail: 'd' }));
  assert.equal(held.maintenance, w.id);
  assert.equal(first.m.holds(held.fingerprint), true);
  await first.m.settled();
  const again = await setup(first.dir);
  await again.m.start([]);
  assert.equal(again.m.holds(held.fingerprint), true, 'held after the restart');
  again.clock.now = T0 + H;
  const pages = again.m.tick();
  assert.equal(pages.length, 1);
  assert.equal(pages[0].fingerprint, held.fingerprint);
  await again.m.settled();
  const third = await setup(first.dir);
  third.clock.now = T0 + H;
  await third.m.start([]);
  assert.equal(third.m.holds(held.fingerprint), false, 'let go once paged, and saved so');
});

test('InfluxDB points of a window: the opening at its start with its planned end, the closing when it closed', () => {
  const o = { window: configWindow, start: T0 + H, end: T0 + 2 * H };
  const early = maintenancePoints({ opened: [], closed: [o] }, T0 + 1.5 * H);
  assert.deepEqual(early, [{ kind: 'maintenance', time: T0 + 1.5 * H, tags: { window: 'cfg' }, fields: { state: 'closed', reason: 'from the file', origin: 'config', streams: 'line1/*', labels: '' } }]);
  const [opened] = maintenancePoints({ opened: [o], closed: [] }, T0 + H + 5);
  assert.equal(opened.time, T0 + H);
  assert.equal(opened.fields['end'], T0 + 2 * H);
  assert.equal(maintenancePoints({ opened: [], closed: [o] }, T0 + 3 * H)[0].time, T0 + 2 * H, 'a window closed at its end is stamped with it');
});

