// StateStore's state.json: assembled into a buffer kept between checkpoints, so a later, smaller state must
// read back as itself (no tail of the earlier one), and a restart restores exactly what was saved last.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { StateStore } from '../../../src/state/stateStore';
import { testContext } from '../../helpers/context';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-state-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('state.json written through a reused buffer: larger, then smaller, then larger state each read back exactly', async () => {
  const store = new StateStore(testContext('state').ctx, dir, 3_600_000);
  await store.start();
  const alert = (i: number) => ({ state: 'firing', since: 1_700_000_000_000 + i, note: `pump ${i} ü` });
  for (let i = 0; i < 200; i++) store.setAlertSnapshot(`line1/pump${i}`, alert(i));
  for (let i = 0; i < 200; i++) store.setCheckSnapshot(`line1/pump${i}`, { stall: i });
  await store.save();
  const first = JSON.parse(await readFile(store.file, 'utf8')) as { alerts: Record<string, unknown>; checks: Record<string, unknown> };
  assert.equal(Object.keys(first.alerts).length, 200);
  assert.deepEqual(first.alerts['line1/pump7'], alert(7));

  for (let i = 1; i < 200; i++) store.forgetStream(`line1/pump${i}`);
  await store.save();
  const second = JSON.parse(await readFile(store.file, 'utf8')) as { alerts: Record<string, unknown>; checks: Record<string, unknown> };
  assert.deepEqual(Object.keys(second.alerts), ['line1/pump0'], 'nothing of the earlier, larger state');
  assert.deepEqual(second.checks, { 'line1/pump0': { stall: 0 } });

  for (let i = 0; i < 400; i++) store.setAlertSnapshot(`line2/fan${i}`, alert(i));
  await store.stop();
  const restarted = new StateStore(testContext('state2').ctx, dir, 3_600_000);
  await restarted.start();
  assert.equal(restarted.savedStreams().length, 401);
  assert.deepEqual(restarted.alertSnapshot('line2/fan399'), alert(399));
  assert.deepEqual(restarted.checkSnapshot('line1/pump0'), { stall: 0 });
  await restarted.stop();
});

test('stream ids that JSON must escape (quotes, backslashes, control characters, a lone surrogate) read back as themselves', async () => {
  const sub = await mkdtemp(path.join(dir, 'escape-'));
  const store = new StateStore(testContext('state3').ctx, sub, 3_600_000);
  await store.start();
  const ids = ['plain/ü-pump', 'quote"d', 'back\\slash', 'tab\there', 'nul\u0000x', 'lone\ud800surrogate', 'emoji/😀'];
  ids.forEach((id, i) => store.setAlertSnapshot(id, { n: i }));
  await store.stop();
  const text = await readFile(store.file, 'utf8');
  const parsed = JSON.parse(text) as { alerts: Record<string, unknown> };
  // The lone surrogate cannot be UTF-8: JSON.stringify writes it as an escape, which parses back to itself.
  assert.deepEqual(Object.keys(parsed.alerts).sort(), [...ids].sort());
  const restarted = new StateStore(testContext('state4').ctx, sub, 3_600_000);
  await restarted.start();
  ids.forEach((id, i) => assert.deepEqual(restarted.alertSnapshot(id), { n: i }, id));
  await restarted.stop();
});

test('a paired file is written with each stream checkpoint under its generation, read back at the next start, older ones deleted', async () => {
  const d = path.join(dir, 'paired');
  const first = new StateStore(testContext('state').ctx, d, 60_000);
  await first.start();
  assert.equal(await first.readPairedFile('filters'), null, 'a first start has none');
  let n = 0;
  first.addPairedFile('filters', () => Buffer.from(`capture ${++n}`));
  await first.enableCheckpoints(() => undefined);
  first.setAlertSnapshot('s', { x: 1 });
  await first.save();
  first.setAlertSnapshot('s', { x: 2 });
  await first.stop();
  const files = (await readdir(d)).filter((f) => f.startsWith('filters-'));
  const state = JSON.parse(await readFile(path.join(d, 'state.json'), 'utf8')) as { journal: number };
  assert.deepEqual(files, [`filters-${state.journal}.json`], 'only the last checkpoint\'s');
  const second = new StateStore(testContext('state').ctx, d, 60_000);
  await second.start();
  assert.equal((await second.readPairedFile('filters'))?.toString(), 'capture 2');
  await second.stop();
});
