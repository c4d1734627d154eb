// Relative file paths in a configuration resolve against the directory of the file that holds them, so a file
// means the same thing whatever directory the command runs from (a unit, a container, a global install, a
// shell in another directory). The loader rewrites them to absolute paths once, so every consumer (run,
// validate, reload, train) and every error message sees where a path really points.
import * as path from 'node:path';
import type { ConfigPath } from './problems';

/** Every key holding a file or directory path, `*` for any map key or array index (secret `*_file` keys: secretFiles.ts). */
export const PATH_KEYS: readonly ConfigPath[] = [
  ['state_dir'],
  ['models', '*', 'path'],
  ['mqtt', 'tls', 'ca_file'],
  ['mqtt', 'tls', 'cert_file'],
  ['mqtt', 'tls', 'key_file'],
  ['opcua', 'security', 'cert_file'],
  ['opcua', 'security', 'key_file'],
  ['opcua', 'security', 'trusted_certs', '*'],
  ['opcua', 'security', 'pki_dir'],
  ['opcua', 'identity', 'cert_file'],
  ['opcua', 'identity', 'key_file'],
];

/** The directory relative paths in `file` resolve against (the working directory for a name without one). */
export function configBaseDir(file: string): string {
  return path.dirname(path.resolve(file));
}

/** Rewrites, in place, every relative path at a PATH_KEYS location to an absolute one under `baseDir`. */
export function resolveConfigPaths(data: unknown, baseDir: string): void {
  for (const key of PATH_KEYS) resolveAt(data, key, baseDir);
}

function resolveAt(node: unknown, rest: ConfigPath, baseDir: string): void {
  if (node === null || typeof node !== 'object' || rest.length === 0) return;
  const [head, ...tail] = rest;
  const obj = node as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(obj) : Object.prototype.hasOwnProperty.call(obj, head) ? [String(head)] : [];
  for (const key of keys) {
    if (tail.length > 0) {
      resolveAt(obj[key], tail, baseDir);
    } else if (typeof obj[key] === 'string' && obj[key] !== '') {
      obj[key] = path.resolve(baseDir, obj[key]);
    }
  }
}
