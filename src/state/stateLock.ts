// One owner per state directory. Two daemons on one state_dir would write the same files (state.json, the
// journal, the outbox, the spool) and corrupt each other's, so `run` takes <state_dir>/anomalyd.lock before it
// touches anything there and refuses to start while another daemon holds it.
//
// The lock file is written whole under a unique temporary name and then hard-linked to anomalyd.lock: link()
// fails if the name exists, atomically (also on NFS), so the lock never exists half-written and two starters
// never both win. It holds who owns it: pid, host, start time, and what tells a live holder from a dead one with
// the same pid (the kernel's boot id, the pid namespace and the process's start time on Linux).
//
// A lock outlives a kill -9 or a power cut. The next start takes it over when its holder is certainly gone:
// - a holder this host can see (same host, same boot, same pid namespace) is gone when its pid is dead, or is
//   now another process (its start time differs), or is this very process (pid 1 in a restarted container);
// - a holder elsewhere (another host sharing the directory over NFS, another container: a restarted container
//   has a new pid namespace) cannot be checked: the holder touches the file every HEARTBEAT_MS, so the starter
//   watches the file: touched again, the holder is alive and the starter is refused (within a heartbeat);
//   untouched for STALE_AFTER_MS, the lock is taken over (a crashed container's restart waits at most that).
//   This needs the hosts' clocks to agree to well within that time.
// A takeover removes the stale file only while holding anomalyd.lock.takeover (created the same way) and only
// if the lock is still the file it judged (same inode and owner), so starters racing for one stale lock never
// remove a lock another of them has just taken: exactly one ends up holding it. A holder whose file was taken
// over anyway (its event loop stalled past STALE_AFTER_MS) notices at its next heartbeat and reports it (onLost).
import { link, readdir, rm, stat, unlink, utimes, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import { tmpNameFor } from '../core/tmpName';
import { createExclusive, describeSelf, pidAlive, processStart, readHolder, same, writeSynced, type FoundLock, type LockHolder } from './lockHolder';

export type { LockHolder } from './lockHolder';

export const LOCK_FILE = 'anomalyd.lock';
export const HEARTBEAT_MS = 5_000;
export const STALE_AFTER_MS = 30_000;
/** A takeover mutex older than this was left by a starter that crashed mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;
/** A start that cannot settle who holds the lock within this long gives up (starters racing without end). */
const ACQUIRE_GIVE_UP_MS = 60_000;
/** How often a starter looks at a lock it cannot check. */
const WATCH_MS = 500;
/** A lock file with no readable owner (written by hand, or by a filesystem without link()) is stale after this. */
const UNREADABLE_STALE_MS = 10_000;

/** A state_dir held by another live daemon: the message names the holder and the config key to change. */
export class StateDirLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly holder: LockHolder | null,
    detail: string,
  ) {
    super(`state_dir: in use by another anomalyd (${detail}); stop that daemon or give this one its own state_dir (got ${stateDir})`);
    this.name = 'StateDirLockedError';
  }
}

export interface StateLockOptions {
  readonly log: Log;
  /** Called once if the lock file no longer names this holder (taken over while this process was stalled). */
  readonly onLost?: (holder: LockHolder | null) => void;
  /** For tests: the time, the heartbeat and the stale age. */
  readonly now?: () => number;
  readonly heartbeatMs?: number;
  readonly staleAfterMs?: number;
  readonly watchMs?: number;
}

/** Tokens of the locks this process holds now: a second daemon in the same process is refused as well. */
const heldHere = new Set<string>();

export class StateLock {
  readonly file: string;
  private holder: LockHolder | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  /** The heartbeat in progress: release() waits for it, so a beat never writes the lock back after release. */
  private beating: Promise<void> = Promise.resolve();

  constructor(
    readonly stateDir: string,
    private readonly opts: StateLockOptions,
  ) {
    this.file = path.join(stateDir, LOCK_FILE);
  }

  get held(): boolean {
    return this.holder !== null;
  }

  /** Takes the lock or throws StateDirLockedError; creates the directory if needed. */
  async acquire(): Promise<void> {
    if (this.holder) return;
    await mkdir(this.stateDir, { recursive: true });
    const me = await describeSelf();
    const text = `${JSON.stringify(me)}\n`;
    const giveUpAt = this.now() + ACQUIRE_GIVE_UP_MS;
    while (this.now() < giveUpAt) {
      if (await this.tryCreate(this.file, text)) {
        this.holder = me;
        heldHere.add(me.token);
        await this.removeLeftovers();
        this.startHeartbeat();
        return;
      }
      const found = await readHolder(this.file);
      if (found === null) continue; // released between our attempt and the read: try again
      let verdict = await this.judge(found, me);
      if (verdict.state === 'unchecked') verdict = await this.watch(found, verdict);
      if (verdict.state === 'changed') continue;
      if (verdict.state === 'alive') throw new StateDirLockedError(this.stateDir, found.holder, verdict.detail);
      if (await this.removeStale(found, text)) {
        this.opts.log.warn('Taking over the state directory lock of a daemon that is gone.', {
          file: this.file,
          pid: found.holder?.pid,
          host: found.holder?.host,
          reason: verdict.detail,
        });
      }
    }
    throw new StateDirLockedError(this.stateDir, null, `its lock ${this.file} kept changing hands for ${ACQUIRE_GIVE_UP_MS / 1000} s while this daemon tried to take it`);
  }

  /** Gives the lock up; only a lock file that still names this holder is removed. Idempotent. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    const me = this.holder;
    if (!me) return;
    this.holder = null;
    heldHere.delete(me.token);
    const found = await readHolder(this.file).catch(() => null);
    if (found?.holder?.token === me.token) await rm(this.file, { force: true });
  }

  /** Link a fully written temporary file to `file`: true if this process created it. */
  private async tryCreate(file: string, text: string): Promise<boolean> {
    const tmp = tmpNameFor(file);
    await writeSynced(tmp, text);
    try {
      await link(tmp, file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      // A filesystem without hard links: an exclusive create, then the content (a crash in between leaves an
      // unreadable lock, taken over after UNREADABLE_STALE_MS).
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') return createExclusive(file, text);
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private async judge(found: FoundLock, me: LockHolder): Promise<Verdict> {
    const h = found.holder;
    const ageText = `${Math.round((this.now() - found.mtimeMs) / 1000)} s ago`;
    if (!h) return { state: 'unchecked', detail: `its lock ${this.file} names no owner; last written ${ageText}`, staleAfterMs: UNREADABLE_STALE_MS };
    const who = `pid ${h.pid} on host ${h.host}, since ${h.started}, lock ${this.file}`;
    if (heldHere.has(h.token)) return { state: 'alive', detail: `${who}: this very process` };
    const visible = h.host === me.host && same(h.bootId, me.bootId) && same(h.pidNamespace, me.pidNamespace);
    if (visible) {
      if (h.pid === process.pid) return { state: 'gone', detail: `${who}: that pid is this process now` };
      if (!pidAlive(h.pid)) return { state: 'gone', detail: `${who}: no such process` };
      const start = await processStart(h.pid);
      if (h.processStart !== undefined && start !== undefined && start !== h.processStart) return { state: 'gone', detail: `${who}: that pid is another process now` };
      return { state: 'alive', detail: who };
    }
    return { state: 'unchecked', detail: who, staleAfterMs: this.opts.staleAfterMs ?? STALE_AFTER_MS };
  }

  /**
   * A holder this host cannot check: alive if it touches its lock again, gone once the lock is untouched for
   * the stale age, 'changed' if the lock is replaced or removed meanwhile (judged again).
   */
  private async watch(first: FoundLock, verdict: Verdict & { state: 'unchecked' }): Promise<Verdict> {
    const staleAfter = verdict.staleAfterMs;
    const waitMs = staleAfter - (this.now() - first.mtimeMs);
    if (waitMs > 0) {
      this.opts.log.warn('The state directory lock belongs to a daemon this host cannot check; waiting to see whether it is alive.', {
        file: this.file,
        pid: first.holder?.pid,
        host: first.holder?.host,
        taken_over_in_s: Math.ceil(waitMs / 1000),
      });
    }
    for (;;) {
      const age = this.now() - first.mtimeMs;
      if (age > staleAfter) return { state: 'gone', detail: `${verdict.detail}: not touched for ${Math.round(age / 1000)} s (stale after ${staleAfter / 1000} s)` };
      await new Promise((r) => setTimeout(r, Math.min(this.opts.watchMs ?? WATCH_MS, staleAfter - age + 1)));
      const now = await readHolder(this.file);
      if (now === null || now.ino !== first.ino || now.holder?.token !== first.holder?.token) return { state: 'changed', detail: verdict.detail };
      if (now.mtimeMs !== first.mtimeMs) return { state: 'alive', detail: `${verdict.detail}: it cannot be checked from here and touched its lock just now` };
    }
  }

  /**
   * Removes a lock judged stale, under the takeover mutex and only if it is still that file (true if it did);
   * the caller then tries to create its own. A mutex left by a starter that crashed mid-takeover is removed once old.
   */
  private async removeStale(judged: FoundLock, text: string): Promise<boolean> {
    const mutex = `${this.file}.takeover`;
    if (!(await this.tryCreate(mutex, text))) {
      const st = await stat(mutex).catch(() => null);
      if (st && this.now() - st.mtimeMs > TAKEOVER_STALE_MS) await unlink(mutex).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
      return false;
    }
    try {
      const now = await readHolder(this.file);
      if (!now || now.ino !== judged.ino || now.holder?.token !== judged.holder?.token) return false;
      await unlink(this.file);
      return true;
    } finally {
      await unlink(mutex).catch(() => undefined);
    }
  }

  /** Temporary files of earlier owners (a crash mid-write): nobody else writes here now. */
  private async removeLeftovers(): Promise<void> {
    for (const entry of await readdir(this.stateDir).catch(() => [] as string[])) {
      // Not the lock's own temporary files: other starters may be using theirs right now.
      if (LEFTOVER.test(entry) && !entry.startsWith(LOCK_FILE)) await rm(path.join(this.stateDir, entry), { force: true }).catch(() => undefined);
    }
  }

  private startHeartbeat(): void {
    const every = this.opts.heartbeatMs ?? HEARTBEAT_MS;
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, every);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const me = this.holder;
    if (!me || this.lost) return;
    const found = await readHolder(this.file).catch(() => undefined);
    if (found === undefined) return; // unreadable for now (e.g. NFS hiccup): the next beat checks again
    // Deleted by hand while this daemon runs: put it back, so a second daemon is still refused.
    if (found === null && (await this.tryCreate(this.file, `${JSON.stringify(me)}\n`).catch(() => false))) {
      this.opts.log.warn('The state directory lock had been deleted while this daemon held it; wrote it again.', { file: this.file });
      return;
    }
    if (found?.holder?.token !== me.token) {
      this.lost = true;
      this.opts.log.error('Lost the state directory lock: another daemon took it over while this one was stalled; two daemons must not share a state_dir.', {
        file: this.file,
        holder_pid: found?.holder?.pid,
        holder_host: found?.holder?.host,
      });
      this.opts.onLost?.(found?.holder ?? null);
      return;
    }
    const t = new Date((this.opts.now ?? Date.now)());
    await utimes(this.file, t, t).catch((err: unknown) => this.opts.log.warn('Cannot touch the state directory lock.', { file: this.file, error: errorMessage(err) }));
  }
}

/** `<name>.tmp-<pid>-...` (tmpNameFor) at the top of state_dir. */
const LEFTOVER = /\.tmp-\d+-[0-9a-z]+-[0-9a-z]+$/;

type Verdict =
  | { readonly state: 'alive' | 'gone' | 'changed'; readonly detail: string }
  | { readonly state: 'unchecked'; readonly detail: string; readonly staleAfterMs: number };
