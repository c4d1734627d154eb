import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ALERT_HISTORY_FILE, AlertHistoryFile } from '../../../src/state/alertHistoryFile';
import { AlertHistory } from '../../../src/core/alertHistory';
import { testContext } from '../../helpers/context';
import { notice } from '../../helpers/notices';

let root: string;
let n = 0;
const fresh = (): string => path.join(root, `d${n++}`);

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'anomalyd-history-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('what one run recorded is there after a restart, bounded to the history size', async () => {
  const dir = fresh();
  const first = new AlertHistory(100);
  const file = new AlertHistoryFile(testContext().ctx, dir, first);
  await file.start();
  for (let i = 0; i < 120; i++) {
    first.record(notice({ fingerprint: `f${i}`, stream: `s${i}`, startsAt: 1000 + i }));
    first.record(notice({ fingerprint: `f${i}`, stream: `s${i}`, status: 'resolved', startsAt: 1000 + i, endsAt: 2000 + i }));
  }
  first.record(notice({ fingerprint: 'open', stream: 'open', startsAt: 5000 }));
  await file.stop();

  const second = new AlertHistory(100);
  await new AlertHistoryFile(testContext().ctx, dir, second).start();
  const list = second.list();
  assert.equal(list.length, 100);
  assert.equal(list[0].stream, 'open');
  assert.equal(list[0].endsAt, null);
  assert.equal(list[99].stream, 's21', 'the oldest beyond 100 are gone');
  assert.deepEqual(list, first.list());
});

test('saves only when the history changed', async () => {
  const dir = fresh();
  const h = new AlertHistory();
  const file = new AlertHistoryFile(testContext().ctx, dir, h, 60_000);
  await file.start();
  await file.save();
  await assert.rejects(readFile(path.join(dir, ALERT_HISTORY_FILE)), /ENOENT/, 'nothing to write yet');
  h.record(notice());
  await file.save();
  const saved = JSON.parse(await readFile(path.join(dir, ALERT_HISTORY_FILE), 'utf8')) as { format: number; episodes: unknown[] };
  assert.equal(saved.format, 1);
  assert.equal(saved.episodes.length, 1);
  await file.stop();
});

test('a missing file is an empty history; a damaged one is set aside with a warning and the daemon goes on', async () => {
  const dir = fresh();
  const t = testContext();
  const h = new AlertHistory();
  await new AlertHistoryFile(t.ctx, dir, h).start();
  assert.equal(h.list().length, 0);
  assert.equal(t.logs.filter((l) => l.level !== 'debug').length, 0, 'a first start is not worth a line');

  await writeFile(path.join(dir, ALERT_HISTORY_FILE), '{"format":1,"episodes":[{"trunc');
  const t2 = testContext();
  const h2 = new AlertHistory();
  const file = new AlertHistoryFile(t2.ctx, dir, h2);
  await file.start();
  assert.equal(h2.list().length, 0);
  assert.ok(t2.logs.some((l) => l.level === 'warn' && /damaged/.test(l.msg)), JSON.stringify(t2.logs));
  assert.ok((await readdir(dir)).some((f) => f.startsWith(`${ALERT_HISTORY_FILE}.corrupt-`)), 'kept aside');
  h2.record(notice());
  await file.stop();
  const h3 = new AlertHistory();
  await new AlertHistoryFile(testContext().ctx, dir, h3).start();
  assert.equal(h3.list().length, 1, 'a new history is written in its place');
});

test('damaged entries are skipped, the intact ones kept', async () => {
  const dir = fresh();
  const h = new AlertHistory();
  h.record(notice());
  const good = (JSON.parse(JSON.stringify(h)) as { episodes: unknown[] }).episodes[0];
  await new AlertHistoryFile(testContext().ctx, dir, new AlertHistory()).start();
  await writeFile(path.join(dir, ALERT_HISTORY_FILE), JSON.stringify({ format: 1, episodes: [{ stream: 7 }, good] }));
  const t = testContext();
  const loaded = new AlertHistory();
  await new AlertHistoryFile(t.ctx, dir, loaded).start();
  assert.equal(loaded.list().length, 1);
  assert.ok(t.logs.some((l) => l.level === 'warn' && l.fields?.['skipped'] === 1));
});

test('a write that fails warns once and is retried by the next save', async () => {
  const dir = fresh();
  const t = testContext();
  const h = new AlertHistory();
  const file = new AlertHistoryFile(t.ctx, dir, h, 60_000);
  await file.start();
  // A non-empty directory where the file goes makes its rename, and so the write, fail.
  await mkdir(path.join(dir, ALERT_HISTORY_FILE, 'blocker'), { recursive: true });
  h.record(notice());
  await file.save();
  h.record(notice({ score: 5 }));
  await file.save();
  assert.equal(t.logs.filter((l) => l.level === 'warn').length, 1);
  await rm(path.join(dir, ALERT_HISTORY_FILE), { recursive: true });
  await file.save();
  assert.ok(t.logs.some((l) => l.level === 'info' && /written again/.test(l.msg)));
  await file.stop();
});
