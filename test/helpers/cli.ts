// The built CLI (dist/main.js) as a user runs it: a child process in a given directory, its exit code and
// everything it printed. runCli runs a command to its end, with log lines below WARN left out so tests read the
// commands' own output; CliProcess is one that runs until it exits or is stopped (the daemon: DaemonProcess in
// faults.ts builds on it).
import { spawn, type ChildProcess } from 'node:child_process';
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

/** How a CliProcess ended: its exit code, or the signal that ended it. */
export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The built CLI with `args` as a running child process; everything it prints is kept in `log`. */
export class CliProcess {
  log = '';
  readonly exited: Promise<CliExit>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [MAIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** SIGTERM (if still running) and the exit; SIGKILL if it has not exited 30 s later. */
  async stop(): Promise<CliExit> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}
