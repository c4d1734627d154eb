// Who holds a state_dir lock (stateLock.ts): what the lock file says, and what tells a live holder from a dead
// one with the same pid on this host (the kernel's boot id, the pid namespace, the process's start time).
import { open, readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/** What the lock file says about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly started: string;
  /** Random, unique per acquisition: tells two holders with the same pid apart. */
  readonly token: string;
  readonly bootId?: string;
  readonly pidNamespace?: string;
  /** The holder process's start time in clock ticks after boot (/proc/<pid>/stat field 22). */
  readonly processStart?: string;
}

/** A lock file as found: its holder, inode and modification time (the holder's last heartbeat). */
export interface FoundLock {
  readonly holder: LockHolder | null;
  readonly ino: number;
  readonly mtimeMs: number;
}

/** The lock file's holder (null when unreadable), inode and time; null when there is no lock file. */
export async function readHolder(file: string): Promise<FoundLock | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = await fh.stat();
    const text = await fh.readFile('utf8');
    return { holder: parseHolder(text), ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 0 || typeof v.host !== 'string' || typeof v.token !== 'string') return null;
    const optional = (s: unknown): string | undefined => (typeof s === 'string' ? s : undefined);
    return {
      pid: v.pid,
      host: v.host,
      started: optional(v.started) ?? 'unknown',
      token: v.token,
      ...(optional(v.bootId) !== undefined ? { bootId: optional(v.bootId) } : {}),
      ...(optional(v.pidNamespace) !== undefined ? { pidNamespace: optional(v.pidNamespace) } : {}),
      ...(optional(v.processStart) !== undefined ? { processStart: optional(v.processStart) } : {}),
    };
  } catch {
    return null;
  }
}

/** Both known and equal, or either unknown (a platform without /proc: the host name decides). */
export function same(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** Whether a process with this pid exists in this pid namespace. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process as a lock holder, with a new token. */
export async function describeSelf(): Promise<LockHolder> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  const pidNamespace = await readlink('/proc/self/ns/pid').catch(() => '');
  const start = await processStart(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    token: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
    ...(bootId ? { bootId } : {}),
    ...(pidNamespace ? { pidNamespace } : {}),
    ...(start !== undefined ? { processStart: start } : {}),
  };
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces); undefined off Linux. */
export async function processStart(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, so start time (22) is index 19.
  return fields.length > 19 && /^\d+$/.test(fields[19]) ? fields[19] : undefined;
}

/** Writes and fsyncs a new file, so a lock linked from it is complete on disk. */
export async function writeSynced(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** O_CREAT|O_EXCL, then the content: where link() is not supported. False when the file exists. */
export async function createExclusive(file: string, text: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}
