// Errors a user can act on. The CLI prints their message alone (no stack) and exits 1; anything else is a bug
// and is printed with its stack.

/** Bad input data: the message names where (file:line, topic, ...) and what is wrong. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** A model artifact that is missing, corrupt or does not match the data or stream it is given. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

/** Configuration that failed validation; `problems` holds every `path: message (got value)` line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length} configuration error(s):\n  ${problems.join('\n  ')}`);
  }
}

export function isUserError(err: unknown): err is InputError | ModelError | ConfigError {
  return err instanceof InputError || err instanceof ModelError || err instanceof ConfigError;
}

/** The message of anything thrown: an Error's message, else the value as text (a rejected string or number). */
export function errorMessage(err: unknown): string {
  // eslint-disable-next-line no-restricted-syntax -- the one place this is spelled out
  return err instanceof Error ? err.message : String(err);
}

/** Anything thrown, as an Error: a thrown string or number is wrapped in one. */
export function asError(err: unknown): Error {
  // eslint-disable-next-line no-restricted-syntax -- the one place this is spelled out
  return err instanceof Error ? err : new Error(String(err));
}
