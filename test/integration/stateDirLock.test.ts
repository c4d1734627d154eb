// One owner per state directory (issue 13): a second `anomalyd run` on the state_dir of a running daemon exits at
// once with status 1 and a message naming the holder's pid and host and the config key, and leaves the first
// daemon's state alone; after a kill -9 the next start takes the dead daemon's lock over and restores its state.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { pumpPayload } from '../../src/simulator/signals';
import { faultSuite, pollUntil, publishAll, pumpSeries, simAssets, topicOf } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';

const suite = faultSuite('statelock');
const T0 = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;

/** state.json as the daemon last wrote it, parsed (throws if it is not one JSON document). */
async function savedState(dir: string): Promise<{ sequence: number; alerts: Record<string, unknown> }> {
  return JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { sequence: number; alerts: Record<string, unknown> };
}

test('a second daemon on the same state_dir is refused at once; the first keeps running with its state intact; a killed holder is taken over', async () => {
  const stateDir = path.join(suite.dir, 'first');
  const first = await suite.daemon('first', { alerting: 'k: 1, n: 1, reset_windows: 3, keep_firing_for_ms: 0, stall_after_ms: 0' });
  await first.ready();
  const lock = JSON.parse(await readFile(path.join(stateDir, 'anomalyd.lock'), 'utf8')) as { pid: number; host: string };
  assert.equal(lock.pid, first.pid);
  assert.equal(lock.host, hostname());

  // Give the first daemon alert state worth keeping: pump0 anomalous from sample 60 fires.
  const pub = await suite.publisher('statelock-publisher');
  const samples = pumpSeries(simAssets('pump', 2, 3, 1)[0].seed, T0, 200, [[60, 200]]);
  await publishAll(pub, samples.map((s) => ({ topic: topicOf('pump0'), payload: pumpPayload(s) })));
  const saved = await pollUntil('the alert state saved', () => savedState(stateDir).catch(() => null), (s) => s !== null && s.sequence > 0 && 'line1/pump0' in s.alerts);
  assert.ok(saved);
  const before = saved;

  // The second daemon names the same directory relatively (the suite runs daemons in its temp dir).
  const second = await suite.daemon('second', { stateDir: './first' });
  const exit = await second.exited;
  assert.equal(exit.code, 1, second.log.slice(-2000));
  assert.ok(second.log.includes(`state_dir: in use by another anomalyd (pid ${first.pid} on host ${hostname()}`), second.log.slice(-2000));
  assert.ok(second.log.includes(`(got ${stateDir})`), 'the message names the directory as resolved');
  assert.ok(!/Selected the inference backend|Restored alert state/.test(second.log), 'refused before anything else started');

  assert.equal(first.running, true);
  await first.ready();
  const after = await savedState(stateDir);
  assert.ok(after.sequence >= before.sequence);
  assert.deepEqual(Object.keys(after.alerts).sort(), Object.keys(before.alerts).sort());

  // kill -9 leaves the lock behind; the next start takes it over and continues from the saved state.
  first.signal('SIGKILL');
  await first.exited;
  const leftover = JSON.parse(await readFile(path.join(stateDir, 'anomalyd.lock'), 'utf8')) as { pid: number };
  assert.equal(leftover.pid, first.pid, 'the killed daemon could not remove its lock');
  const restarted = suite.restart(first);
  await restarted.ready();
  assert.match(restarted.log, /Taking over the state directory lock of a daemon that is gone/);
  await waitFor(() => /Restored alert state/.test(restarted.log), 'alert state restored', 10_000, () => restarted.log.slice(-2000));
  const taken = JSON.parse(await readFile(path.join(stateDir, 'anomalyd.lock'), 'utf8')) as { pid: number };
  assert.equal(taken.pid, restarted.pid);

  // A clean stop removes the lock.
  const stopped = await restarted.stop();
  assert.equal(stopped.code, 0);
  await assert.rejects(readFile(path.join(stateDir, 'anomalyd.lock')), { code: 'ENOENT' });
});
