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
