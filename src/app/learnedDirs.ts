// Where an auto-learning stream's model lives: state_dir/models/<readable>-<hash>. The readable part is the
// stream id with runs of characters other than letters, digits, "_", "." and "-" replaced by "_" (cut to 48
// characters); the hash is the first 12 hex digits of the SHA-256 of the exact id (UTF-8). The readable part
// alone made `auto:l1/p0` and `auto:l1 /p0` one folder, so the second stream's model overwrote the first's;
// with the hash two ids share a folder only if they share 48 bits of SHA-256. The name stays short whatever
// the id's length, and differs by more than letter case, so case-insensitive filesystems keep ids apart too.
//
// Folders named the old way (<model name> with the same replacement, e.g. auto_l1_p0) still load: the
// manifest names the stream, and at start such a folder is renamed to its new name (see migrateLearnedDirs).
import { createHash } from 'node:crypto';
import { readFile, readdir, rename, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';

const READABLE_MAX = 48;
const HASH_HEX = 12;

export function learnedModelDirName(stream: string): string {
  const readable = stream.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\./, '_').slice(0, READABLE_MAX);
  const hash = createHash('sha256').update(stream, 'utf8').digest('hex').slice(0, HASH_HEX);
  return `${readable}-${hash}`;
}

/** The folder a stream's learned model is written to. */
export function learnedModelDir(modelsDir: string, stream: string): string {
  return path.join(modelsDir, learnedModelDirName(stream));
}

/** The stream a learned model folder's manifest names, or null when it has none readable. */
async function manifestStream(dir: string): Promise<string | null> {
  try {
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { stream?: unknown };
    return typeof manifest.stream === 'string' ? manifest.stream : null;
  } catch {
    return null;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Renames folders of the old naming to the new name of the stream their manifest names, and returns the
 * folders to load. A folder whose new name is taken already (the stream learned again since) is left where it
 * is and not loaded: the newer model wins. A folder that cannot be renamed is loaded where it is.
 */
export async function migrateLearnedDirs(modelsDir: string, log: Log): Promise<string[]> {
  let entries: string[];
  try {
    entries = (await readdir(modelsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries.sort()) {
    const dir = path.join(modelsDir, entry);
    const stream = await manifestStream(dir);
    if (stream === null || learnedModelDirName(stream) === entry) {
      // Unreadable folders are loaded anyway, so the loader reports why they do not load.
      out.push(dir);
      continue;
    }
    const target = learnedModelDir(modelsDir, stream);
    if (await exists(target)) {
      log.warn('Ignoring a learned model folder of the old naming: the stream has a newer model; delete the old folder.', { dir, stream, newer: target });
      continue;
    }
    try {
      await rename(dir, target);
      log.info('Renamed a learned model folder to its collision-free name.', { from: dir, to: target, stream });
      out.push(target);
    } catch (err) {
      log.warn('Cannot rename a learned model folder of the old naming; loading it where it is.', { dir, error: errorMessage(err) });
      out.push(dir);
    }
  }
  return out;
}
