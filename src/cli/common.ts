// Helpers every command shares: argument parsing with usage errors, JSON output, the package's own root and
// version, and a terminal progress line.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from '../core/didYouMean';
import { errorMessage } from '../core/errors';

/** Wrong arguments: main prints the message and the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(argsErrorMessage(err, options), usage);
  }
}

/**
 * parseArgs' error in the CLI's words: an unknown option gets the nearest known one ("did you mean --input?")
 * instead of Node's advice about positionals starting with '-'.
 */
export function argsErrorMessage(err: unknown, options: Options): string {
  const message = errorMessage(err);
  const code = (err as { code?: unknown }).code;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
    const given = unknown[1];
    // Compared without dashes, so `-input` or `--inptu` still finds `--input`; a one-letter `-x` is too short
    // to guess from.
    const hint = /^-[^-]$/.test(given) ? undefined : closest(given.replace(/^-+/, ''), Object.keys(options));
    return `Unknown option '${given}'${hint ? `; did you mean --${hint}?` : ''}`;
  }
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `Option ${missing[1]} needs a value`;
  return message;
}

const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * A command's options plus the shared `--json` and `-h/--help`. Returns undefined after printing the usage
 * for --help, so a command does `const values = parseCommand(...); if (!values) return 0;`.
 */
export function parseCommand<O extends Options>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<typeof parseCommandArgs<O & typeof COMMON_OPTIONS>>['values'] | undefined {
  const { values } = parseCommandArgs(args, { ...options, ...COMMON_OPTIONS }, usage);
  if ((values as { help?: boolean }).help) {
    process.stdout.write(usage + '\n');
    return undefined;
  }
  return values;
}

export function requireOption<T>(value: T | undefined, name: string, usage: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new UsageError(`Missing required option --${name}`, usage);
  }
  return value;
}

export function parseNumberOption(value: string | undefined, name: string, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got '${value}')`, usage);
  return n;
}

/** `--json` output: one object on stdout and nothing else there. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n');
}

/** The installed package's root (dist/cli/.. /..), where config/ and models/ live. */
export function packageRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

let version: string | undefined;
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** Warnings of a command: each on stderr as `Warning: ...` (with --json they are also in the object's `warnings`). */
export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
}

/** 0.0123 -> "1.23 %" (three significant digits). */
export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))} %`;
}

export function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A single self-updating status line on a terminal; periodic plain lines otherwise (logs, CI). */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastPlain = 0;

  update(text: string, force = false): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${text}`);
      return;
    }
    const now = Date.now();
    if (force || now - this.lastPlain >= 5000) {
      this.lastPlain = now;
      process.stderr.write(text + '\n');
    }
  }

  done(text?: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    if (text) process.stderr.write(text + '\n');
  }
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

let stdoutClosedHandler: (() => void) | undefined;

/**
 * The daemon must not vanish mid-write when its log reader goes away (`anomalyd run | head`): it registers a
 * handler that stops it as SIGTERM would, so queued data is saved first. Called once per closed stdout.
 */
export function onStdoutClosed(handler: () => void): void {
  let called = false;
  stdoutClosedHandler = () => {
    if (called) return;
    called = true;
    handler();
  };
}

/** Runs the registered handler; false when none is registered. */
export function runStdoutClosedHandler(): boolean {
  if (!stdoutClosedHandler) return false;
  stdoutClosedHandler();
  return true;
}
