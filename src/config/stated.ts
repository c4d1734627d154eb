// Which `defaults.window` settings the configuration file wrote, as opposed to the schema's defaults that the
// loader filled in. A stream bound to a trained model takes its window from the model's manifest; only a value
// the user wrote can contradict the model (and is refused when it does), a schema default never does.
//
// Kept beside the config rather than in it: the schema has no key for it, and it is keyed on the loaded
// `defaults.window` object itself, which a reload's merge (planReload) carries over unchanged.
import type { WindowConfig } from './schema';

export type WindowKey = keyof WindowConfig;

const written = new WeakMap<object, ReadonlySet<WindowKey>>();

/** Called by the loader before the schema fills defaults in: `raw` is the file's `defaults.window`, if any. */
export function writtenWindowKeys(raw: unknown): ReadonlySet<WindowKey> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return new Set();
  return new Set(Object.keys(raw) as WindowKey[]);
}

/** Called by the loader once `window` (the filled-in `defaults.window`) is final. */
export function recordWrittenWindow(window: object, keys: ReadonlySet<WindowKey>): void {
  written.set(window, keys);
}

/**
 * The `defaults.window` settings the file wrote. A window not produced by the loader (built in code) counts as
 * all defaults: nothing in it was stated against a model.
 */
export function statedDefaultsWindow(window: WindowConfig): Partial<WindowConfig> {
  const keys = written.get(window);
  if (!keys) return {};
  const out: Partial<Record<WindowKey, unknown>> = {};
  for (const key of keys) if (window[key] !== undefined) out[key] = window[key];
  return out as Partial<WindowConfig>;
}
