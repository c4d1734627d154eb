// Small builders so every property of the schema carries a description, and enums stay plain `enum` lists (Ajv
// then says "must be one of ..." instead of one error per union member).
import { Type, type TSchema, type TUnsafe, type TProperties, type TObject, type Static } from '@sinclair/typebox';

/** Friendly messages for `pattern` errors, keyed by the pattern text. */
export const patternMessages = new Map<string, string>();

export function oneOf<const V extends readonly (string | number)[]>(
  values: V,
  description: string,
  defaultValue?: V[number],
): TUnsafe<V[number]> {
  const type = typeof values[0] === 'number' ? 'integer' : 'string';
  return Type.Unsafe<V[number]>({
    type,
    enum: [...values],
    description,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

export function section<P extends TProperties>(properties: P, description: string, withDefault = true): TObject<P> {
  return Type.Object(properties, {
    additionalProperties: false,
    description,
    ...(withDefault ? { default: {} } : {}),
  });
}

/** A closed object that must be written out (no default): its absence means "feature off" or "required". */
export function entry<P extends TProperties>(properties: P, description: string): TObject<P> {
  return section(properties, description, false);
}

export function url(schemes: readonly string[], description: string, defaultValue?: string): ReturnType<typeof Type.String> {
  const pattern = `^(${schemes.join('|')})://[^\\s]+$`;
  patternMessages.set(pattern, `must be a URL starting with ${schemes.map((s) => `${s}://`).join(', ')}`);
  return Type.String({ pattern, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
}

export function named(pattern: string, message: string, description: string): ReturnType<typeof Type.String> {
  patternMessages.set(pattern, message);
  return Type.String({ pattern, description });
}

/** A map from names to `value`; names are limited so they are safe as metric labels and file names. */
export function nameMap<T extends TSchema>(value: T, description: string): TUnsafe<Record<string, Static<T>>> {
  const pattern = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
  patternMessages.set(pattern, 'must be a name of letters, digits, "_", "." or "-" (at most 64 characters)');
  return Type.Unsafe<Record<string, Static<T>>>({
    type: 'object',
    description,
    default: {},
    propertyNames: { pattern },
    additionalProperties: value,
  });
}

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * The same section with every property optional and no defaults: per-stream overrides must only carry what the
 * user wrote, otherwise the defaults of an override would silently replace the `defaults` section.
 */
export function overrideOf<T extends TSchema>(schema: T, description: string): TUnsafe<DeepPartial<Static<T>>> {
  const json = stripDefaults(JSON.parse(JSON.stringify(schema)) as unknown);
  const obj = json as Record<string, unknown>;
  obj['description'] = description;
  return Type.Unsafe<DeepPartial<Static<T>>>(obj);
}

/**
 * An override section (every property optional) whose defaults are `values` only: a profile laid over another
 * section. A user who writes some of its keys keeps the profile's values for the others; keys the profile does
 * not name stay unset and fall through to the section below.
 */
export function profileOf<T extends TSchema>(schema: T, values: DeepPartial<Static<T>>, description: string): TUnsafe<DeepPartial<Static<T>>> {
  const obj = stripDefaults(JSON.parse(JSON.stringify(schema)) as unknown) as Record<string, unknown>;
  obj['description'] = description;
  obj['default'] = {};
  setDefaults(obj, values);
  return Type.Unsafe<DeepPartial<Static<T>>>(obj);
}

function setDefaults(node: Record<string, unknown>, values: unknown): void {
  const properties = node['properties'] as Record<string, Record<string, unknown>> | undefined;
  if (!properties || values === null || typeof values !== 'object') return;
  for (const [key, value] of Object.entries(values)) {
    const property = properties[key];
    if (!property) throw new Error(`profile names ${key}, which the section does not have`);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      property['default'] = {};
      setDefaults(property, value);
    } else {
      property['default'] = value;
    }
  }
}

function stripDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripDefaults);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'default' || key === 'required') continue;
    out[key] = key === 'enum' || key === 'const' ? value : stripDefaults(value);
  }
  return out;
}
