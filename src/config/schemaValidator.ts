// The compiled JSON Schema validator. Compiling the configuration schema with Ajv was the largest part of the
// daemon's start-up (30 to 45 % of it in CPU profiles, docs/benchmarks.md; and of every CLI command that reads a
// config), so the build compiles it once into standalone code
// (Ajv's own `standaloneCode`, scripts/genValidator.js) beside this module as schemaValidator.compiled.js. That
// file carries a digest of the schema it was compiled from; where it is missing (a `tsc` without the generator)
// or was compiled from another schema (a stale build), the schema is compiled here at run time instead, so the
// validator always matches the schema in force.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { toJsonSchema } from './schema';

/** Ajv's options for the configuration: shared by the generator and the run-time compile so both behave alike. */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, coerceTypes: true, strict: true, verbose: true } as const;

/** The generated module's name, next to this file in dist/config (and build/src/config for the tests). */
export const COMPILED_VALIDATOR_FILE = 'schemaValidator.compiled.js';

/** Digest of a JSON Schema: what the generated module was compiled from. */
export function schemaDigest(schema: unknown): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/** The generated module: Ajv's standalone validate function, with the digest of its schema beside it. */
export type CompiledModule = ValidateFunction & { readonly schemaDigest?: string };

/** How the validator in use was obtained (status for tests and `--verbose` diagnostics). */
export type ValidatorOrigin = 'precompiled' | 'compiled at run time';

let cached: { validate: ValidateFunction; origin: ValidatorOrigin } | undefined;

export function schemaValidator(): ValidateFunction {
  return load().validate;
}

export function schemaValidatorOrigin(): ValidatorOrigin {
  return load().origin;
}

function load(): { validate: ValidateFunction; origin: ValidatorOrigin } {
  cached ??= pickValidator(toJsonSchema(), precompiled());
  return cached;
}

/** The generated validator where it was compiled from `schema`, else `schema` compiled now. */
export function pickValidator(schema: object, pre: CompiledModule | undefined): { validate: ValidateFunction; origin: ValidatorOrigin } {
  return pre && pre.schemaDigest === schemaDigest(schema)
    ? { validate: pre, origin: 'precompiled' }
    : { validate: compileAtRunTime(schema), origin: 'compiled at run time' };
}

function precompiled(): CompiledModule | undefined {
  try {
    // A plain require of a generated file that may not exist (see the header).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(join(__dirname, COMPILED_VALIDATOR_FILE)) as CompiledModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

function compileAtRunTime(schema: object): ValidateFunction {
  // Loaded only here: a precompiled validator needs none of Ajv's compiler.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: Ajv } = require('ajv') as typeof import('ajv');
  return new Ajv(AJV_OPTIONS).compile(schema);
}
