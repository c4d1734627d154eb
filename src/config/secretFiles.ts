// `password_file: /run/secrets/influx` -> `password: <trimmed file content>`. The `_file` key is removed once read,
// so consumers see one field. Secret files are small regular files; relative paths resolve against the config
// file's directory like every other path in the configuration (configPaths.ts), and problems show the absolute
// path that was tried.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigPath, ProblemList, Redactions } from './problems';
import { SECRET_FILE_KEYS } from './schema';

export const MAX_SECRET_BYTES = 64 * 1024;

export function resolveSecretFiles(value: unknown, problems: ProblemList, redactions: Redactions, baseDir: string, at: ConfigPath = []): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => resolveSecretFiles(item, problems, redactions, baseDir, [...at, i]));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const target = Object.prototype.hasOwnProperty.call(SECRET_FILE_KEYS, key) ? SECRET_FILE_KEYS[key] : undefined;
    if (target === undefined) {
      resolveSecretFiles(obj[key], problems, redactions, baseDir, [...at, key]);
      continue;
    }
    const file = obj[key];
    if (typeof file !== 'string' || file === '') continue; // the schema reports the wrong type
    if (obj[target] !== undefined) {
      problems.add([...at, key], `set either ${target} or ${key}, not both`, undefined, true);
      continue;
    }
    const secret = readSecret(path.resolve(baseDir, file), [...at, key], problems);
    if (secret === undefined) continue;
    redactions.addSecret([...at, target], secret);
    obj[target] = secret;
    delete obj[key];
  }
}

function readSecret(resolved: string, at: ConfigPath, problems: ProblemList): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(resolved, 'r');
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      problems.add(at, 'must name a regular file', resolved);
      return undefined;
    }
    if (stat.size > MAX_SECRET_BYTES) {
      problems.add(at, `names a file larger than ${MAX_SECRET_BYTES} bytes; is it really a secret?`, resolved);
      return undefined;
    }
    const content = fs.readFileSync(fd, 'utf8').trim();
    if (content === '') {
      problems.add(at, 'names an empty file', resolved);
      return undefined;
    }
    return content;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    problems.add(at, `cannot be read (${code})`, resolved);
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
