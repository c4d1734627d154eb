// The built CLI (dist/main.js) as a user runs it: a child process in a given directory, its exit code and
// everything it printed. Log lines below WARN are left out so tests read the commands' own output.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'main.js');

export interface CliRun {
  /** The exit code; -1 when the process ended by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** A reader gone before the command writes (`... | head -0`): every write to stdout fails with EPIPE. */
  readonly closeStdout?: boolean;
}

export function runCli(cwd: string, args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, ANOMALYD_LOG_LEVEL: 'warn', ...opts.env } });
    let stdout = '';
    let stderr = '';
    if (opts.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
