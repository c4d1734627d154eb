// The CLI's side of the operator API (telemetry/operatorApi.ts): the daemon's URL (--url, default the daemon's
// default HTTP address) and the token (--token-file, else ANOMALYD_ADMIN_TOKEN), a JSON request, and the
// daemon's refusal turned into a user error (exit 1) that says what to do. The token is never printed.
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { errorMessage, InputError } from '../core/errors';
import { parseCommandArgs } from './common';

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:9464';
export const TOKEN_ENV = 'ANOMALYD_ADMIN_TOKEN';

export interface ApiTarget {
  readonly url: string;
  readonly token?: string;
}

/** The options of every command that talks to a daemon's operator API. */
const API_OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * Parses a command of the operator API (maintenance, feedback, models, retrain): its own options beside the
 * common ones, and the daemon and token they name. Null after printing the usage for --help.
 */
export function parseApiCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  own: O,
  usage: string,
): (ReturnType<typeof parseCommandArgs<typeof API_OPTIONS & O>> & { readonly target: ApiTarget }) | null {
  const parsed = parseCommandArgs(args, { ...API_OPTIONS, ...own }, usage);
  // Inside the generic the parsed values' type is not resolved; these three are API_OPTIONS's.
  const common = parsed.values as { readonly help?: boolean; readonly url?: string; readonly 'token-file'?: string };
  if (common.help) {
    process.stdout.write(usage + '\n');
    return null;
  }
  return { ...parsed, target: apiTarget(common.url, common['token-file']) };
}

/** The daemon and token from the common options; a token file that cannot be read is a user error. */
export function apiTarget(url: string | undefined, tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const base = (url ?? DEFAULT_DAEMON_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(base)) throw new InputError(`--url must be the daemon's http(s) address, e.g. ${DEFAULT_DAEMON_URL} (got '${base}')`);
  let token: string | undefined;
  if (tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new InputError(`cannot read the token file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (token === '') throw new InputError(`the token file ${tokenFile} is empty`);
  } else if (env[TOKEN_ENV]) {
    token = env[TOKEN_ENV];
  }
  return { url: base, ...(token !== undefined ? { token } : {}) };
}

/** Calls the API; returns the parsed JSON body (null for 204) or throws an InputError with the daemon's reason. */
export async function callApi(target: ApiTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${target.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(target.token !== undefined ? { authorization: `Bearer ${target.token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a blocked port) is in its cause.
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? errorMessage(err);
    throw new InputError(`cannot reach the daemon at ${target.url} (${cause}); is it running, and is --url its HTTP address?`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (response.ok) return parsed;
  const reason = typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string' ? (parsed as { error: string }).error : text.slice(0, 200);
  const hint =
    response.status === 401 ? `; give the admin token with --token-file or ${TOKEN_ENV}` : response.status === 403 && target.token === undefined ? `; set ${TOKEN_ENV} or --token-file` : '';
  throw new InputError(`the daemon refused (${response.status}): ${reason}${hint}`);
}
