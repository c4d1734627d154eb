// Start-up failures in the operator's words: which config key stands behind a port, address or directory that
// did not work, and its value (`http.port 9464 is in use`), instead of Node's `listen EADDRINUSE: ...` that
// leaves the reader to work out which of the daemon's ports it was.
import { rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/** What a start-up step binds or writes, named as in the config file. */
export interface ConfigSubject {
  /** The key whose value is the port (or directory), e.g. `http.port`. */
  readonly key: string;
  readonly value: string | number;
  /** The key of the listen address, when the step listens (`http.host`). */
  readonly hostKey?: string;
  readonly host?: string;
  /** A sentence added to the message, e.g. what else the key's neighbours decide. */
  readonly hint?: string;
}

/** Runs `step`; a system error it throws is rethrown as an Error whose message names `subject`'s key. */
export async function namingConfigKey<T>(subject: ConfigSubject, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const message = describeStartupError(err, subject);
    if (message === undefined) throw err;
    throw new Error(subject.hint ? `${message}; ${subject.hint}` : message, { cause: err });
  }
}

/** The message for a system error (code EADDRINUSE, EACCES, ...), or undefined for anything else. */
export function describeStartupError(err: unknown, s: ConfigSubject): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  if (typeof code !== 'string') return undefined;
  const detail = `(${e?.message ?? code})`;
  const at = s.host !== undefined ? ` on ${s.host}` : '';
  switch (code) {
    case 'EADDRINUSE':
      return `${s.key} ${s.value} is in use${at}: another process listens there; stop it or choose another port ${detail}`;
    case 'EACCES':
    case 'EPERM':
      return s.hostKey !== undefined
        ? `${s.key} ${s.value}: not allowed to listen${at} (ports below 1024 need privileges); choose a port from 1024 up ${detail}`
        : `${s.key} ${s.value} is not writable by this user; give it a directory it may write to ${detail}`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${s.hostKey ?? s.key} ${s.host ?? s.value} is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its own addresses ${detail}`;
    case 'EROFS':
      return `${s.key} ${s.value} is on a read-only file system; give it a writable directory ${detail}`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `${s.key} ${s.value} is not a directory (a file is in the way) ${detail}`;
    case 'ENOSPC':
      return `${s.key} ${s.value}: the disk is full ${detail}`;
    case 'ENOENT':
      return `${s.key} ${s.value} cannot be created (a parent directory is missing) ${detail}`;
    default:
      return undefined;
  }
}

/**
 * Writes and removes a small file in `dir`: a directory that exists but cannot be written (read-only mount,
 * wrong owner) fails here, at start, rather than at the first checkpoint minutes later.
 */
export async function probeWritable(dir: string): Promise<void> {
  const probe = path.join(dir, `.write-test-${process.pid}`);
  await writeFile(probe, '');
  await rm(probe, { force: true });
}
