// Atomic writes with a temporary file of their own (core/tmpName.ts). Two daemons on one state_dir (what the lock
// now prevents) both wrote `state.json.tmp`: one truncated and rewrote it while the other wrote, and the renamed
// file was one document followed by the other's bytes, which the next start discarded as corrupt. Here two stores
// write one directory at once, round after round: state.json is always one whole document of one of them, and
// no temporary file is left behind.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { StateStore } from '../../../src/state/stateStore';
import { testContext } from '../../helpers/context';

let dir = '';
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('two writers of one state.json never mix their bytes', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-state-tmp-'));
  const big = new StateStore(testContext('big').ctx, dir, 3_600_000);
  const small = new StateStore(testContext('small').ctx, dir, 3_600_000);
  await big.start();
  await small.start();
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 2000; i++) big.setAlertSnapshot(`line1/pump${i}`, { state: 'firing', round, note: 'x'.repeat(40) });
    small.setAlertSnapshot('line9/fan0', { state: 'pending', round });
    await Promise.all([big.save(), small.save()]);
    const text = await readFile(path.join(dir, 'state.json'), 'utf8');
    const state = JSON.parse(text) as { alerts: Record<string, unknown> };
    assert.ok([1, 2000].includes(Object.keys(state.alerts).length), `round ${round}: one writer's document`);
  }
  await Promise.all([big.stop(), small.stop()]);
  assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
});
