// The state_dir lock: one holder at a time, a holder that is certainly gone is taken over (dead pid, pid reused,
// this very pid after a container restart, a lock untouched for the stale age when it cannot be checked), and a
// holder that lost its lock notices. Real processes stand for live and dead holders.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LOCK_FILE, StateDirLockedError, StateLock, type LockHolder } from '../../../src/state/stateLock';
import { testContext } from '../../helpers/context';

let root: string;
let n = 0;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'anomalyd-state-lock-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function newDir(): string {
  return path.join(root, `s${++n}`);
}

function lockOf(dir: string, opts: Partial<ConstructorParameters<typeof StateLock>[1]> = {}): { lock: StateLock; logs: ReturnType<typeof testContext>['logs'] } {
  const t = testContext('state');
  return { lock: new StateLock(dir, { log: t.ctx.log, ...opts }), logs: t.logs };
}

/** What this process writes into a lock: a template for holders that stand for other processes. */
async function ownHolder(): Promise<LockHolder> {
  const dir = newDir();
  const { lock } = lockOf(dir);
  await lock.acquire();
  const holder = JSON.parse(await readFile(lock.file, 'utf8')) as LockHolder;
  await lock.release();
  return holder;
}

async function writeLock(dir: string, holder: LockHolder | string, ageMs = 0): Promise<string> {
  const { lock } = lockOf(dir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(lock.file, typeof holder === 'string' ? holder : JSON.stringify(holder));
  if (ageMs > 0) {
    const t = new Date(Date.now() - ageMs);
    await utimes(lock.file, t, t);
  }
  return lock.file;
}

/** A child process that runs until killed; its pid and /proc start time. */
async function liveProcess(): Promise<{ pid: number; start: string | undefined; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid ?? -1;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const start = stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] : undefined;
  return {
    pid,
    start,
    kill: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

test('a second holder is refused with the holder pid, host and the state_dir key; release lets the next one in', async () => {
  const dir = newDir();
  const first = lockOf(dir).lock;
  await first.acquire();
  const holder = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as LockHolder;
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.host, hostname());

  const second = lockOf(dir).lock;
  await assert.rejects(second.acquire(), (err: unknown) => {
    assert.ok(err instanceof StateDirLockedError);
    assert.match(err.message, /^state_dir: in use by another anomalyd \(pid \d+ on host /);
    assert.ok(err.message.includes(`pid ${process.pid} on host ${hostname()}`), err.message);
    assert.ok(err.message.endsWith(`(got ${dir})`), err.message);
    return true;
  });
  assert.equal(second.held, false);

  await first.release();
  await assert.rejects(readFile(path.join(dir, LOCK_FILE)), { code: 'ENOENT' });
  await second.acquire();
  assert.equal(second.held, true);
  await second.release();
});

test('a live process on this host holds its lock; a dead one (kill -9) or a reused pid loses it', async () => {
  const me = await ownHolder();
  const live = await liveProcess();
  const dir = newDir();
  try {
    await writeLock(dir, { ...me, pid: live.pid, token: 'other', ...(live.start ? { processStart: live.start } : {}) });
    await assert.rejects(lockOf(dir).lock.acquire(), (err: unknown) => err instanceof StateDirLockedError && err.message.includes(`pid ${live.pid} on host`));

    // The same pid with another start time: the pid was reused by another process.
    if (live.start !== undefined) {
      await writeLock(dir, { ...me, pid: live.pid, token: 'other', processStart: String(Number(live.start) + 1) });
      const { lock, logs } = lockOf(dir);
      await lock.acquire();
      assert.ok(logs.some((l) => l.level === 'warn' && String(l.fields?.reason).includes('another process now')));
      await lock.release();
    }
  } finally {
    await live.kill();
  }
  // Killed: its lock is taken over at once.
  await writeLock(dir, { ...me, pid: live.pid, token: 'other' });
  const { lock, logs } = lockOf(dir);
  await lock.acquire();
  assert.ok(logs.some((l) => l.msg.startsWith('Taking over the state directory lock') && l.fields?.pid === live.pid));
  const now = JSON.parse(await readFile(lock.file, 'utf8')) as LockHolder;
  assert.equal(now.pid, process.pid);
  assert.notEqual(now.token, 'other');
  await lock.release();
});

test("this process's own pid in a lock it does not hold (pid 1 in a restarted container) is a previous run", async () => {
  const me = await ownHolder();
  const dir = newDir();
  await writeLock(dir, { ...me, token: 'previous-run' });
  const { lock } = lockOf(dir);
  await lock.acquire();
  await lock.release();
});

test('a holder that cannot be checked (another host, another container) is refused once it touches its lock, taken over once it does not', async () => {
  const me = await ownHolder();
  const elsewhere = { ...me, host: 'other-host.example', pid: 4242, token: 'other' };

  // Alive: it touches its lock (its heartbeat) while the starter watches.
  const dir = newDir();
  const file = await writeLock(dir, elsewhere);
  const heartbeat = setInterval(() => void utimes(file, new Date(), new Date()).catch(() => undefined), 30);
  try {
    await assert.rejects(lockOf(dir, { staleAfterMs: 10_000, watchMs: 10 }).lock.acquire(), (err: unknown) => {
      assert.ok(err instanceof StateDirLockedError);
      assert.match(err.message, /pid 4242 on host other-host\.example.*touched its lock just now/);
      return true;
    });
  } finally {
    clearInterval(heartbeat);
  }

  // Gone: untouched for the stale age while watched.
  await writeLock(dir, elsewhere);
  const waiting = lockOf(dir, { staleAfterMs: 2_000, watchMs: 10 });
  await waiting.lock.acquire();
  assert.ok(waiting.logs.some((l) => l.msg.startsWith('The state directory lock belongs to a daemon this host cannot check')), JSON.stringify(waiting.logs));
  assert.ok(waiting.logs.some((l) => String(l.fields?.reason).includes('not touched for')));
  await waiting.lock.release();

  // Untouched for longer than the default stale age already: taken over without waiting.
  await writeLock(dir, elsewhere, 31_000);
  const { lock, logs } = lockOf(dir);
  await lock.acquire();
  assert.ok(!logs.some((l) => l.msg.startsWith('The state directory lock belongs')));
  await lock.release();
});

test('a lock file naming no owner is judged again once it names one, and taken over once old', async () => {
  const me = await ownHolder();
  const live = await liveProcess();
  const dir = newDir();
  try {
    const file = await writeLock(dir, '');
    const { lock, logs } = lockOf(dir, { watchMs: 10 });
    const acquiring = lock.acquire();
    while (!logs.some((l) => l.msg.startsWith('The state directory lock belongs'))) await new Promise((r) => setTimeout(r, 10));
    // Its writer finishes: a live process on this host.
    await writeFile(file, JSON.stringify({ ...me, pid: live.pid, token: 'live', ...(live.start ? { processStart: live.start } : {}) }));
    await assert.rejects(acquiring, (err: unknown) => err instanceof StateDirLockedError && err.message.includes(`pid ${live.pid} on host`));
  } finally {
    await live.kill();
  }
  await writeLock(dir, 'not json', 11_000);
  const { lock } = lockOf(dir);
  await lock.acquire();
  await lock.release();
});

test('temporary files left by a crash are removed once the lock is held; other files stay', async () => {
  const dir = newDir();
  await writeLock(dir, '', 11_000);
  await writeFile(path.join(dir, 'state.json.tmp-123-1-abc'), 'half');
  await writeFile(path.join(dir, 'webhook-oncall.outbox.tmp-9-2-x'), 'half');
  await writeFile(path.join(dir, 'state.json'), '{}');
  const { lock } = lockOf(dir);
  await lock.acquire();
  assert.deepEqual((await readdir(dir)).sort(), [LOCK_FILE, 'state.json']);
  await lock.release();
});

test('a holder notices when its lock was taken over, and writes back a lock deleted by hand', async () => {
  const me = await ownHolder();
  const dir = newDir();
  let lost: LockHolder | null | undefined;
  const { lock, logs } = lockOf(dir, { heartbeatMs: 20, onLost: (h) => (lost = h) });
  // Polled: the heartbeat timer is unref'd and keeps no test alive.
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  };
  await lock.acquire();
  const deletedAt = logs.length;
  await rm(lock.file);
  await until(() => logs.slice(deletedAt).some((l) => l.msg.startsWith('The state directory lock had been deleted')));
  assert.equal((JSON.parse(await readFile(lock.file, 'utf8')) as LockHolder).pid, process.pid);

  await writeFile(lock.file, JSON.stringify({ ...me, host: 'other-host.example', pid: 77, token: 'thief' }));
  await until(() => lost !== undefined);
  assert.equal(lost?.pid, 77);
  assert.ok(logs.some((l) => l.level === 'error' && l.msg.startsWith('Lost the state directory lock')));
  // Not ours any more: release leaves the new holder's file alone.
  await lock.release();
  assert.equal((JSON.parse(await readFile(lock.file, 'utf8')) as LockHolder).token, 'thief');
});

test('starters racing for one stale lock: exactly one holds it', async () => {
  const me = await ownHolder();
  const dead = await liveProcess();
  await dead.kill();
  for (let round = 0; round < 20; round++) {
    const dir = newDir();
    await writeLock(dir, { ...me, pid: dead.pid, token: 'dead' });
    const locks = Array.from({ length: 16 }, () => lockOf(dir).lock);
    const results = await Promise.allSettled(locks.map((l) => l.acquire()));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StateDirLockedError, String(r.reason));
    const winner = locks.find((l) => l.held);
    const holder = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as LockHolder;
    assert.notEqual(holder.token, 'dead');
    await winner?.release();
  }
});
