// `anomalyd validate [-c FILE] [--json]`: load the configuration the way `run` does and list every problem.
import { parseArgs } from 'node:util';
import { configFileOf, defaultConfigPath, loadConfig } from '../app/configFiles';
import type { Config } from '../config/schema';
import { configWarnings } from '../config/warnings';
import { ConfigError } from '../core/errors';
import { argsErrorMessage } from './common';

export const DEFAULT_CONFIG_FILE = defaultConfigPath();

/**
 * A check run after the configuration itself is valid, e.g. that every model directory it names holds an
 * artifact matching its streams. Returns problems in the `path: message (got value)` form; empty when fine.
 */
export type ConfigCheck = (config: Config, file: string) => Promise<readonly string[]>;

export interface ValidateOptions {
  /** Further checks (the model artifact check is plugged in here by the CLI entry). */
  readonly checks?: readonly ConfigCheck[];
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
}

const USAGE = `Usage: anomalyd validate [-c FILE] [--json]

  -c, --config FILE   configuration to check (default: config/default.yaml of the package)
  --json              print one JSON object on stdout: {"file", "ok", "problems", "warnings"}

Warnings (settings that run but can lose data under load) are printed too; they do not change the exit code.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Exit code 0 when valid, 1 when the configuration has problems, 2 for a usage error. */
export async function validateCommand(args: string[], options: ValidateOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  let values: { config?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (err) {
    stderr.write(`anomalyd validate: ${argsErrorMessage(err, OPTIONS)}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    stdout.write(USAGE + '\n');
    return 0;
  }
  const file = configFileOf(values.config);

  let problems: readonly string[] = [];
  let warnings: readonly string[] = [];
  try {
    // As `run` loads it: without -c, the bundled default with its per-user state directory.
    const config = await loadConfig(values.config);
    warnings = configWarnings(config);
    for (const check of options.checks ?? []) problems = [...problems, ...(await check(config, file))];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }

  if (values.json) {
    stdout.write(`${JSON.stringify({ file, ok: problems.length === 0, problems, warnings })}\n`);
  } else if (problems.length === 0) {
    stdout.write(`OK: ${file}\n`);
  }
  for (const problem of problems) stderr.write(`${file}: ${problem}\n`);
  for (const warning of warnings) stderr.write(`${file}: warning: ${warning}\n`);
  return problems.length === 0 ? 0 : 1;
}
