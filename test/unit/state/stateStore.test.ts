// StateStore's state.json: assembled into a buffer kept between checkpoints, so a later, smaller state must
// read back as itself (no tail of the earlier one), and a restart restores exactly what was saved last.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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

test('a checkpoint part is captured in the cut with the checkpoint\'s generation, written before state.json names it, told once it does', async () => {
  const d = path.join(dir, 'parts');
  const first = new StateStore(testContext('state').ctx, d, 60_000);
  await first.start();
  assert.equal(first.checkpointGeneration, 0, 'a first start has none');
  assert.equal(first.dir, d);
  const seen: string[] = [];
  const named = async (): Promise<number | undefined> => {
    try {
      return (JSON.parse(await readFile(path.join(d, 'state.json'), 'utf8')) as { journal?: number }).journal;
    } catch {
      return undefined;
    }
  };
  first.addCheckpointPart('filters', {
    capture: (generation) => {
      seen.push(`capture ${generation} (journal ${first.journal.generation})`);
      return {
        write: async () => void seen.push(`write ${generation}, state.json names ${await named()}`),
        named: () => void seen.push(`named ${generation}`),
        removeStale: async () => void seen.push(`removeStale ${generation}, state.json names ${await named()}`),
      };
    },
  });
  await first.enableCheckpoints(() => undefined);
  first.setAlertSnapshot('s', { x: 1 });
  await first.save();
  first.setAlertSnapshot('s', { x: 2 });
  await first.stop();
  assert.deepEqual(seen, [
    'capture 2 (journal 2)',
    'write 2, state.json names undefined',
    'named 2',
    'removeStale 2, state.json names 2',
    'capture 3 (journal 3)',
    'write 3, state.json names 2',
    'named 3',
    'removeStale 3, state.json names 3',
  ]);
  const second = new StateStore(testContext('state').ctx, d, 60_000);
  await second.start();
  assert.equal(second.checkpointGeneration, 3);
  await second.stop();
});

test('a checkpoint part whose write fails: state.json keeps naming the checkpoint before, the part is not told it was named', async () => {
  const d = path.join(dir, 'parts-failing');
  const store = new StateStore(testContext('state').ctx, d, 60_000);
  await store.start();
  let fail = false;
  const named: number[] = [];
  store.addCheckpointPart('filters', {
    capture: (generation) => ({
      write: () => (fail ? Promise.reject(new Error('disk full')) : Promise.resolve()),
      named: () => void named.push(generation),
      removeStale: () => Promise.resolve(),
    }),
  });
  const problems: (string | null)[] = [];
  store.onWriteProblem = (p) => problems.push(p);
  await store.enableCheckpoints(() => undefined);
  store.setAlertSnapshot('s', { x: 1 });
  await store.save();
  fail = true;
  store.setAlertSnapshot('s', { x: 2 });
  await store.save();
  const state = JSON.parse(await readFile(store.file, 'utf8')) as { journal: number; alerts: Record<string, unknown> };
  assert.deepEqual(named, [2]);
  assert.equal(state.journal, 2);
  assert.deepEqual(state.alerts.s, { x: 1 });
  assert.match(String(problems.at(-1)), /disk full/);
  fail = false;
  await store.stop();
  assert.deepEqual(named, [2, 4]);
});
