// Tests use real services from Debian packages. When one is missing it is installed (as root, apt-get), the
// same thing .ci/run does up front; a machine where that is impossible gets a clear failure, not a skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

let updated = false;

export function ensurePackage(binary: string, pkg: string): void {
  if (existsSync(binary)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    updated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'inherit', env });
  if (!existsSync(binary)) throw new Error(`Installed ${pkg} but ${binary} is still missing`);
}
